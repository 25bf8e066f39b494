"""The trader portal's forms: lodge a declaration by form or by uploading its JSON, and upload documents.

Lodging goes through the API's own route function (`web.api.declarations.lodge`): the same service,
the same journal of refusals, the same answer. Its problems come back at the form's fields (the
fields are named by JSON pointer, web/forms.py), in the page's language.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

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
MODES = ("sea", "air", "rail", "road", "post", "multimodal")
NOT_A_TRADER = N_("Only an enterprise's users lodge declarations and upload documents.")
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
        return who, problem(request, who, Forbidden(NOT_A_TRADER))
    return who, None


def problem_text(lang: str, p: Problem) -> str:
    """A problem in the page's language: the service's own sentence in English, the code's sentence otherwise."""
    if lang == i18n.DEFAULT or p.code not in labels.PROBLEMS:
        return p.message
    return i18n.gettext(lang, labels.PROBLEMS[p.code])


def _form_page(request: Request, who: Principal, values: dict[str, str], exc: ValidationFailed | None = None) -> Response:
    lang = language(request)
    names = [f"/items/{i}/{k}" for i in range(ITEM_ROWS) for k in ("hs_code", "description", "origin", "quantity", "unit")]
    names += [f"/items/{i}/{k}" for i in range(ITEM_ROWS) for k in ("net_mass_kg", "gross_mass_kg", "value")]
    names += [f"/documents/{i}/{k}" for i in range(DOCUMENT_ROWS) for k in ("type", "reference", "issued_on")]
    names += [k for k in values if k.startswith("/")]
    by_field, rest = forms.at_fields(exc.problems if exc else [], names)
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
        "modes": MODES,
        "doc_types": list(labels.DOCUMENT_TYPES),
        "item_rows": ITEM_ROWS,
        "document_rows": DOCUMENT_ROWS,
    }
    return templates.TemplateResponse(request, "lodge.html", ctx, status_code=422 if exc else 200)


def _lodge(request: Request, who: Principal, raw: Any, values: dict[str, str]) -> Response:
    try:
        receipt = declarations_api.lodge(runtime(request), who, Response(), raw)
    except ValidationFailed as exc:
        return _form_page(request, who, values, exc)
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
    who, refused = _trader(request)
    if refused is not None or who is None:
        return refused or RedirectResponse("/login", status_code=303)
    data = await request.form()
    fields = [(k, v) for k, v in data.multi_items() if isinstance(v, str)]
    if not _csrf_ok(request, str(data.get("csrf") or "")):
        return csrf_refused(request, who)
    values = {k: v for k, v in fields if k.startswith("/")}
    raw = forms.payload(fields)
    return await run_in_threadpool(_lodge, request, who, raw, values)


@router.post("/declarations/new/json", response_class=HTMLResponse)
def lodge_by_upload(request: Request, file: Annotated[UploadFile, File()], csrf: Annotated[str, Form()] = "") -> Response:
    """Lodge the declaration of an uploaded JSON file (read as strictly as the API reads a body)."""
    who, refused = _trader(request)
    if refused is not None or who is None:
        return refused or RedirectResponse("/login", status_code=303)
    if not _csrf_ok(request, csrf):
        return csrf_refused(request, who)
    limit = runtime(request).settings.max_json_bytes
    data = file.file.read(limit + 1)
    try:
        if len(data) > limit:
            raise ValidationFailed("Too large.", [Problem("REQ-010", "", f"The file is larger than {limit} bytes.")])
        raw = body.parse(data)
    except ValidationFailed as exc:
        return _form_page(request, who, {}, exc)
    return _lodge(request, who, raw, {})


@router.post("/declarations/{number}/documents", response_class=HTMLResponse)
def upload_document(
    request: Request, number: str, file: Annotated[UploadFile, File()], type: Annotated[str, Form()], csrf: Annotated[str, Form()] = ""
) -> Response:
    """Attach a file to the declaration (through the API's upload), then show the declaration again."""
    who, refused = _trader(request)
    if refused is not None or who is None:
        return refused or RedirectResponse("/login", status_code=303)
    if not _csrf_ok(request, csrf):
        return csrf_refused(request, who)
    try:
        doc = declarations_api.upload(runtime(request), who, number, file, type)
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    return RedirectResponse(f"/declarations/{number}?uploaded={doc.id}", status_code=303)
