"""Tariff lines (8 or 10 digits) and preferential rates, each for a validity period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import DecimalText


class TariffLine(Base):
    """One national tariff line for one validity period; rates in percent (None: no such rate)."""

    __tablename__ = "tariff_line"
    __table_args__ = (UniqueConstraint("code", "valid_from"), Index("ix_tariff_line_code", "code", "valid_from"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    mfn_rate: Mapped[Decimal | None] = mapped_column(DecimalText())
    general_rate: Mapped[Decimal | None] = mapped_column(DecimalText())
    provisional_rate: Mapped[Decimal | None] = mapped_column(DecimalText())
    specific_rate: Mapped[Decimal | None] = mapped_column(DecimalText())  # CNY per specific_unit
    specific_unit: Mapped[str | None] = mapped_column(String(3))
    consumption_rate: Mapped[Decimal | None] = mapped_column(DecimalText())
    vat_rate: Mapped[Decimal | None] = mapped_column(DecimalText())
    licence: Mapped[str | None] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)


class PreferentialRate(Base):
    """A preferential (agreement) rate of a tariff code for goods of the listed origins."""

    __tablename__ = "tariff_preference"
    __table_args__ = (UniqueConstraint("code", "agreement", "valid_from"), Index("ix_tariff_preference_code", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10))
    agreement: Mapped[str] = mapped_column(String(20))
    origins: Mapped[str] = mapped_column(Text)  # ISO 3166 alpha-2 codes, space separated
    rate: Mapped[Decimal] = mapped_column(DecimalText())
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)
