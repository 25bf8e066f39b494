"""The enterprise, identified by its USCC."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime


class CreditRating(enum.StrEnum):
    """Customs credit rating: AEO traders get fewer checks, low-credit traders more."""

    aeo = "aeo"
    general = "general"
    low = "low"


class Enterprise(Base):
    """An enterprise known to customs."""

    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(80))
    credit: Mapped[CreditRating] = mapped_column(Enum(CreditRating, native_enum=False, length=10))
    out_of_town: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
