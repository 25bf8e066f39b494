"""Assessments (lane, score, hits, explanation, random draw), outcomes, and per-office selectivity settings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import DecimalText, UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class Assessment(Base):
    """The risk assessment of one version of a declaration."""

    __tablename__ = "risk_assessment"
    __table_args__ = (Index("ix_risk_assessment_decl", "declaration_id", "id"), Index("ix_risk_assessment_at", "office", "assessed_at"))

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    number: Mapped[str] = mapped_column(String(18))
    declaration_version: Mapped[int]
    office: Mapped[str] = mapped_column(String(8))
    lane: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    model: Mapped[str | None] = mapped_column(String(80))
    challenger: Mapped[dict[str, Any] | None]
    hits: Mapped[list[Any]]
    errors: Mapped[list[Any]]
    contributions: Mapped[list[Any]]
    random_draw: Mapped[dict[str, Any]]
    basis: Mapped[str] = mapped_column(Text)  # why this lane, in one sentence
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Outcome(Base):
    """What a review, inspection or audit found: the label the model learns from."""

    __tablename__ = "risk_outcome"
    __table_args__ = (Index("ix_risk_outcome_decl", "declaration_id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    number: Mapped[str] = mapped_column(String(18))
    source: Mapped[str] = mapped_column(String(12))  # review, inspection, audit
    hit: Mapped[bool] = mapped_column(Boolean)
    critical: Mapped[int] = mapped_column(Integer, default=0)
    revenue_recovered: Mapped[Decimal] = mapped_column(DecimalText())
    finding: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SelectivitySetting(Base):
    """How many declarations an office can review and inspect, and the random share, from a date."""

    __tablename__ = "risk_selectivity_setting"
    __table_args__ = (Index("ix_risk_selectivity_setting_office", "office", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office: Mapped[str] = mapped_column(String(8))  # '*' for every office without its own
    red_rate: Mapped[float] = mapped_column(Float)
    yellow_rate: Mapped[float] = mapped_column(Float)
    random_rate: Mapped[float] = mapped_column(Float)
    aeo_factor: Mapped[float] = mapped_column(Float)
    low_credit_factor: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(BigInteger)
    score_window: Mapped[int] = mapped_column(Integer, server_default="2000")  # the office's last N model scores lanes follow
    valid_from: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
