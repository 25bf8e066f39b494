"""X-ray scans: one image per container from a scanner station, its review task, regions and verdict."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class Scan(Base):
    """A scan image of one container of a declaration; reviewed once, then kept with its regions (training data)."""

    __tablename__ = "xray_scan"
    __table_args__ = (Index("ix_xray_scan_declaration", "declaration_id", "container"), Index("ix_xray_scan_verdict", "verdict", "id"))

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    container: Mapped[str] = mapped_column(String(11))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    station: Mapped[str] = mapped_column(String(120))  # the scanner station's user
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"), default=None)  # its image-review task
    verdict: Mapped[str | None] = mapped_column(String(10), default=None)  # clear | suspect, once reviewed
    regions: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    reviewed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
