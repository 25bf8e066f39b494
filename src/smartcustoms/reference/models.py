"""Reference tables; every row has a validity period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import DecimalText


class HsCode(Base):
    """An HS chapter (2), heading (4) or subheading (6) for one edition's validity period."""

    __tablename__ = "hs_code"
    __table_args__ = (UniqueConstraint("code", "valid_from"), Index("ix_hs_code_code", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6))
    level: Mapped[int]
    parent: Mapped[str | None] = mapped_column(String(6))
    section: Mapped[str | None] = mapped_column(String(5))
    description: Mapped[str] = mapped_column(Text)
    edition: Mapped[str] = mapped_column(String(10))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)


class CodeListEntry(Base):
    """An entry of a small code list: country, currency, unit, incoterm, transport_mode."""

    __tablename__ = "code_list_entry"
    __table_args__ = (UniqueConstraint("list_name", "code", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_name: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)


class CustomsOffice(Base):
    """A customs office, by its 4-digit code."""

    __tablename__ = "customs_office"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    locode: Mapped[str | None] = mapped_column(String(5))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)


class Port(Base):
    """A UN/LOCODE location: port, airport, rail or road terminal, inland place."""

    __tablename__ = "port"

    locode: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), index=True)
    subdivision: Mapped[str | None] = mapped_column(String(5))
    function: Mapped[str | None] = mapped_column(String(8))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class ExchangeRate(Base):
    """The customs exchange rate of a currency for a month, in CNY per unit."""

    __tablename__ = "exchange_rate"
    __table_args__ = (UniqueConstraint("currency", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    month: Mapped[str] = mapped_column(String(7))
    rate: Mapped[Decimal] = mapped_column(DecimalText())
