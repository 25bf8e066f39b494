"""Server-rendered pages (Jinja2 + htmx): sign-in, declaration list and detail; usable on a phone."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from smartcustoms.auth import service as auth_service
from smartcustoms.auth import sessions
from smartcustoms.auth.roles import TASK_WORKERS
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import repository
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Status
from smartcustoms.errors import Forbidden, SmartCustomsError, TooManyRequests, Unauthorized
from smartcustoms.kit.clock import utcnow
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.task import service as tasks
from smartcustoms.web.deps import SESSION_COOKIE, authenticate, runtime

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "sc_login"  # a random nonce the sign-in form's CSRF token is bound to (no session yet)
LOGIN_COOKIE_SECONDS = 3600
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


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


def _csrf_refused(request: Request, who: Principal | None) -> Response:
    error = Forbidden("The form has expired or did not come from this site; reload the page and try again.", code="csrf_failed")
    return templates.TemplateResponse(request, "problem.html", {"who": who, "error": error}, status_code=403)


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
        return _csrf_refused(request, None)
    address, now = _address(request), utcnow()
    throttle = sessions.Throttle(settings.sign_in_window_seconds, settings.sign_in_failures_per_name, settings.sign_in_failures_per_address)
    try:
        with rt.read() as s:  # the password is checked outside the write lock: argon2 takes a while
            sessions.check_throttle(s, name=name, address=address, throttle=throttle, now=now)
            who = auth_service.authenticate_password(s, name=name, password=password, production=settings.mode == "production")
    except TooManyRequests as exc:
        ctx = {"who": None, "error": exc.detail, "name": name}
        return templates.TemplateResponse(request, "login.html", ctx, status_code=429, headers={"Retry-After": str(exc.retry_after)})
    except Unauthorized as exc:
        with rt.write() as s:
            sessions.record_failed_sign_in(s, name=name, address=address, why=exc.code, now=now)
        return templates.TemplateResponse(request, "login.html", {"who": None, "error": exc.detail, "name": name}, status_code=401)
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
            return _csrf_refused(request, _who(request))
        with rt.write() as s:
            sessions.end_session(s, cookie=cookie, now=utcnow())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=runtime(request).settings.mode == "production", max_age=max_age
    )


def _rows(request: Request, who: Principal, status: str | None) -> dict[str, object]:
    rt = runtime(request)
    enterprise_id, office = declaration_service.scope(who)
    st = Status(status) if status is not None and status in Status.__members__ else None
    with rt.read() as s:
        rows, total = repository.page(
            s,
            enterprise_id=enterprise_id,
            office=office,
            status=st,
            kind=None,
            lodged_from=None,
            lodged_to=None,
            limit=100,
            offset=0,
            only=tasks.declarations_of(who),
        )
    return {"rows": rows, "total": total, "status": st.value if st is not None else None}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, status: str | None = None) -> Response:
    """The declarations the signed-in user may see."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    try:
        ctx = _rows(request, who, status)
    except SmartCustomsError as exc:
        return templates.TemplateResponse(request, "problem.html", {"who": who, "error": exc}, status_code=exc.status)
    return templates.TemplateResponse(request, "declarations.html", {"who": who, "statuses": [s.value for s in Status], **ctx})


@router.get("/declarations/rows", response_class=HTMLResponse)
def rows(request: Request, status: str | None = None) -> Response:
    """The table rows, for htmx filtering."""
    who = _who(request)
    if who is None:
        return Response(status_code=401)
    return templates.TemplateResponse(request, "declaration_rows.html", _rows(request, who, status or None))


@router.get("/declarations/{number}", response_class=HTMLResponse)
def detail(request: Request, number: str) -> Response:
    """One declaration: facts, items, history and documents."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    rt = runtime(request)
    try:
        with rt.read() as s:
            d = declaration_service.get_visible(s, number=number, principal=who)
            events = repository.events(s, declaration_id=d.id)
            docs = repository.documents(s, declaration_id=d.id)
            latest = selectivity.latest(s, declaration_id=d.id)
            a = selectivity.view(latest, principal=who, decl=d) if latest is not None else None
    except SmartCustomsError as exc:
        return templates.TemplateResponse(request, "problem.html", {"who": who, "error": exc}, status_code=exc.status)
    if who.role in TASK_WORKERS:  # an officer's reading is journaled
        with rt.write() as s:
            tasks.journal_read(s, principal=who, declaration=d, now=utcnow())
    bars = _bars(a.get("contributions") or []) if a else []
    return templates.TemplateResponse(
        request, "declaration.html", {"who": who, "d": d, "p": d.payload, "events": events, "docs": docs, "a": a, "bars": bars}
    )


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
