"""Labelled history: one row per declared item, with what a check found (the model library learns from it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class HistoryRecord(Base):
    """One labelled history row in the canonical format.

    Amounts are floats here on purpose: history is statistical material for models, never money
    that is charged; the declaration itself keeps exact decimals.
    """

    __tablename__ = "risk_history"
    __table_args__ = (UniqueConstraint("source", "declaration_id"), Index("ix_risk_history_declared_on", "declared_on"))

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    source: Mapped[str] = mapped_column(String(120))  # "import:<file name>", "outcome", or the mapping's [options] source
    declaration_id: Mapped[str] = mapped_column(String(80))
    declared_on: Mapped[date] = mapped_column(Date)
    office: Mapped[str | None] = mapped_column(String(8))
    declarant_id: Mapped[str | None] = mapped_column(String(40))
    importer_id: Mapped[str] = mapped_column(String(40))
    consignor_id: Mapped[str | None] = mapped_column(String(200))
    carrier_id: Mapped[str | None] = mapped_column(String(40))
    hs_code: Mapped[str] = mapped_column(String(10))
    origin_country: Mapped[str] = mapped_column(String(2))
    departure_country: Mapped[str | None] = mapped_column(String(2))
    transport_mode: Mapped[str | None] = mapped_column(String(12))
    quantity: Mapped[float | None] = mapped_column(Float)  # optional: many datasets have none
    net_mass_kg: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    duty_rate: Mapped[float | None] = mapped_column(Float)
    label_fraud: Mapped[int] = mapped_column(Integer)  # 0 or 1
    label_critical: Mapped[int | None] = mapped_column(Integer)  # 0 none, 1 revenue, 2 prohibited goods
    revenue_recovered: Mapped[float | None] = mapped_column(Float)
    extras: Mapped[dict[str, Any] | None]
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
