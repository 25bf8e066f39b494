"""Server-rendered pages (Jinja2 + htmx): sign-in, declaration list and detail, language switch; usable on a phone.

Every text goes through the catalogue (web/i18n): templates use `_()`/`{% trans %}`, code `i18n.N_`.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from smartcustoms.auth import service as auth_service
from smartcustoms.auth import sessions
from smartcustoms.auth.roles import REVENUE_READERS, TASK_WORKERS
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import repository
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Status
from smartcustoms.errors import Forbidden, SmartCustomsError, TooManyRequests, Unauthorized
from smartcustoms.kit.clock import utcnow
from smartcustoms.release import service as releases
from smartcustoms.review import service as review
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.risk.selectivity import views as selectivity_views
from smartcustoms.task import service as tasks
from smartcustoms.web import i18n
from smartcustoms.web.deps import DB_INT_MAX, SESSION_COOKIE, authenticate, runtime
from smartcustoms.web.i18n import N_, labels

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "sc_login"  # a random nonce the sign-in form's CSRF token is bound to (no session yet)
LOGIN_COOKIE_SECONDS = 3600
LANG_COOKIE_SECONDS = 365 * 24 * 3600
PAGE_SIZE = 50
LANES = ("green", "blue", "yellow", "red")
# Titles and details of the errors the pages show, by code (the services' own sentences are English).
ERROR_TEXT = {
    "not_found": (N_("Not found"), N_("No such declaration, or it is not yours to see.")),
    "csrf_failed": (N_("Forbidden"), N_("The form has expired or did not come from this site; reload the page and try again.")),
    "forbidden": (N_("Forbidden"), N_("Your role may not do this.")),
    "not_a_trader": (N_("Forbidden"), N_("Only an enterprise's users lodge declarations and upload documents.")),
    "conflict": (N_("Conflict"), N_("This is not possible in the declaration's current state; nothing was changed.")),
    "integrity_error": (N_("Internal error"), N_("The stored content failed its integrity check and is not shown.")),
    "payload_too_large": (N_("File too large"), N_("The file is larger than the limit; nothing was added.")),
    "unsupported_media_type": (N_("File type not accepted"), N_("Upload a PDF, an image, or an XML, JSON, CSV or text file.")),
    "validation_failed": (N_("Not accepted"), N_("The request has problems; nothing was changed.")),
}
SIGN_IN_ERRORS = {
    "unauthorized": N_("Wrong name or password."),
    "demo_password_refused": N_("Demo passwords are refused in production; ask an administrator to set a new password."),
}
TOO_MANY = N_("Too many failed sign-ins; try again in %(seconds)s seconds.")


def language(request: Request) -> str:
    """The language of this request: the remembered choice, else the browser's preference."""
    return i18n.choose(cookie=request.cookies.get(i18n.LANG_COOKIE), accept_language=request.headers.get("accept-language", ""))


def _context(request: Request) -> dict[str, Any]:
    return {"lang": language(request), "languages": i18n.NAMES}


@jinja2.pass_context
def _gettext(ctx: jinja2.runtime.Context, message: str) -> str:
    return i18n.gettext(ctx.get("lang") or i18n.DEFAULT, message)


@jinja2.pass_context
def _ngettext(ctx: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(ctx.get("lang") or i18n.DEFAULT, singular, plural, n)


@jinja2.pass_context
def _pgettext(ctx: jinja2.runtime.Context, context: str, message: str) -> str:
    return i18n.pgettext(ctx.get("lang") or i18n.DEFAULT, context, message)


@jinja2.pass_context
def _label(ctx: jinja2.runtime.Context, table: str, value: str | None) -> str:
    """A data value (status, lane, document type ...) in the page's language; unknown values as they are."""
    words: dict[str, str] = getattr(labels, table.upper())
    text = words.get(value or "")
    return i18n.gettext(ctx.get("lang") or i18n.DEFAULT, text) if text else (value or "").replace("_", " ")


@jinja2.pass_context
def _reason(ctx: jinja2.runtime.Context, event: str, reason: str) -> str:
    return labels.event_reason(ctx.get("lang") or i18n.DEFAULT, event, reason)


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True, extensions=["jinja2.ext.i18n"]
)
_env.install_gettext_callables(_gettext, _ngettext, newstyle=True, pgettext=_pgettext)  # type: ignore[attr-defined]
_env.globals["label"] = _label
_env.filters["t"] = _gettext
_env.globals["reason"] = _reason
templates = Jinja2Templates(env=_env, context_processors=[_context])


