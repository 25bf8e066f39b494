"""Request dependencies: the runtime, and who is asking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from smartcustoms.auth import service as auth_service
from smartcustoms.auth.service import Principal
from smartcustoms.errors import Unauthorized
from smartcustoms.runtime import Runtime

SESSION_COOKIE = "sc_session"
DB_INT_MAX = 2**31 - 1  # the largest INTEGER (offsets, versions, small ids) PostgreSQL holds
DB_BIGINT_MAX = 2**63 - 1  # the largest BIGINT id or cursor both databases hold


def runtime(request: Request) -> Runtime:
    """The process runtime."""
    rt: Runtime = request.app.state.runtime
    return rt


def authenticate(request: Request) -> Principal:
    """The caller, from a bearer token or the web-session cookie; 401 otherwise (may read the database)."""
    rt = runtime(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        seconds = rt.settings.auth_cache_seconds
        known = auth_service.token_cache.get(token, seconds=seconds)
        if known is not None:
            return known
        with rt.read() as s:
            who = auth_service.authenticate_token(s, token=token)
        if seconds > 0:
            auth_service.token_cache.put(token, who)
        return who
    with rt.read() as s:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return auth_service.authenticate_cookie(s, cookie=cookie, secret=rt.settings.secret_key)
    raise Unauthorized("Send 'Authorization: Bearer <token>' (smartcustoms user add prints one).")


# The dependencies are coroutines: FastAPI runs a plain function dependency in a worker thread,
# a hop per dependency per request. A token seen in the last few seconds is answered from the
# cache on the event loop; only a database read goes to a thread.


async def _runtime_dep(request: Request) -> Runtime:
    return runtime(request)


async def principal(request: Request) -> Principal:
    """The caller (see `authenticate`); from the token cache without leaving the event loop."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        known = auth_service.token_cache.get(header[7:].strip(), seconds=runtime(request).settings.auth_cache_seconds)
        if known is not None:
            return known
    return await run_in_threadpool(authenticate, request)


RuntimeDep = Annotated[Runtime, Depends(_runtime_dep)]
PrincipalDep = Annotated[Principal, Depends(principal)]
