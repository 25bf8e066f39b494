"""Web sessions kept on the server, CSRF tokens for the pages' forms, and the sign-in throttle."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import SignInFailure, User, WebSession
from smartcustoms.auth.service import Principal
from smartcustoms.errors import TooManyRequests, Unauthorized
from smartcustoms.party.models import Enterprise

EXPIRED = "Your session has expired; please sign in again."


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(session: Session, *, principal: Principal, address: str, now: datetime, hours: int) -> str:
    """A new web session for a principal who just signed in; returns the cookie value (random, shown once).

    The name's failed sign-ins are forgotten (the address's are not), and the sign-in is journaled.
    """
    cookie = "ss_" + secrets.token_urlsafe(32)
    session.add(
        WebSession(
            user_id=principal.user_id,
            token_sha256=_sha256(cookie),
            address=address[:64],
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.execute(delete(SignInFailure).where(SignInFailure.name == principal.name))
    record(
        session,
        actor=principal.actor(),
        action="user.signed_in",
        subject_type="user",
        subject_id=str(principal.user_id),
        now=now,
        after={"address": address[:64]},
    )
    return cookie


def authenticate_session(session: Session, *, cookie: str, now: datetime) -> Principal:
    """The principal of a live web session (not ended, not expired, user active), or 401."""
    row = session.execute(
        select(User, Enterprise.uscc)
        .join(WebSession, WebSession.user_id == User.id)
        .outerjoin(Enterprise, Enterprise.id == User.enterprise_id)
        .where(WebSession.token_sha256 == _sha256(cookie), WebSession.ended_at.is_(None), WebSession.expires_at > now)
    ).first()
    if row is None or not row[0].active:
        raise Unauthorized(EXPIRED)
    user, uscc = row
    return Principal(user.id, user.name, user.role, user.enterprise_id, uscc, user.office_code)


def end_session(session: Session, *, cookie: str, now: datetime) -> bool:
    """Sign out: end the session of this cookie (journaled); False when it was not live."""
    live = session.scalar(select(WebSession).where(WebSession.token_sha256 == _sha256(cookie), WebSession.ended_at.is_(None)))
    if live is None:
        return False
    live.ended_at, live.ended_reason = now, "signed_out"
    user = session.get(User, live.user_id)
    actor = Actor(id=live.user_id, name=user.name if user else "?", role=user.role.value if user else "?")
    record(session, actor=actor, action="user.signed_out", subject_type="user", subject_id=str(live.user_id), now=now)
    return True


# --- CSRF -----------------------------------------------------------------------------------


def csrf_token(*, secret: str, binding: str) -> str:
    """The CSRF token of a form: an HMAC of what it is bound to (a session cookie, or the sign-in nonce)."""
    return hmac.new(secret.encode(), ("csrf:" + _sha256(binding)).encode(), hashlib.sha256).hexdigest()


def csrf_ok(*, secret: str, binding: str | None, token: str | None) -> bool:
    """Whether a form's CSRF token belongs to what it must be bound to."""
    if not binding or not token:
        return False
    return hmac.compare_digest(csrf_token(secret=secret, binding=binding), token)


# --- the sign-in throttle -------------------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    """How many failed sign-ins a name and an address may have within the window before 429."""

    window_seconds: int
    per_name: int
    per_address: int


def check_throttle(session: Session, *, name: str, address: str, throttle: Throttle, now: datetime) -> None:
    """Refuse with 429 (and how long to wait) when the name or the address failed too often in the window."""
    since = now - timedelta(seconds=throttle.window_seconds)
    for column, value, limit in (
        (SignInFailure.name, name[:120], throttle.per_name),
        (SignInFailure.address, address[:64], throttle.per_address),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(SignInFailure.at)).where(column == value, SignInFailure.at > since)
        ).one()
        if count >= limit and oldest is not None:
            # The sliding window frees a place when the oldest counted failure leaves it.
            wait = int((oldest + timedelta(seconds=throttle.window_seconds) - now).total_seconds()) + 1
            raise TooManyRequests(
                f"Too many failed sign-ins; try again in {wait} seconds.",
                retry_after=wait,
                code="sign_in_throttled",
            )


def record_failed_sign_in(session: Session, *, name: str, address: str, why: str, now: datetime) -> None:
    """Count a failed sign-in for the throttle and journal it (the name tried, the address, why).

    The name's and the address's failures that have left every window are deleted on the way, so
    the table holds little more than what the throttle counts (the journal keeps them all).
    """
    stale = now - timedelta(days=1)
    session.execute(delete(SignInFailure).where(SignInFailure.name == name[:120], SignInFailure.at < stale))
    session.execute(delete(SignInFailure).where(SignInFailure.address == address[:64], SignInFailure.at < stale))
    session.add(SignInFailure(name=name[:120], address=address[:64], at=now))
    record(
        session,
        actor=Actor(id=None, name=f"anonymous@{address}"[:120], role="anonymous"),
        action="user.sign_in_failed",
        subject_type="user_name",
        subject_id=name[:80],
        now=now,
        after={"address": address[:64], "why": why},
    )
