"""The request guard: who is asking before any body is read, how much may be sent, and the security headers.

A plain ASGI middleware, outermost around the application, so that it acts before FastAPI reads
a body:

- an /api/ request is authenticated from its headers (the bearer token, through the token
  cache, or for reads the session cookie) before a byte of its body is read: a stranger's 200 MB
  costs the server nothing but the headers;
- a body is refused (413, the usual error body) as soon as its declared Content-Length or the
  bytes streamed so far pass the limit: SMARTCUSTOMS_MAX_JSON_BYTES for everything but
  multipart uploads, SMARTCUSTOMS_MAX_DOCUMENT_BYTES plus MULTIPART_OVERHEAD for those;
- every response carries the security headers (`security_headers`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smartcustoms.auth import service as auth_service
from smartcustoms.errors import PayloadTooLarge, Problem, SmartCustomsError
from smartcustoms.runtime import Runtime
from smartcustoms.web.deps import SESSION_COOKIE, authenticate_credentials, bearer

PUBLIC_API = frozenset({"/api/v1/releases/signing-key"})  # API paths anyone may read without credentials
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries, part headers and the small fields beside the file
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class BodyTooLarge(Exception):
    """Raised into the application when the streamed body passes its limit."""


def security_headers(production: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries; HSTS only in production (served over HTTPS there)."""
    headers = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if production:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


def body_limit(rt: Runtime, headers: Headers) -> int:
    """How many body bytes the request may send: the document limit for uploads, the JSON limit otherwise."""
    if headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return rt.settings.max_document_bytes + MULTIPART_OVERHEAD
    return rt.settings.max_json_bytes


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than this server accepts ({limit} bytes); nothing was stored.",
        [
            Problem(
                "REQ-010", "", f"Send at most {limit} bytes (SMARTCUSTOMS_MAX_JSON_BYTES, or SMARTCUSTOMS_MAX_DOCUMENT_BYTES for files)."
            )
        ],
    )


class RequestGuard:
    """Authenticate API requests before their bodies, bound every body, add the security headers."""

    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime
        self.extra = security_headers(runtime.settings.mode == "production")

    async def _answer(self, send: Send, exc: SmartCustomsError) -> None:
        body = json.dumps(exc.body()).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *self.extra]
        if exc.status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if exc.status == 413:
            headers.append((b"connection", b"close"))  # the rest of the body is not read
        await send({"type": "http.response.start", "status": exc.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["path"].startswith("/api/") and scope["path"] not in PUBLIC_API:
            authorization = headers.get("authorization", "")
            token = bearer(authorization)
            # A token seen in the last few seconds is answered on the event loop; the rest in a thread.
            who = auth_service.token_cache.get(token, seconds=self.rt.settings.auth_cache_seconds) if token else None
            if who is None:
                try:
                    who = await run_in_threadpool(
                        authenticate_credentials,
                        self.rt,
                        method=scope["method"],
                        path=scope["path"],
                        authorization=authorization,
                        cookie=_cookie(headers),
                    )
                except SmartCustomsError as exc:
                    await self._answer(send, exc)
                    return
            scope.setdefault("state", {})["principal"] = who
        limit = body_limit(self.rt, headers)
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._answer(send, _too_large(limit))
            return
        state: dict[str, Any] = {"received": 0, "over": False, "started": False}

        async def bounded_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["over"] = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if state["over"] and not state["started"]:
                return  # the application's answer to a body cut short (400, 500) is replaced by the 413
            if message["type"] == "http.response.start":
                state["started"] = True
                message = {**message, "headers": [*message.get("headers", []), *self.extra]}
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await self._answer(send, _too_large(limit))


def _cookie(headers: Headers) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return value
    return None
