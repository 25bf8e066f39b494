"""Creating users, issuing tokens, and telling who a request comes from."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth import passwords
from smartcustoms.auth.models import ApiToken, Role, User, WebSession
from smartcustoms.auth.roles import ENTERPRISE_ROLES, OFFICE_OPTIONAL_ROLES, OFFICE_ROLES
from smartcustoms.errors import Conflict, Forbidden, Problem, Unauthorized, ValidationFailed
from smartcustoms.party import service as party_service
from smartcustoms.party.models import Enterprise
from smartcustoms.reference.models import CustomsOffice

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: int
    name: str
    role: Role
    enterprise_id: int | None
    enterprise_uscc: str | None
    office: str | None

    def actor(self) -> Actor:
        """The caller as the journal records them."""
        return Actor(
            id=self.user_id,
            name=self.name,
            role=self.role.value,
            office=self.office,
            enterprise_id=self.enterprise_id,
        )

    def require(self, *roles: Role) -> None:
        """Refuse with 403 unless the caller holds one of the roles."""
        if self.role not in roles:
            raise Forbidden(f"This action is not open to the {self.role.value} role.")


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    session: Session,
    *,
    name: str,
    role: Role,
    enterprise_uscc: str | None = None,
    office: str | None = None,
    password: str | None = None,
    actor: Actor,
    now: datetime,
    production: bool = False,
) -> tuple[User, str]:
    """Create a user and its first token; returns the user and the token in clear (shown once).

    A password must pass `passwords.problems` (stricter in production mode).
    """
    problems: list[Problem] = []
    enterprise_id = None
    if role in ENTERPRISE_ROLES:
        if not enterprise_uscc:
            problems.append(
                Problem(
                    "AUTH-USR-001",
                    "/enterprise",
                    f"{'An' if role.value[0] in 'aeiou' else 'A'} {role.value} user must be bound to an enterprise (give its USCC).",
                )
            )
        else:
            ent = party_service.find_by_uscc(session, uscc=enterprise_uscc)
            if ent is None:
                problems.append(Problem("AUTH-USR-002", "/enterprise", f"No enterprise with USCC {enterprise_uscc} is registered."))
            else:
                enterprise_id = ent.id
    elif enterprise_uscc:
        problems.append(Problem("AUTH-USR-003", "/enterprise", "Only enterprise and carrier users are bound to an enterprise."))
    if password is not None:
        problems.extend(passwords.problems(password, production=production))
    office_problem = _office_problem(session, role, office)
    if office_problem:
        problems.append(office_problem)
    if problems:
        raise ValidationFailed("The user cannot be created.", problems)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"A user named {name!r} already exists.", code="user_exists")
    user = User(
        name=name,
        role=role,
        enterprise_id=enterprise_id,
        office_code=office,
        password_hash=_hasher.hash(password) if password else None,
        created_at=now,
    )
    session.add(user)
    session.flush()
    token = issue_token(session, user=user, now=now)
    record(
        session,
        actor=actor,
        action="user.added",
        subject_type="user",
        subject_id=str(user.id),
        now=now,
        after={"name": name, "role": role.value, "enterprise": enterprise_uscc, "office": office},
    )
    return user, token


def _office_problem(session: Session, role: Role, office: str | None) -> Problem | None:
    """Office roles need a customs office in force from the reference list; national roles take none."""
    if role not in OFFICE_ROLES:
        if office is not None and role in OFFICE_OPTIONAL_ROLES:
            return _known_office_problem(session, office)
        if office is not None:
            return Problem("AUTH-USR-008", "/office", f"The {role.value} role is not bound to a customs office; give none.")
        if office is None:
            return None
    if not office:
        return Problem("AUTH-USR-006", "/office", f"A user of the {role.value} role works at one customs office: give its code.")
    return _known_office_problem(session, office)


def _known_office_problem(session: Session, office: str) -> Problem | None:
    known = session.scalar(select(CustomsOffice.code).where(CustomsOffice.code == office, CustomsOffice.valid_to.is_(None)))
    if known is None:
        shown = office if office.isprintable() else repr(office)
        return Problem("AUTH-USR-007", "/office", f"{shown} is not a customs office in the reference list.")
    return None


def issue_token(session: Session, *, user: User, now: datetime, label: str = "default") -> str:
    """A new random bearer token for the user; only its hash is kept."""
    token = "sc_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=_sha256(token), label=label, created_at=now))
    return token


def principal_of(session: Session, user: User) -> Principal:
    uscc = None
    if user.enterprise_id is not None:
        ent = party_service.get(session, enterprise_id=user.enterprise_id)
        uscc = ent.uscc if ent else None
    return Principal(user.id, user.name, user.role, user.enterprise_id, uscc, user.office_code)


def authenticate_token(session: Session, *, token: str) -> Principal:
    """The principal a bearer token belongs to, or 401."""
    # One query for the user, the token's state and the enterprise's USCC (asked on every API request).
    row = session.execute(
        select(User, ApiToken.revoked_at, Enterprise.uscc)
        .join(ApiToken, ApiToken.user_id == User.id)
        .outerjoin(Enterprise, Enterprise.id == User.enterprise_id)
        .where(ApiToken.token_sha256 == _sha256(token))
    ).first()
    if row is None or row[1] is not None or not row[0].active:
        raise Unauthorized("The bearer token is not valid.")
    user, _, uscc = row
    return Principal(user.id, user.name, user.role, user.enterprise_id, uscc, user.office_code)


class TokenCache:
    """Principals of recently seen bearer tokens, for a few seconds, keyed by the token's hash.

    Every API request names its caller; reading the token, user and enterprise for each one is a
    read transaction per request. Within one process a revocation or a disabled user takes effect
    at once (`forget_all`); another process (the CLI, a second server) is heard of within
    `seconds` (SMARTCUSTOMS_AUTH_CACHE_SECONDS, 0 turns the cache off). Unknown or refused tokens
    are never cached, so a new token works at once and a guessing client gains nothing.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, token: str, *, seconds: float) -> Principal | None:
        """The cached principal for the token, if seen less than `seconds` ago."""
        if seconds <= 0:
            return None
        hit = self._entries.get(_sha256(token))
        if hit is None or time.monotonic() - hit[0] >= seconds:
            return None
        return hit[1]

    def put(self, token: str, principal: Principal) -> None:
        """Remember the principal a token was just authenticated as."""
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[_sha256(token)] = (time.monotonic(), principal)

    def forget_all(self) -> None:
        """Forget every cached principal (after a revocation or a change to a user)."""
        with self._lock:
            self._entries.clear()


