"""Request dependencies: the runtime, and who is asking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from smartcustoms.auth import service as auth_service
from smartcustoms.auth import sessions
from smartcustoms.auth.service import Principal
from smartcustoms.errors import Unauthorized, Unavailable
from smartcustoms.gate.station import principal_of, unreachable
from smartcustoms.kit.clock import utcnow
from smartcustoms.runtime import Runtime

SESSION_COOKIE = "sc_session"
DB_INT_MAX = 2**31 - 1  # the largest INTEGER (offsets, versions, small ids) PostgreSQL holds
DB_BIGINT_MAX = 2**63 - 1  # the largest BIGINT id or cursor both databases hold
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_CREDENTIALS = "Send 'Authorization: Bearer <token>' (smartcustoms user add prints one)."
COOKIE_CANNOT_CHANGE = "Changes through the API need 'Authorization: Bearer <token>'; a browser session only reads."


def runtime(request: Request) -> Runtime:
    """The process runtime."""
    rt: Runtime = request.app.state.runtime
    return rt


def bearer(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    return authorization[7:].strip() if authorization.lower().startswith("bearer ") else None


def authenticate_bearer(rt: Runtime, token: str) -> Principal:
    """The caller of a bearer token, from the token cache or the database; 401 otherwise."""
    seconds = rt.settings.auth_cache_seconds
    known = auth_service.token_cache.get(token, seconds=seconds)
    if known is not None:
        return known
    try:
        with rt.read() as s:
            who = auth_service.authenticate_token(s, token=token)
    except Exception as exc:
        # The database is away: a gate keeps working for the gate users its local copy knows.
        if not unreachable(exc):
            raise
        user = rt.station.copy.user(token)
        if user is None:
            raise Unavailable(
                "The database cannot be reached; try again shortly. Nothing was changed.", code="database_unreachable"
            ) from exc
        return principal_of(user)
    if seconds > 0:
        auth_service.token_cache.put(token, who)
    return who


def authenticate_credentials(rt: Runtime, *, method: str, path: str, authorization: str, cookie: str | None) -> Principal:
    """The caller from a bearer token or, for pages and API reads only, the web-session cookie; 401 otherwise.

    A browser sends the session cookie with any request a page of another site makes it send, so
    the API takes changes (POST, PATCH, DELETE ...) with a bearer token only; the pages' own forms
    carry a CSRF token besides (web/pages.py).
    """
    token = bearer(authorization)
    if token is not None:
        return authenticate_bearer(rt, token)
    if cookie:
        if path.startswith("/api/") and method not in SAFE_METHODS:
            raise Unauthorized(COOKIE_CANNOT_CHANGE)
        with rt.read() as s:
            return sessions.authenticate_session(s, cookie=cookie, now=utcnow())
    raise Unauthorized(NO_CREDENTIALS)


def authenticate(request: Request) -> Principal:
    """The caller of a request (see `authenticate_credentials`; may read the database)."""
    who = getattr(request.state, "principal", None)  # the request guard authenticated API requests already
    if isinstance(who, Principal):
        return who
    return authenticate_credentials(
        runtime(request),
        method=request.method,
        path=request.url.path,
        authorization=request.headers.get("authorization", ""),
        cookie=request.cookies.get(SESSION_COOKIE),
    )


# The dependencies are coroutines: FastAPI runs a plain function dependency in a worker thread,
# a hop per dependency per request. The request guard (web/guard.py) has already authenticated
# every /api/ request before its body was read; a token seen in the last few seconds is answered
# from the cache on the event loop; only a database read goes to a thread.


async def _runtime_dep(request: Request) -> Runtime:
    return runtime(request)


async def principal(request: Request) -> Principal:
    """The caller (see `authenticate`); without leaving the event loop when the guard or the token cache knows them."""
    who = getattr(request.state, "principal", None)
    if isinstance(who, Principal):
        return who
    token = bearer(request.headers.get("authorization", ""))
    if token is not None:
        known = auth_service.token_cache.get(token, seconds=runtime(request).settings.auth_cache_seconds)
        if known is not None:
            return known
    return await run_in_threadpool(authenticate, request)


RuntimeDep = Annotated[Runtime, Depends(_runtime_dep)]
PrincipalDep = Annotated[Principal, Depends(principal)]
