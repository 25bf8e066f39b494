"""Server-rendered pages (Jinja2 + htmx): sign-in, declaration list and detail; usable on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from smartcustoms.auth import service as auth_service
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import repository
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Status
from smartcustoms.errors import SmartCustomsError, Unauthorized
from smartcustoms.kit.clock import utcnow
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.web.deps import SESSION_COOKIE, authenticate, runtime

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _who(request: Request) -> Principal | None:
    try:
        return authenticate(request)
    except Unauthorized:
        return None


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The sign-in form."""
    return templates.TemplateResponse(request, "login.html", {"who": None})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()]) -> Response:
    """Check the password and set the session cookie."""
    rt = runtime(request)
    try:
        with rt.read() as s:
            who = auth_service.authenticate_password(s, name=name, password=password)
    except Unauthorized as exc:
        return templates.TemplateResponse(request, "login.html", {"who": None, "error": exc.detail, "name": name}, status_code=401)
    cookie = auth_service.session_cookie(who, secret=rt.settings.secret_key, now=utcnow(), hours=rt.settings.session_hours)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=rt.settings.mode == "production",
        max_age=rt.settings.session_hours * 3600,
    )
    return response


@router.post("/logout")
def logout() -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _rows(request: Request, who: Principal, status: str | None) -> dict[str, object]:
    rt = runtime(request)
    enterprise_id, office = declaration_service.scope(who)
    st = Status(status) if status is not None and status in Status.__members__ else None
    with rt.read() as s:
        rows, total = repository.page(
            s, enterprise_id=enterprise_id, office=office, status=st, kind=None, lodged_from=None, lodged_to=None, limit=100, offset=0
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
