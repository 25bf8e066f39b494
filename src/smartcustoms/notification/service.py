"""The outbox relay, the enterprise feed and webhook delivery."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Integer, Table, func, insert, literal, select, update
from sqlalchemy.orm import Session

from smartcustoms.adapters.bus import Bus
from smartcustoms.adapters.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, SendResult, WebhookSender, signature
from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.errors import Forbidden, NotFound, Problem, ValidationFailed
from smartcustoms.gate import service as gate_service
from smartcustoms.kit.db import insert_rows
from smartcustoms.kit.outbox import OutboxMessage
from smartcustoms.notification.models import Notification, WebhookDelivery, WebhookSubscription

_NOTIFICATIONS = cast(Table, Notification.__table__)
_DELIVERIES = cast(Table, WebhookDelivery.__table__)
BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 3600


def _enterprise(principal: Principal) -> str:
    if principal.role is not Role.enterprise or not principal.enterprise_uscc:
        raise Forbidden("Notifications and webhooks belong to enterprise users.")
    return principal.enterprise_uscc


# An advisory lock held by the relay at work on PostgreSQL: keyed by a number of our own and the
# schema (advisory locks are per database, and several deployments may share one in schemas).
RELAY_LOCK_CLASS = 0x534D_4355


def _only_relay(session: Session) -> bool:
    """Make this transaction the only relay at work on the database; False if another one is.

    Several server processes each run a relay. Two at once would read the same pending messages
    and publish them twice, or interleave their notifications out of the outbox's order. On
    PostgreSQL a transaction-scoped advisory lock lets one relay work and the others skip their
    turn; on SQLite a writing transaction holds the single write lock from its start, so relays
    already take turns.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = func.hashtext(func.current_schema())
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(literal(RELAY_LOCK_CLASS, Integer), key))))


def relay_once(session: Session, *, bus: Bus, now: datetime, batch: int = 200) -> int:
    """Publish pending outbox messages in order, fan them out to feeds and webhooks; returns how many.

    Written with plain statements rather than ORM objects: one read of the batch, one UPDATE
    marking it published, one batched INSERT of the enterprises' notifications (their ids keep
    the outbox's order), and, only when some enterprise has a webhook, the deliveries.
    """
    if not _only_relay(session):
        return 0  # another process's relay is at work; the next round comes back
    om = OutboxMessage
    pending = session.execute(
        select(om.id, om.topic, om.key, om.payload, om.created_at).where(om.published_at.is_(None)).order_by(om.id).limit(batch)
    ).all()
    if not pending:
        return 0
    subs: dict[str, list[int]] = {}
    for sub_id, uscc in session.execute(
        select(WebhookSubscription.id, WebhookSubscription.enterprise_uscc).where(WebhookSubscription.active.is_(True))
    ):
        subs.setdefault(uscc, []).append(sub_id)
    notes: list[dict[str, Any]] = []
    for msg_id, topic, key, payload, created_at in pending:
        bus.publish(f"smartcustoms.{topic}", payload, msg_id=f"outbox-{msg_id}")
        for uscc in payload.get("enterprises", []):
            notes.append(
                {
                    "enterprise_uscc": uscc,
                    "outbox_id": msg_id,
                    "number": payload.get("number", key),
                    "event": payload.get("event", topic),
                    "status": payload.get("status", ""),
                    "payload": payload,
                    "at": created_at,
                }
            )
    gate_service.fan_out(session, [(m, t, p, c) for m, t, _, p, c in pending], bus=bus)  # the terminals' feed and subjects
    ids = [row[0] for row in pending]
    outbox = cast(Table, om.__table__)
    session.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=now, attempts=outbox.c.attempts + 1))
    if notes:
        insert_rows(session, _NOTIFICATIONS, notes)  # one statement on PostgreSQL, an executemany elsewhere
    if notes and any(n["enterprise_uscc"] in subs for n in notes):
        pushed = session.execute(
            select(Notification.id, Notification.enterprise_uscc)
            .where(Notification.outbox_id.in_(ids), Notification.enterprise_uscc.in_(list(subs)))
            .order_by(Notification.id)
        ).all()
        session.execute(
            insert(_DELIVERIES),
            [
                {"subscription_id": sub_id, "notification_id": note_id, "next_attempt_at": now, "created_at": now}
                for note_id, uscc in pushed
                for sub_id in subs[uscc]
            ],
        )
    return len(pending)


def feed(session: Session, *, principal: Principal, after: int, limit: int) -> tuple[Sequence[Notification], int]:
    """The enterprise's events after a cursor, in order, and the cursor to resume from."""
    uscc = _enterprise(principal)
    rows = session.scalars(
        select(Notification).where(Notification.enterprise_uscc == uscc, Notification.id > after).order_by(Notification.id).limit(limit)
    ).all()
    return rows, rows[-1].id if rows else after


