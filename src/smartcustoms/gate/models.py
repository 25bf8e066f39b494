"""Gate-outs, gate checks, officers' gate holds and the terminals' release feed."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class Decision(enum.StrEnum):
    """What the gate answers a truck."""

    passed = "pass"
    hold = "hold"


class GateExit(Base):
    """A container (or vehicle) that left the port under a release: at most one per release line, whatever races."""

    __tablename__ = "gate_exit"
    __table_args__ = (Index("ix_gate_exit_container", "container"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    release_container_id: Mapped[int] = mapped_column(ForeignKey("release_container.id"), unique=True)
    release_number: Mapped[str] = mapped_column(String(18))
    container: Mapped[str | None] = mapped_column(String(11))
    plate: Mapped[str | None] = mapped_column(String(35))
    office: Mapped[str] = mapped_column(String(8))
    gated_by: Mapped[str] = mapped_column(String(120))
    gated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    offline: Mapped[bool] = mapped_column(Boolean, default=False)


class GateCheck(Base):
    """One check at the gate, pass or hold, with its reasons; `ref` names an offline check reconciled later (once)."""

    __tablename__ = "gate_check"
    __table_args__ = (Index("ix_gate_check_office", "office", "id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(40), unique=True)
    office: Mapped[str] = mapped_column(String(8))
    checked_by: Mapped[str] = mapped_column(String(120))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    container: Mapped[str | None] = mapped_column(String(11))
    plate: Mapped[str | None] = mapped_column(String(35))
    release_number: Mapped[str | None] = mapped_column(String(18))
    seal: Mapped[str | None] = mapped_column(String(35))
    decision: Mapped[str] = mapped_column(String(4))
    reasons: Mapped[list[Any]]
    offline: Mapped[bool] = mapped_column(Boolean, default=False)


class GateHold(Base):
    """An officer's hold on a container at the gate: it may not leave until the hold is lifted."""

    __tablename__ = "gate_hold"
    __table_args__ = (Index("ix_gate_hold_container", "container", "lifted_at"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    container: Mapped[str] = mapped_column(String(11))
    office: Mapped[str | None] = mapped_column(String(8))  # None: at every gate
    reason: Mapped[str] = mapped_column(Text)
    held_by: Mapped[str] = mapped_column(String(120))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(120), default=None)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class GateFeedEntry(Base):
    """A release message for the terminals of one office; ids are assigned by the single relay, so a cursor never skips one."""

    __tablename__ = "gate_feed"
    __table_args__ = (Index("ix_gate_feed_office", "office", "id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    office: Mapped[str] = mapped_column(String(8))
    outbox_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(18))
    payload: Mapped[dict[str, Any]]
    at: Mapped[datetime] = mapped_column(UTCDateTime())
