"""Knowledge-base tables: reference prices, restricted goods, watch-listed parties."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime


class ReferencePrice(Base):
    """A robust reference unit price for an HS subheading (and origin, or '*'), learned from accepted history."""

    __tablename__ = "risk_reference_price"
    __table_args__ = (UniqueConstraint("hs6", "origin", "computed_on"), Index("ix_risk_reference_price_hs6", "hs6", "origin"))

    id: Mapped[int] = mapped_column(primary_key=True)
    hs6: Mapped[str] = mapped_column(String(6))
    origin: Mapped[str] = mapped_column(String(2))
    median: Mapped[float] = mapped_column(Float)
    mad: Mapped[float] = mapped_column(Float)  # median absolute deviation of log prices
    observations: Mapped[int] = mapped_column(Integer)
    basis_from: Mapped[date] = mapped_column(Date)
    basis_to: Mapped[date] = mapped_column(Date)
    computed_on: Mapped[date] = mapped_column(Date)


class RestrictedGood(Base):
    """Goods by HS prefix that need a licence, or are prohibited."""

    __tablename__ = "risk_restricted_good"
    __table_args__ = (Index("ix_risk_restricted_good_prefix", "hs_prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hs_prefix: Mapped[str] = mapped_column(String(10))
    licence: Mapped[str | None] = mapped_column(String(80))
    prohibited: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    added_by: Mapped[str] = mapped_column(String(120))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WatchlistEntry(Base):
    """A party on a named watch list, with the reason and how long it stands."""

    __tablename__ = "risk_watchlist_entry"
    __table_args__ = (Index("ix_risk_watchlist_entry_list", "list_name", "party_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_name: Mapped[str] = mapped_column(String(40))
    party_kind: Mapped[str] = mapped_column(String(12))  # importer, declarant, consignor, carrier
    identifier: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    added_by: Mapped[str] = mapped_column(String(120))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