token_cache = TokenCache()


def _user_named(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise ValidationFailed("No such user.", [Problem("AUTH-USR-005", "/name", f"No user named {name!r}.")])
    return user


def end_user_sessions(session: Session, *, user_id: int, reason: str, now: datetime) -> int:
    """End every live web session of a user (password changed, credentials revoked, disabled); returns how many."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def revoke_tokens(session: Session, *, name: str, actor: Actor, now: datetime) -> int:
    """Revoke every live bearer token and end every web session of a user (a lost laptop, a leaked script); returns the tokens."""
    user = _user_named(session, name)
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for t in tokens:
        t.revoked_at = now
    ended = end_user_sessions(session, user_id=user.id, reason="revoked", now=now)
    record(
        session,
        actor=actor,
        action="user.tokens_revoked",
        subject_type="user",
        subject_id=str(user.id),
        now=now,
        after={"revoked": len(tokens), "sessions_ended": ended},
    )
    token_cache.forget_all()
    return len(tokens)


def set_active(session: Session, *, name: str, active: bool, actor: Actor, now: datetime) -> None:
    """Disable a user (no token, password or session of theirs works any more) or enable them again."""
    user = _user_named(session, name)
    before = user.active
    user.active = active
    ended = 0 if active else end_user_sessions(session, user_id=user.id, reason="disabled", now=now)
    record(
        session,
        actor=actor,
        action="user.enabled" if active else "user.disabled",
        subject_type="user",
        subject_id=str(user.id),
        now=now,
        before={"active": before},
        after={"active": active} if active else {"active": active, "sessions_ended": ended},
    )
    token_cache.forget_all()


WRONG_PASSWORD = "Wrong name or password."  # noqa: S105 - a message, not a password
DEMO_REFUSED = "Demo passwords are refused in production; ask an administrator to set a new password (smartcustoms user set-password)."


def authenticate_password(session: Session, *, name: str, password: str, production: bool = False) -> Principal:
    """The principal for a name and password, or 401 (same answer for unknown names).

    In production mode the demo data's published passwords are refused even where a user still has one.
    """
    user = session.scalar(select(User).where(User.name == name))
    stored = user.password_hash if user is not None else None
    try:
        if stored is None or user is None or not user.active:
            _hasher.verify(dummy_hash(), password)  # same cost whether the user exists or not
            raise Unauthorized(WRONG_PASSWORD)
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError) as exc:
        raise Unauthorized(WRONG_PASSWORD) from exc
    if production and passwords.is_demo_password(password):
        raise Unauthorized(DEMO_REFUSED, code="demo_password_refused")
    return principal_of(session, user)


def set_password(session: Session, *, name: str, password: str, actor: Actor, now: datetime, production: bool = False) -> None:
    """Set a user's password for the web pages; every web session of theirs ends (they sign in again)."""
    user = _user_named(session, name)
    if found := passwords.problems(password, production=production):
        raise ValidationFailed("The password cannot be used.", found)
    user.password_hash = _hasher.hash(password)
    ended = end_user_sessions(session, user_id=user.id, reason="password_set", now=now)
    record(
        session,
        actor=actor,
        action="user.password_set",
        subject_type="user",
        subject_id=str(user.id),
        now=now,
        after={"sessions_ended": ended},
    )


@cache
def dummy_hash() -> str:
    """A hash to verify a password against when the user does not exist (the same cost either way).

    Made on first use rather than at import (0.12 s, paid by every command and process otherwise);
    the runtime's worker makes it at start, so a server's first failed login is not slower.
    """
    return _hasher.hash("not-a-real-password")
