"""The roster admin page (admins; supervisors for their own office) and the trader's answer to a customs query.

The roster page changes an officer through the service `smartcustoms officer set` and the API use
(a freed officer draws the office's queued tasks at once, as through the API). The answer form
uploads its file and answers in one transaction: a refused answer keeps no file.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from smartcustoms.auth.service import Principal
from smartcustoms.declaration import documents as doc_service
from smartcustoms.errors import SmartCustomsError, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.review import service as review
from smartcustoms.roster import domain as roster_domain
from smartcustoms.roster import service as roster
from smartcustoms.roster.models import Duty
from smartcustoms.task import service as tasks
from smartcustoms.web.deps import DB_BIGINT_MAX, runtime
from smartcustoms.web.desk_pages import signed_form_action
from smartcustoms.web.pages import _who, detail_page, language, problem, templates
from smartcustoms.web.portal import _signed_form, problem_text

router = APIRouter(include_in_schema=False)
Office = Annotated[str | None, Query(max_length=8)]


def _roster_page(
    request: Request, who: Principal, office: str | None, *, extra: dict[str, Any] | None = None, status: int = 200
) -> Response:
    try:
        within = roster.scope(who)
        with runtime(request).read() as s:
            officers = roster.list_officers(s, office=office or None, within=within)
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    ctx = {
        "who": who,
        "officers": officers,
        "office": office or within or "",
        "national": within is None,
        "duties": [d.value for d in Duty],
    }
    return templates.TemplateResponse(request, "roster.html", {**ctx, **(extra or {})}, status_code=status)


@router.get("/roster", response_class=HTMLResponse)
def roster_page(request: Request, office: Office = None, saved: Annotated[str | None, Query(max_length=80)] = None) -> Response:
    """The officers of an office with their chapters, cap, duty and open tasks, each with a form to change them."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    return _roster_page(request, who, office, extra={"saved": saved})


def _set(request: Request, who: Principal, name: str, values: dict[str, str]) -> Response:
    office = values.get("office") or None
    capacity_text = values.get("capacity", "").strip()
    try:
        within = roster.scope(who)
        if capacity_text and not (capacity_text.isdigit() and len(capacity_text) <= 9):
            raise ValidationFailed(f"The roster entry of {name} cannot be set.", roster_domain.capacity_problems(capacity_text))
        capacity = int(capacity_text) if capacity_text else None
        with runtime(request).write() as s:
            tasks.set_officer(
                s,
                name=name,
                chapters=values.get("chapters", "").strip() or None,
                capacity=capacity,
                duty=values.get("duty") or None,
                within=within,
                actor=who.actor(),
                now=utcnow(),
            )
    except ValidationFailed as exc:
        lang = language(request)
        errors = {name: [problem_text(lang, p) for p in exc.problems]}
        return _roster_page(request, who, office, extra={"errors": errors, "values": {name: values}}, status=422)
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    where = f"&office={office}" if office else ""
    return RedirectResponse(f"/roster?saved={name}{where}", status_code=303)


@router.post("/roster/{name}", response_class=HTMLResponse)
async def set_officer(request: Request, name: Annotated[str, Path(max_length=80)]) -> Response:
    """Change an officer's chapters, capacity or duty (blank: unchanged); journaled like `smartcustoms officer set`."""
    return await signed_form_action(request, _set, name)


def _answer(request: Request, who: Principal, number: str, query_id: int, data: Any) -> Response:
    rt = runtime(request)
    text = str(data.get("answer") or "")
    upload = data.get("file")
    upload = upload if isinstance(upload, StarletteUpload) and upload.filename else None
    try:
        with rt.write() as s:
            documents = []
            if upload is not None:
                limit = rt.settings.max_document_bytes
                doc = doc_service.add_document(
                    s,
                    number=number,
                    doc_type=str(data.get("type") or ""),
                    filename=upload.filename or "document",
                    content_type=upload.content_type or "application/octet-stream",
                    data=upload.file.read(limit + 1),
                    store=rt.store,
                    max_bytes=limit,
                    principal=who,
                    now=utcnow(),
                )
                s.flush()
                documents.append(doc.id)
            review.answer(s, number=number, query_id=query_id, text=text, documents=documents, principal=who, now=utcnow())
    except ValidationFailed as exc:
        lang = language(request)
        extra = {"answer_errors": {query_id: [problem_text(lang, p) for p in exc.problems]}, "answer_values": {query_id: text}}
        return detail_page(request, who, number, extra=extra, status=422)
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    return RedirectResponse(f"/declarations/{number}#query-{query_id}", status_code=303)


@router.post("/declarations/{number}/queries/{query_id}/answer", response_class=HTMLResponse)
async def answer(request: Request, number: str, query_id: Annotated[int, Path(ge=1, le=DB_BIGINT_MAX)]) -> Response:
    """The declarant answers a customs query: text, and a file uploaded with it (optional)."""
    who, data, refused = await _signed_form(request)
    if refused is not None or who is None:
        return refused or RedirectResponse("/login", status_code=303)
    return await run_in_threadpool(_answer, request, who, number, query_id, data)
