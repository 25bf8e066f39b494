"""The electronic mandate (paperless agency agreement) an importer grants a broker."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime


class Mandate(Base):
    """An importer's authorisation for a broker to lodge its declarations, for a period.

    `valid_to` is the first day it no longer applies (like every validity period here); `None`
    means open-ended. `procedures` and `offices` restrict it when given. Revoked mandates stay.
    """

    __tablename__ = "mandate"
    __table_args__ = (
        Index("ix_mandate_parties", "importer_enterprise_id", "broker_enterprise_id"),
        Index("ix_mandate_broker", "broker_enterprise_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    importer_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    broker_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)
    procedures: Mapped[list[Any] | None] = mapped_column(default=None)
    offices: Mapped[list[Any] | None] = mapped_column(default=None)
    granted_by: Mapped[str] = mapped_column(String(120))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(120), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revocation_reason: Mapped[str | None] = mapped_column(Text, default=None)
