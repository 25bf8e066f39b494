"""Officer profiles (qualifications, workload cap, duty), work assignments, and each office's dispatch seed."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.auth.models import Role
from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class Duty(enum.StrEnum):
    """Whether an officer takes new work now."""

    on = "on"
    off = "off"


class OfficerProfile(Base):
    """What an officer or inspector may be given: HS chapters, how many open tasks at most, on duty or not.

    The office is the user's (`app_user.office_code`); the profile is keyed by the user.
    """

    __tablename__ = "roster_officer"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    chapters: Mapped[str] = mapped_column(String(300))  # canonical spec, e.g. "84-85,90"
    chapter_mask: Mapped[str] = mapped_column(String(97))  # the same chapters, '1' at chapter n's place: the draw filters on it
    capacity: Mapped[int] = mapped_column(Integer)
    duty: Mapped[Duty] = mapped_column(Enum(Duty, native_enum=False, length=3))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Assignment(Base):
    """One officer holding one task; open until released. An officer's load is the number of open rows."""

    __tablename__ = "roster_assignment"
    __table_args__ = (Index("ix_roster_assignment_open", "user_id", "released_at"), Index("ix_roster_assignment_task", "task_ref"))

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    task_ref: Mapped[str] = mapped_column(String(80))
    office: Mapped[str] = mapped_column(String(8))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class OfficerLoad(Base):
    """How many tasks an officer holds now: kept with the assignments, in the transaction that opens or closes them.

    The draw reads it for hundreds of officers instead of counting their open assignments each
    time. A table of its own, not a column of the profile: a roster change locks the profile row
    and may then draw, while a draw (under the office's lock) writes the loads; kept apart, the
    two never wait on each other in opposite order. Its one writer is `roster.repository`.
    """

    __tablename__ = "roster_load"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    open_tasks: Mapped[int] = mapped_column(Integer, default=0)


class DispatchSeed(Base):
    """An office's secret dispatch seed: the HMAC key its draws take their uniform numbers from."""

    __tablename__ = "roster_dispatch_seed"

    office: Mapped[str] = mapped_column(String(8), primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# The roles that take work from the roster (each with an office); supervisors reassign, they are not drawn.
ROSTER_ROLES = (Role.officer, Role.inspector, Role.image_analyst)