def _who(request: Request) -> Principal | None:
    try:
        return authenticate(request)
    except Unauthorized:
        return None


def _csrf_for(request: Request, purpose: str = "session") -> str:
    """The CSRF token for a form of this page: bound to the session cookie, or for the sign-in form to its nonce."""
    secret = runtime(request).settings.secret_key
    if purpose == "login":
        nonce = getattr(request.state, "login_nonce", None) or request.cookies.get(LOGIN_COOKIE, "")
        return sessions.csrf_token(secret=secret, binding="login:" + nonce)
    return sessions.csrf_token(secret=secret, binding="session:" + request.cookies.get(SESSION_COOKIE, ""))


templates.env.globals["csrf_token"] = _csrf_for
templates.env.globals["revenue_readers"] = REVENUE_READERS


def problem(request: Request, who: Principal | None, error: SmartCustomsError) -> Response:
    """An error as a page: the service's own words in English, the code's translation in another language (when it has one)."""
    lang = language(request)
    title, detail = ERROR_TEXT.get(error.code, (error.title, error.detail)) if lang != i18n.DEFAULT else (error.title, error.detail)
    shown = {"title": i18n.gettext(lang, title), "detail": i18n.gettext(lang, detail), "status": error.status}
    return templates.TemplateResponse(request, "problem.html", {"who": who, "error": shown}, status_code=error.status)


def csrf_refused(request: Request, who: Principal | None) -> Response:
    """The page answering a form whose CSRF token is missing or wrong."""
    error = Forbidden("The form has expired or did not come from this site; reload the page and try again.", code="csrf_failed")
    return problem(request, who, error)


@router.get("/language")
def choose_language(request: Request, to: str, back: Annotated[str, Query(alias="next", max_length=2000)] = "/") -> Response:
    """Remember the chosen language (a cookie) and go back to the page the switch was on (on this site only)."""
    back = back if back.startswith("/") and not back.startswith(("//", "/\\")) else "/"
    response = RedirectResponse(back, status_code=303)
    if to in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANG_COOKIE,
            to,
            httponly=True,
            samesite="lax",
            secure=runtime(request).settings.mode == "production",
            max_age=LANG_COOKIE_SECONDS,
        )
    return response


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The sign-in form (and its nonce cookie, to which the form's CSRF token is bound)."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce:
        request.state.login_nonce = nonce = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(request, "login.html", {"who": None})
    _set_cookie(request, response, LOGIN_COOKIE, nonce, max_age=LOGIN_COOKIE_SECONDS)
    return response


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()], csrf: Annotated[str, Form()] = "") -> Response:
    """Check the CSRF token, the throttle and the password; then open a session and set its cookie."""
    rt = runtime(request)
    settings = rt.settings
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or not sessions.csrf_ok(secret=settings.secret_key, binding="login:" + nonce, token=csrf):
        return csrf_refused(request, None)
    address, now = _address(request), utcnow()
    throttle = sessions.Throttle(settings.sign_in_window_seconds, settings.sign_in_failures_per_name, settings.sign_in_failures_per_address)
    try:
        with rt.read() as s:  # the password is checked outside the write lock: argon2 takes a while
            sessions.check_throttle(s, name=name, address=address, throttle=throttle, now=now)
            who = auth_service.authenticate_password(s, name=name, password=password, production=settings.mode == "production")
    except TooManyRequests as exc:
        ctx = {"who": None, "error": i18n.gettext(language(request), TOO_MANY) % {"seconds": exc.retry_after}, "name": name}
        return templates.TemplateResponse(request, "login.html", ctx, status_code=429, headers={"Retry-After": str(exc.retry_after)})
    except Unauthorized as exc:
        with rt.write() as s:
            sessions.record_failed_sign_in(s, name=name, address=address, why=exc.code, now=now)
        shown = i18n.gettext(language(request), SIGN_IN_ERRORS.get(exc.code, SIGN_IN_ERRORS["unauthorized"]))
        return templates.TemplateResponse(request, "login.html", {"who": None, "error": shown, "name": name}, status_code=401)
    with rt.write() as s:
        cookie = sessions.open_session(s, principal=who, address=address, now=now, hours=settings.session_hours)
    response = RedirectResponse("/", status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, cookie, max_age=settings.session_hours * 3600)
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    """End the session (on the server: the cookie is worthless from now on) and forget its cookie."""
    rt = runtime(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        if not sessions.csrf_ok(secret=rt.settings.secret_key, binding="session:" + cookie, token=csrf):
            return csrf_refused(request, _who(request))
        with rt.write() as s:
            sessions.end_session(s, cookie=cookie, now=utcnow())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=runtime(request).settings.mode == "production", max_age=max_age
    )


