"""Routes for the enterprise's status feed and webhooks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from smartcustoms.kit.clock import utcnow
from smartcustoms.notification import service
from smartcustoms.notification.schemas import NotificationPage, NotificationRead, WebhookCreate, WebhookRead
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_BIGINT_MAX, DB_INT_MAX, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["notifications"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "Enterprise users only"},
    404: {"description": "Not found"},
    422: {"description": "Invalid request"},
}


@router.get("/notifications", response_model=NotificationPage, responses=ERRORS)
def notifications(
    rt: RuntimeDep,
    who: PrincipalDep,
    after: Annotated[int, Query(ge=0, le=DB_BIGINT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> NotificationPage:
    """The enterprise's status events after a cursor, in order; resume with `after=next_cursor`."""
    with rt.read() as s:
        rows, cursor = service.feed(s, principal=who, after=after, limit=limit)
        return NotificationPage(items=[NotificationRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/webhooks", status_code=201, response_model=WebhookRead, responses=ERRORS)
def add_webhook(rt: RuntimeDep, who: PrincipalDep, body: WebhookCreate) -> WebhookRead:
    """Register an endpoint; events are POSTed with an HMAC-SHA256 signature, retried with backoff for a day."""
    with rt.write() as s:
        sub = service.register_webhook(
            s,
            url=str(body.url),
            principal=who,
            now=utcnow(),
            allow_private=rt.settings.webhook_allow_private_networks,
            require_https=rt.settings.mode == "production",
        )
        return WebhookRead(id=sub.id, url=sub.url, active=sub.active, created_at=sub.created_at, secret=sub.secret)


@router.get("/webhooks", response_model=list[WebhookRead], responses=ERRORS)
def list_webhooks(rt: RuntimeDep, who: PrincipalDep) -> list[WebhookRead]:
    """The enterprise's webhooks (secrets are not shown again)."""
    with rt.read() as s:
        return [WebhookRead(id=w.id, url=w.url, active=w.active, created_at=w.created_at) for w in service.list_webhooks(s, principal=who)]


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=ERRORS)
def remove_webhook(rt: RuntimeDep, who: PrincipalDep, webhook_id: Annotated[int, Path(ge=1, le=DB_INT_MAX)]) -> Response:
    """Stop pushing events to a webhook."""
    with rt.write() as s:
        service.remove_webhook(s, webhook_id=webhook_id, principal=who, now=utcnow())
    return Response(status_code=204)
