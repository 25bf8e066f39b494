"""Risk rules, versioned, approved by a second analyst before they take effect."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Enum, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime


class RuleStatus(enum.StrEnum):
    """Where a rule version stands: proposed → active → superseded | retired; or rejected."""

    proposed = "proposed"
    active = "active"
    rejected = "rejected"
    superseded = "superseded"
    retired = "retired"


class Lane(enum.StrEnum):
    """Clearance lanes: release on data, document review, inspection, post-clearance audit."""

    green = "green"
    yellow = "yellow"
    red = "red"
    blue = "blue"


class RiskRule(Base):
    """One version of a risk parameter."""

    __tablename__ = "risk_rule"
    __table_args__ = (UniqueConstraint("code", "version"), Index("ix_risk_rule_status", "status", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    version: Mapped[int]
    status: Mapped[RuleStatus] = mapped_column(Enum(RuleStatus, native_enum=False, length=12))
    name: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str] = mapped_column(Text)
    condition: Mapped[dict[str, Any]]
    lane: Mapped[Lane | None] = mapped_column(Enum(Lane, native_enum=False, length=8))
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    offices: Mapped[list[Any] | None]
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    legal_reference: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