def webhook_url_problems(url: str, *, allow_private: bool, require_https: bool) -> list[Problem]:
    """What is wrong with a webhook address: plain http where https is required, or a host that
    names a non-public address (checked again, after name resolution, each time it is sent)."""
    problems = []
    parsed = urlsplit(url)
    if require_https and parsed.scheme != "https":
        problems.append(Problem("NOT-WHK-002", "/url", "The webhook address must start with https://."))
    host = (parsed.hostname or "").rstrip(".").lower()
    if not allow_private:
        literal = None
        with contextlib.suppress(ValueError):
            literal = ipaddress.ip_address(host)
        if host == "localhost" or host.endswith(".localhost") or (literal is not None and not literal.is_global):
            problems.append(
                Problem("NOT-WHK-001", "/url", "The webhook address must be on the public internet, not a local or private network.")
            )
    return problems


def register_webhook(
    session: Session, *, url: str, principal: Principal, now: datetime, allow_private: bool = False, require_https: bool = False
) -> WebhookSubscription:
    """Register an endpoint for the enterprise's status events; its signing secret is returned once."""
    uscc = _enterprise(principal)
    problems = webhook_url_problems(url, allow_private=allow_private, require_https=require_https)
    if problems:
        raise ValidationFailed("The webhook address is not allowed; nothing was stored.", problems)
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


@dataclass(frozen=True)
class Attempt:
    """One claimed webhook delivery, with everything needed to send it outside any transaction."""

    delivery_id: int
    subscription_id: int
    url: str
    secret: str
    event: str
    body: bytes
    attempts: int
    created_at: datetime
    active: bool


CLAIM_LEASE = timedelta(minutes=2)


def due(session: Session, *, now: datetime) -> bool:
    """Whether any webhook delivery is due (a cheap read, so an idle relay takes no write lock)."""
    wd = WebhookDelivery
    return session.scalar(select(wd.id).where(wd.done.is_(False), wd.next_attempt_at <= now).limit(1)) is not None


def claim_due(session: Session, *, now: datetime, batch: int = 50, lease: timedelta = CLAIM_LEASE) -> list[Attempt]:
    """Claim the deliveries that are due: each is pushed back by `lease`, so no other relay sends it meanwhile
    and, if this one dies before settling, it is tried again when the lease runs out."""
    wd, ws, n = WebhookDelivery, WebhookSubscription, Notification
    rows = session.execute(
        select(wd.id, wd.attempts, wd.created_at, ws.id, ws.url, ws.secret, ws.active, n.id, n.event, n.number, n.status, n.payload)
        .join(ws, ws.id == wd.subscription_id)
        .join(n, n.id == wd.notification_id)
        .where(wd.done.is_(False), wd.next_attempt_at <= now)
        .order_by(wd.next_attempt_at, wd.id)
        .limit(batch)
        # PostgreSQL: rows another relay is claiming are skipped, not claimed twice (SQLite ignores
        # this: its writing transactions take turns).
        .with_for_update(of=wd, skip_locked=True)
    ).all()
    if rows:
        session.execute(update(wd).where(wd.id.in_([r[0] for r in rows])).values(next_attempt_at=now + lease))
    return [
        Attempt(
            delivery_id=d_id,
            subscription_id=sub_id,
            url=url,
            secret=secret,
            event=event,
            body=json.dumps(
                {"id": n_id, "event": event, "number": number, "status": status, "data": payload}, separators=(",", ":")
            ).encode(),
            attempts=attempts,
            created_at=created_at,
            active=active,
        )
        for d_id, attempts, created_at, sub_id, url, secret, active, n_id, event, number, status, payload in rows
    ]


def send(sender: WebhookSender, attempt: Attempt, *, now: datetime) -> SendResult | None:
    """Post one claimed delivery, signed; None when its webhook was removed meanwhile (nothing is sent)."""
    if not attempt.active:
        return None
    ts = int(now.timestamp())
    return sender.send(
        attempt.url,
        attempt.body,
        {
            SIGNATURE_HEADER: signature(attempt.secret, ts, attempt.body),
            TIMESTAMP_HEADER: str(ts),
            "X-SmartCustoms-Event": attempt.event,
            "X-SmartCustoms-Delivery": str(attempt.delivery_id),
        },
    )


def settle(session: Session, results: list[tuple[Attempt, SendResult | None]], *, now: datetime, give_up_after: timedelta) -> None:
    """Record what each send gave: delivered, retry later with backoff, or given up after a day."""
    for attempt, result in results:
        d = session.get(WebhookDelivery, attempt.delivery_id)
        if d is None or d.done:
            continue
        if result is None:
            d.done, d.gave_up_at, d.last_error = True, now, "webhook removed"
            continue
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
                subject_id=str(attempt.subscription_id),
                now=now,
                after={"delivery": d.id, "attempts": d.attempts, "last_error": result.error},
            )
        else:
            d.next_attempt_at = now + backoff(d.attempts)