def _rows(request: Request, who: Principal, status: str | None, lane: str | None, page: int) -> dict[str, object]:
    rt = runtime(request)
    enterprise_id, office = declaration_service.scope(who)
    st = Status(status) if status is not None and status in Status.__members__ else None
    ln = lane if lane in LANES else None
    with rt.read() as s:
        rows, total = selectivity_views.declarations_page(
            s,
            enterprise_id=enterprise_id,
            office=office,
            status=st,
            lane=ln,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            only=tasks.declarations_of(who),
        )
    pages = max(1, -(-total // PAGE_SIZE))
    return {"rows": rows, "total": total, "status": st.value if st else None, "lane": ln, "page": page, "pages": pages}


Page = Annotated[int, Query(ge=1, le=DB_INT_MAX // PAGE_SIZE)]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, status: str | None = None, lane: str | None = None, page: Page = 1) -> Response:
    """The declarations the signed-in user may see, a page at a time, filtered by status and lane."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    try:
        ctx = _rows(request, who, status or None, lane or None, page)
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    return templates.TemplateResponse(
        request, "declarations.html", {"who": who, "statuses": [s.value for s in Status], "lanes": LANES, **ctx}
    )


@router.get("/declarations/rows", response_class=HTMLResponse)
def rows(request: Request, status: str | None = None, lane: str | None = None, page: Page = 1) -> Response:
    """The table rows and the page links, for htmx filtering and paging."""
    who = _who(request)
    if who is None:
        return Response(status_code=401)
    return templates.TemplateResponse(request, "declaration_rows.html", _rows(request, who, status or None, lane or None, page))


@router.get("/declarations/{number}", response_class=HTMLResponse)
def detail(request: Request, number: str, uploaded: Annotated[int | None, Query(ge=1, le=DB_INT_MAX)] = None) -> Response:
    """One declaration: its status in plain words, facts, the checks and why, items, history, documents, queries and release."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    return detail_page(request, who, number, uploaded=uploaded)


def detail_page(
    request: Request, who: Principal, number: str, *, uploaded: int | None = None, extra: dict[str, Any] | None = None, status: int = 200
) -> Response:
    """The declaration page (`extra`: more of the page's context, e.g. a refused answer's problems at its query)."""
    rt = runtime(request)
    try:
        with rt.read() as s:
            d = declaration_service.get_visible(s, number=number, principal=who)
            events = repository.events(s, declaration_id=d.id)
            docs = repository.documents(s, declaration_id=d.id)
            latest = selectivity.latest(s, declaration_id=d.id)
            a = selectivity.view(latest, principal=who, decl=d) if latest is not None else None
            queries = review.queries_of(s, declaration_id=d.id)
            released = releases.of_declaration(s, declaration_id=d.id)
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    if who.role in TASK_WORKERS:  # an officer's reading is journaled
        with rt.write() as s:
            tasks.journal_read(s, principal=who, declaration=d, now=utcnow())
    bars = _bars(a.get("contributions") or []) if a else []
    ctx = {"who": who, "d": d, "p": d.payload, "events": events, "docs": docs, "a": a, "bars": bars, "queries": queries}
    ctx["uploaded"] = next((doc.filename for doc in docs if doc.id == uploaded), None)
    ctx["release"] = released.number if released is not None else None
    ctx |= {"doc_types": list(labels.DOCUMENT_TYPES), **(extra or {})}
    return templates.TemplateResponse(request, "declaration.html", ctx, status_code=status)


def _bars(contributions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Feature contributions as bar widths (percent of the largest), for the assessment chart."""
    top = max((abs(float(c.get("contribution") or 0.0)) for c in contributions), default=0.0)
    return [
        {
            "label": c.get("description") or c.get("feature"),
            "value": float(c.get("contribution") or 0.0),
            "width": round(100 * abs(float(c.get("contribution") or 0.0)) / top, 1) if top else 0.0,
        }
        for c in contributions
    ]
