"""The trader portal's forms: lodge a declaration by form or by uploading its JSON, and upload documents.

Lodging goes through the API's own route function (`web.api.declarations.lodge`): the same service,
the same journal of refusals, the same answer. Its problems come back at the form's fields (the
fields are named by JSON pointer, web/forms.py), in the page's language.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from smartcustoms.auth import sessions
from smartcustoms.auth.service import Principal
from smartcustoms.errors import Forbidden, Problem, SmartCustomsError, ValidationFailed
from smartcustoms.web import body, forms, i18n
from smartcustoms.web.api import declarations as declarations_api
from smartcustoms.web.deps import SESSION_COOKIE, runtime
from smartcustoms.web.i18n import N_, labels
from smartcustoms.web.pages import _who, csrf_refused, language, problem, templates

router = APIRouter(include_in_schema=False)
ITEM_ROWS = 3
DOCUMENT_ROWS = 3
NOT_A_TRADER = "Only an enterprise's users lodge declarations and upload documents."
AT_FIELD = N_("%(where)s: %(message)s")


def _csrf_ok(request: Request, token: str) -> bool:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return bool(cookie) and sessions.csrf_ok(secret=runtime(request).settings.secret_key, binding="session:" + cookie, token=token)


def _trader(request: Request) -> tuple[Principal | None, Response | None]:
    """The signed-in enterprise user, or the page to answer instead (sign in; not a trader)."""
    who = _who(request)
    if who is None:
        return None, RedirectResponse("/login", status_code=303)
    if who.enterprise_uscc is None:
        return who, problem(request, who, Forbidden(NOT_A_TRADER, code="not_a_trader"))
    return who, None


def problem_text(lang: str, p: Problem) -> str:
    """A problem in the page's language: the service's own sentence in English, the code's sentence otherwise."""
    if lang == i18n.DEFAULT or p.code not in labels.PROBLEMS:
        return p.message
    return i18n.gettext(lang, labels.PROBLEMS[p.code])


def _form_page(
    request: Request, who: Principal, values: dict[str, str], exc: ValidationFailed | None = None, *, placed: bool = True
) -> Response:
    """The lodging page; with the problems of a refused lodging at their fields (`placed`) or listed above the forms."""
    lang = language(request)
    names = [f"/items/{i}/{k}" for i in range(ITEM_ROWS) for k in ("hs_code", "description", "origin", "quantity", "unit")]
    names += [f"/items/{i}/{k}" for i in range(ITEM_ROWS) for k in ("net_mass_kg", "gross_mass_kg", "value")]
    names += [f"/documents/{i}/{k}" for i in range(DOCUMENT_ROWS) for k in ("type", "reference", "issued_on")]
    names += [k for k in values if k.startswith("/")]
    by_field, rest = forms.at_fields(exc.problems if exc else [], names if placed else [])
    ctx: dict[str, Any] = {
        "who": who,
        "values": values,
        "errors": {k: [problem_text(lang, p) for p in v] for k, v in by_field.items()},
        "unplaced": [
            i18n.gettext(lang, AT_FIELD) % {"where": p.pointer, "message": problem_text(lang, p)} if p.pointer else problem_text(lang, p)
            for p in rest
        ],
        "problems": len(exc.problems) if exc else 0,
        "procedures": list(labels.PROCEDURES),
        "modes": list(labels.MODES),
        "doc_types": list(labels.DOCUMENT_TYPES),
        "item_rows": ITEM_ROWS,
        "document_rows": DOCUMENT_ROWS,
    }
    return templates.TemplateResponse(request, "lodge.html", ctx, status_code=422 if exc else 200)


def _lodge(request: Request, who: Principal, raw: Any, values: dict[str, str], *, placed: bool = True) -> Response:
    try:
        receipt = declarations_api.lodge(runtime(request), who, Response(), raw)
    except ValidationFailed as exc:
        return _form_page(request, who, values, exc, placed=placed)
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    return RedirectResponse(f"/declarations/{receipt['number']}", status_code=303)


