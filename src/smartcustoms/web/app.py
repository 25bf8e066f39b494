"""The FastAPI application: routers, error rendering, OpenAPI, health and metrics."""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from smartcustoms import __version__
from smartcustoms.auth.models import Role
from smartcustoms.config import Settings, get_settings
from smartcustoms.declaration.schemas import DeclarationCreate
from smartcustoms.declaration.validation import label, pointer
from smartcustoms.errors import SmartCustomsError, TooManyRequests, Unauthorized
from smartcustoms.kit.text import DATE_ERROR, INVISIBLE_ERROR
from smartcustoms.runtime import Runtime
from smartcustoms.web import assist_pages, desk_pages, field_pages, office_pages, pages, portal, release_pages, revenue_pages, xray_pages
from smartcustoms.web.api import (
    admin,
    declarations,
    duty,
    gate,
    identification,
    inspection,
    mandates,
    manifests,
    notifications,
    offices,
    releases,
    risk,
    roster,
    tasks,
    xray,
)
from smartcustoms.web.deps import authenticate_bearer, bearer
from smartcustoms.web.guard import RequestGuard

log = structlog.get_logger("smartcustoms.web")
REQUESTS = Counter("smartcustoms_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "smartcustoms_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
STATIC = Path(__file__).parent / "static"
# Stable codes of the problems pydantic finds in a request (docs/rules.md); REQ-003 for the rest.
_REQUEST_CODES = {
    "missing": "REQ-001",
    "extra_forbidden": "REQ-002",
    "json_invalid": "REQ-JSON-001",
    INVISIBLE_ERROR: "REQ-TEXT-001",
    DATE_ERROR: "REQ-DATE-001",
}


def _body(status: int, code: str, title: str, detail: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    return JSONResponse({"error": title, "code": code, "detail": detail, "errors": errors or []}, status_code=status)


def _build_routes(app: FastAPI) -> None:
    """Build every included route's handler now, before any request or worker thread runs.

    FastAPI builds an included router's routes (their pydantic adapters) on the first request
    that reaches them; two first requests at once, or one beside a worker thread touching the
    same pydantic models, could then meet a half-built schema (`__pydantic_core_schema__`) and
    answer 500. Asking each included router for its routes once here builds them all.
    """
    pending: list[Any] = list(app.router.routes)
    while pending:
        route = pending.pop()
        for name in ("effective_candidates", "effective_low_priority_routes"):
            build = getattr(type(route), name, None)
            if callable(build):
                pending.extend(build(route))


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None, start_workers: bool = True) -> FastAPI:
    """Build the application around a runtime (made from the settings unless given)."""
    settings = settings or get_settings()
    rt = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Routes and dependencies run in anyio's worker threads; their number is how many requests
        # work on the database at once in this process (the rest wait their turn, unharmed).
        anyio.to_thread.current_default_thread_limiter().total_tokens = rt.settings.request_threads
        if start_workers:
            rt.start()
        yield
        rt.stop()

    app = FastAPI(
        title="smartcustoms",
        version=__version__,
        description="Smart-customs platform: single-window declarations, risk, clearance and release. "
        "Every error answers `{error, code, detail, errors: [{code, pointer, message}]}`.",
        lifespan=lifespan,
        docs_url=None,  # served below from the vendored Swagger UI (no CDN)
        redoc_url=None,
    )
    app.state.runtime = rt

    @app.exception_handler(SmartCustomsError)
    async def _expected(_: Request, exc: SmartCustomsError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = tuple(e["loc"])
            where, rest = (loc[0], loc[1:]) if loc and loc[0] in ("body", "query", "path", "header", "cookie") else ("body", loc)
            ptr = pointer(*rest) if where == "body" else f"/{where}" + pointer(*rest)
            code = _REQUEST_CODES.get(e["type"], "REQ-003")
            if e["type"] == "json_invalid":  # FastAPI's own parse; `rest` is then a character offset
                ptr, msg = "", f"The body is not valid JSON: {(e.get('ctx') or {}).get('error', 'unreadable')}."
            else:
                msg = f"{label(rest) if rest else where}: {e['msg']}."
            errors.append({"code": code, "pointer": ptr, "message": msg})
        return _body(422, "validation_failed", "Validation failed", f"The request has {len(errors)} problem(s).", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: ("not_found", "Not found"), 405: ("method_not_allowed", "Method not allowed")}
        code, title = titles.get(exc.status_code, ("http_error", "HTTP error"))
        return _body(exc.status_code, code, title, str(exc.detail))

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refuses NUL characters in text and numbers beyond its column types; the
        # transaction was rolled back, so this is the caller's bad value, not our failure.
        log.warning("request.unstorable_value", path=request.url.path, error=str(exc.orig))
        problem = {"code": "REQ-003", "pointer": "", "message": "A value holds a NUL character or is out of range."}
        return _body(422, "validation_failed", "Validation failed", "The database cannot store a value; nothing was changed.", [problem])

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.failed", path=request.url.path)
        return _body(500, "internal_error", "Internal error", "Something went wrong on our side; nothing was changed. Try again.")

    @app.middleware("http")
    async def _metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        LATENCY.labels(request.method, path).observe(time.perf_counter() - start)
        REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        return response

    app.add_middleware(RequestGuard, runtime=rt)  # added last: outermost, before any body is read
    app.include_router(declarations.router)
    app.include_router(notifications.router)
    app.include_router(mandates.router)
    app.include_router(manifests.router)
    app.include_router(admin.router)
    app.include_router(risk.router)
    app.include_router(risk.outcomes_router)
    app.include_router(identification.router)
    app.include_router(roster.router)
    app.include_router(offices.router)
    app.include_router(duty.router)
    app.include_router(portal.router)  # before pages: /declarations/new is not a declaration number
    app.include_router(releases.router)
    app.include_router(gate.router)
    app.include_router(tasks.router)
    app.include_router(tasks.queries_router)
    app.include_router(inspection.router)
    app.include_router(xray.router)
    app.include_router(desk_pages.router)
    app.include_router(office_pages.router)
    app.include_router(pages.router)
    app.include_router(release_pages.router)
    app.include_router(field_pages.router)
    app.include_router(assist_pages.router)
    app.include_router(xray_pages.router)
    app.include_router(revenue_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _build_routes(app)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, Any]:
        """Liveness and database reachability (for a supervisor deciding whether to restart the process)."""
        with rt.read() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "database": rt.engine.dialect.name}

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "Not ready yet: the caches are still warming"}})
    def readyz() -> JSONResponse:
        """Readiness, for a load balancer: 503 until the caches are warm and the database answers, 200 after."""
        if not rt.ready.is_set():
            return _body(503, "not_ready", "Not ready", "The server is warming its caches; try again in a few seconds.")
        with rt.read() as s:
            s.execute(text("SELECT 1"))
        return JSONResponse({"status": "ready", "version": __version__, "database": rt.engine.dialect.name})

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        """Swagger UI from the files shipped in web/static: works without internet."""
        return pages.templates.TemplateResponse(request, "docs.html", {"title": app.title, "openapi_url": app.openapi_url})

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={401: {"description": "No valid credentials"}, 403: {"description": "Not an admin's token"}},
    )
    def metrics(request: Request) -> Response:
        """Prometheus metrics: for SMARTCUSTOMS_METRICS_TOKEN or an admin's bearer token."""
        token = bearer(request.headers.get("authorization", ""))
        if token is None:
            raise Unauthorized("Send 'Authorization: Bearer <token>': SMARTCUSTOMS_METRICS_TOKEN or an admin's token.")
        wanted = rt.settings.metrics_token
        if not (wanted and hmac.compare_digest(token.encode(), wanted.encode())):
            authenticate_bearer(rt, token).require(Role.admin)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        extra = DeclarationCreate.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(extra.pop("$defs", {}))
        components["DeclarationCreate"] = extra
        components["ErrorBody"] = {
            "type": "object",
            "required": ["error", "code", "detail", "errors"],
            "properties": {
                "error": {"type": "string"},
                "code": {"type": "string"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["code", "pointer", "message"],
                        "properties": {"code": {"type": "string"}, "pointer": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
        schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        for path in schema.get("paths", {}).values():
            for op in path.values():
                if "application/json" in op.get("requestBody", {}).get("content", {}):
                    # web.body refuses a JSON body labelled with another charset than UTF-8 (REQ-JSON-005).
                    op.setdefault("responses", {}).setdefault("415", {"description": "A JSON body not in UTF-8"})
                for status, resp in op.get("responses", {}).items():
                    if status[0] in "45":
                        resp["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
