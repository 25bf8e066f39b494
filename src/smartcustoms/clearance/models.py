"""Each office's clearance settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime


class OfficeClearance(Base):
    """How an office orders its checks: `review_first` reviews red-lane declarations before inspecting them."""

    __tablename__ = "clearance_office"

    office: Mapped[str] = mapped_column(String(8), primary_key=True)
    review_first: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