@router.get("/declarations/new", response_class=HTMLResponse)
def lodge_form(request: Request) -> Response:
    """The lodging page: upload a JSON file, or fill in an import declaration."""
    who, refused = _trader(request)
    if refused is not None or who is None:
        return refused or RedirectResponse("/login", status_code=303)
    return _form_page(request, who, {"/declarant/uscc": who.enterprise_uscc or "", "/procedure": "general", "/transport/mode": "sea"})


@router.post("/declarations/new", response_class=HTMLResponse)
async def lodge_by_form(request: Request) -> Response:
    """Lodge the declaration the form describes (through the API's lodging)."""
    who, data, refused = await _signed_form(request)
    if refused is not None or who is None:
        return refused or RedirectResponse("/login", status_code=303)
    fields = [(k, v) for k, v in data.multi_items() if isinstance(v, str)]
    values = {k: v for k, v in fields if k.startswith("/")}
    raw = forms.payload(fields)
    return await run_in_threadpool(_lodge, request, who, raw, values)


async def _signed_form(request: Request) -> tuple[Principal | None, Any, Response | None]:
    """The signed-in trader and the form they sent with a valid CSRF token, or the page to answer instead.

    Who is asking is settled before the body is read: a stranger meets the sign-in page, not a 422.
    """
    who, refused = await run_in_threadpool(_trader, request)
    if refused is not None or who is None:
        return who, None, refused or RedirectResponse("/login", status_code=303)
    data = await request.form()
    if not _csrf_ok(request, str(data.get("csrf") or "")):
        return who, data, csrf_refused(request, who)
    return who, data, None


def _file(data: Any) -> StarletteUpload | None:
    found = data.get("file")
    return found if isinstance(found, StarletteUpload) else None


def _lodge_upload(request: Request, who: Principal, upload: StarletteUpload | None) -> Response:
    limit = runtime(request).settings.max_json_bytes
    try:
        if upload is None:
            raise ValidationFailed("No file.", [Problem("DEC-SCH-001", "/file", "Choose a JSON file to upload.")])
        data = upload.file.read(limit + 1)
        if len(data) > limit:
            raise ValidationFailed("Too large.", [Problem("REQ-010", "", f"The file is larger than {limit} bytes.")])
        raw = body.parse(data)
    except ValidationFailed as exc:
        return _form_page(request, who, {}, exc, placed=False)
    return _lodge(request, who, raw, {}, placed=False)


@router.post("/declarations/new/json", response_class=HTMLResponse)
async def lodge_by_upload(request: Request) -> Response:
    """Lodge the declaration of an uploaded JSON file (read as strictly as the API reads a body)."""
    who, data, refused = await _signed_form(request)
    if refused is not None or who is None:
        return refused or RedirectResponse("/login", status_code=303)
    return await run_in_threadpool(_lodge_upload, request, who, _file(data))


def _add_document(request: Request, who: Principal, number: str, upload: StarletteUpload | None, doc_type: str) -> Response:
    if upload is None:
        return problem(request, who, ValidationFailed("Choose a file to upload.", [Problem("DEC-SCH-001", "/file", "Choose a file.")]))
    try:
        doc = declarations_api.upload(runtime(request), who, number, upload, doc_type)  # type: ignore[arg-type]
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    return RedirectResponse(f"/declarations/{number}?uploaded={doc.id}", status_code=303)


@router.post("/declarations/{number}/documents", response_class=HTMLResponse)
async def upload_document(request: Request, number: str) -> Response:
    """Attach a file to the declaration (through the API's upload), then show the declaration again."""
    who, data, refused = await _signed_form(request)
    if refused is not None or who is None:
        return refused or RedirectResponse("/login", status_code=303)
    return await run_in_threadpool(_add_document, request, who, number, _file(data), str(data.get("type") or ""))
