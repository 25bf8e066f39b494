"""The outbox relay, the enterprise feed and webhook delivery."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.adapters.bus import Bus
from smartcustoms.adapters.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSender, signature
from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.errors import Forbidden, NotFound
from smartcustoms.kit.outbox import OutboxMessage
from smartcustoms.notification.models import Notification, WebhookDelivery, WebhookSubscription

BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 3600


def _enterprise(principal: Principal) -> str:
    if principal.role is not Role.enterprise or not principal.enterprise_uscc:
        raise Forbidden("Notifications and webhooks belong to enterprise users.")
    return principal.enterprise_uscc


def relay_once(session: Session, *, bus: Bus, now: datetime, batch: int = 200) -> int:
    """Publish pending outbox messages in order, fan them out to feeds and webhooks; returns how many."""
    pending = session.scalars(
        select(OutboxMessage).where(OutboxMessage.published_at.is_(None)).order_by(OutboxMessage.id).limit(batch)
    ).all()
    if not pending:
        return 0
    subs: dict[str, list[WebhookSubscription]] = {}
    for s in session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))):
        subs.setdefault(s.enterprise_uscc, []).append(s)
    pushed: list[tuple[Notification, list[WebhookSubscription]]] = []
    for msg in pending:
        msg.attempts += 1
        bus.publish(f"smartcustoms.{msg.topic}", msg.payload, msg_id=f"outbox-{msg.id}")
        for uscc in msg.payload.get("enterprises", []):
            note = Notification(
                enterprise_uscc=uscc,
                outbox_id=msg.id,
                number=msg.payload.get("number", msg.key),
                event=msg.payload.get("event", msg.topic),
                status=msg.payload.get("status", ""),
                payload=msg.payload,
                at=msg.created_at,
            )
            session.add(note)
            if uscc in subs:
                pushed.append((note, subs[uscc]))
        msg.published_at = now
    # One flush for the whole batch (the notifications keep the order they were added in); a
    # second one only when webhook deliveries need the notifications' ids.
    session.flush()
    if pushed:
        for note, to in pushed:
            for sub in to:
                session.add(WebhookDelivery(subscription_id=sub.id, notification_id=note.id, next_attempt_at=now, created_at=now))
        session.flush()
    return len(pending)


def feed(session: Session, *, principal: Principal, after: int, limit: int) -> tuple[Sequence[Notification], int]:
    """The enterprise's events after a cursor, in order, and the cursor to resume from."""
    uscc = _enterprise(principal)
    rows = session.scalars(
        select(Notification).where(Notification.enterprise_uscc == uscc, Notification.id > after).order_by(Notification.id).limit(limit)
    ).all()
    return rows, rows[-1].id if rows else after


def register_webhook(session: Session, *, url: str, principal: Principal, now: datetime) -> WebhookSubscription:
    """Register an endpoint for the enterprise's status events; its signing secret is returned once."""
    uscc = _enterprise(principal)
    sub = WebhookSubscription(enterprise_uscc=uscc, url=url, secret="whsec_" + secrets.token_urlsafe(24), created_at=now)
    session.add(sub)
    session.flush()
    record(
        session,
        actor=principal.actor(),
        action="webhook.registered",
        subject_type="webhook",
        subject_id=str(sub.id),
        now=now,
        after={"url": url, "enterprise": uscc},
    )
    return sub


def list_webhooks(session: Session, *, principal: Principal) -> Sequence[WebhookSubscription]:
    """The enterprise's active webhooks."""
    uscc = _enterprise(principal)
    return session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.enterprise_uscc == uscc, WebhookSubscription.active.is_(True))
        .order_by(WebhookSubscription.id)
    ).all()


def remove_webhook(session: Session, *, webhook_id: int, principal: Principal, now: datetime) -> None:
    """Stop pushing to a webhook; 404 if it is not the enterprise's."""
    uscc = _enterprise(principal)
    sub = session.get(WebhookSubscription, webhook_id)
    if sub is None or sub.enterprise_uscc != uscc or not sub.active:
        raise NotFound(f"No webhook {webhook_id}.")
    sub.active = False
    record(
        session,
        actor=principal.actor(),
        action="webhook.removed",
        subject_type="webhook",
        subject_id=str(sub.id),
        now=now,
        before={"url": sub.url, "active": True},
        after={"active": False},
    )


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 10 s, 20 s, 40 s, ... capped at an hour."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


def deliver_due(session: Session, *, sender: WebhookSender, now: datetime, give_up_after: timedelta, batch: int = 50) -> int:
    """Try every delivery that is due once; schedules retries, gives up after `give_up_after`."""
    due = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.done.is_(False), WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(batch)
    ).all()
    for d in due:
        sub = session.get(WebhookSubscription, d.subscription_id)
        note = session.get(Notification, d.notification_id)
        assert sub is not None and note is not None
        if not sub.active:
            d.done, d.gave_up_at, d.last_error = True, now, "webhook removed"
            continue
        body = json.dumps(
            {"id": note.id, "event": note.event, "number": note.number, "status": note.status, "data": note.payload}, separators=(",", ":")
        ).encode()
        ts = int(now.timestamp())
        result = sender.send(
            sub.url,
            body,
            {
                SIGNATURE_HEADER: signature(sub.secret, ts, body),
                TIMESTAMP_HEADER: str(ts),
                "X-SmartCustoms-Event": note.event,
                "X-SmartCustoms-Delivery": str(d.id),
            },
        )
        d.attempts += 1
        d.last_status, d.last_error = result.status, result.error
        if result.ok:
            d.done, d.delivered_at = True, now
        elif now - d.created_at >= give_up_after:
            d.done, d.gave_up_at = True, now
            record(
                session,
                actor=Actor.system("webhook"),
                action="webhook.gave_up",
                subject_type="webhook",
                subject_id=str(sub.id),
                now=now,
                after={"delivery": d.id, "attempts": d.attempts, "last_error": result.error},
            )
        else:
            d.next_attempt_at = now + backoff(d.attempts)
    session.flush()
    return len(due)
