"""Creating users, issuing tokens, and telling who a request comes from."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import ApiToken, Role, User
from smartcustoms.errors import Conflict, Forbidden, Problem, Unauthorized, ValidationFailed
from smartcustoms.party import service as party_service
from smartcustoms.party.models import Enterprise

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
) -> tuple[User, str]:
    """Create a user and its first token; returns the user and the token in clear (shown once)."""
    problems: list[Problem] = []
    enterprise_id = None
    if role is Role.enterprise:
        if not enterprise_uscc:
            problems.append(Problem("AUTH-USR-001", "/enterprise", "An enterprise user must be bound to an enterprise (give its USCC)."))
        else:
            ent = party_service.find_by_uscc(session, uscc=enterprise_uscc)
            if ent is None:
                problems.append(Problem("AUTH-USR-002", "/enterprise", f"No enterprise with USCC {enterprise_uscc} is registered."))
            else:
                enterprise_id = ent.id
    elif enterprise_uscc:
        problems.append(Problem("AUTH-USR-003", "/enterprise", "Only enterprise users are bound to an enterprise."))
    if password is not None and len(password) < 8:
        problems.append(Problem("AUTH-USR-004", "/password", "A password must have at least 8 characters."))
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


def authenticate_password(session: Session, *, name: str, password: str) -> Principal:
    """The principal for a name and password, or 401 (same answer for unknown names)."""
    user = session.scalar(select(User).where(User.name == name))
    stored = user.password_hash if user is not None else None
    try:
        if stored is None or user is None or not user.active:
            _hasher.verify(_DUMMY_HASH, password)  # same cost whether the user exists or not
            raise Unauthorized("Wrong name or password.")
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError) as exc:
        raise Unauthorized("Wrong name or password.") from exc
    return principal_of(session, user)


def set_password(session: Session, *, name: str, password: str, actor: Actor, now: datetime) -> None:
    """Set a user's password for the web pages."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise ValidationFailed("No such user.", [Problem("AUTH-USR-005", "/name", f"No user named {name!r}.")])
    if len(password) < 8:
        raise ValidationFailed("Password too short.", [Problem("AUTH-USR-004", "/password", "A password must have at least 8 characters.")])
    user.password_hash = _hasher.hash(password)
    record(session, actor=actor, action="user.password_set", subject_type="user", subject_id=str(user.id), now=now)


def session_cookie(principal: Principal, *, secret: str, now: datetime, hours: int) -> str:
    """A signed web-session cookie for the principal."""
    claims = {"sub": str(principal.user_id), "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=hours)).timestamp())}
    return jwt.encode(claims, secret, algorithm="HS256")


def authenticate_cookie(session: Session, *, cookie: str, secret: str) -> Principal:
    """The principal of a web-session cookie, or 401."""
    try:
        claims = jwt.decode(cookie, secret, algorithms=["HS256"])
    except jwt.PyJWTError as exc:
        raise Unauthorized("Your session has expired; please sign in again.") from exc
    user = session.get(User, int(claims["sub"]))
    if user is None or not user.active:
        raise Unauthorized("Your session has expired; please sign in again.")
    return principal_of(session, user)


_DUMMY_HASH = _hasher.hash("not-a-real-password")
