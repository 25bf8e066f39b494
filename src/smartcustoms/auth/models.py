"""Users and their API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime


class Role(enum.StrEnum):
    """What a user may do; enterprise users are bound to one enterprise."""

    enterprise = "enterprise"
    officer = "officer"
    inspector = "inspector"
    image_analyst = "image_analyst"  # reviews X-ray (non-intrusive inspection) images
    analyst = "analyst"
    supervisor = "supervisor"
    gate = "gate"
    carrier = "carrier"  # a shipping line or airline: lodges manifests for its enterprise
    scanner = "scanner"  # an X-ray scanner station: uploads scan images at its office
    agency = "agency"
    bank = "bank"  # a bank system confirming duty payments
    admin = "admin"


OFFICIAL_ROLES = frozenset({Role.officer, Role.inspector, Role.image_analyst, Role.analyst, Role.supervisor, Role.admin})


class User(Base):
    """A person or system account with one role."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    office_code: Mapped[str | None] = mapped_column(String(8))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="default")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random value, only its SHA-256 is stored.

    Checked on every request, so a session ends at once when its user signs out, changes
    password, has their credentials revoked or is disabled (`ended_at`, `ended_reason`).
    """

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ended_reason: Mapped[str | None] = mapped_column(String(20), default=None)


class SignInFailure(Base):
    """One failed sign-in, by the name tried and the client's address: what the throttle counts."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_name_at", "name", "at"), Index("ix_sign_in_failure_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
