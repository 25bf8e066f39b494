"""Inspection photos (the archive's index, by step and container) and a supervisor's instructions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class Photo(Base):
    """One photo taken at one inspection step; the bytes are in the file store under `sha256`."""

    __tablename__ = "inspection_photo"
    __table_args__ = (Index("ix_inspection_photo_task", "task_id", "container", "step_id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    step_id: Mapped[str] = mapped_column(String(60))
    container: Mapped[str] = mapped_column(String(11))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    taken_by: Mapped[str] = mapped_column(String(120))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Instruction(Base):
    """A supervisor's instruction on a live inspection; the inspectors see it with the task."""

    __tablename__ = "inspection_instruction"
    __table_args__ = (Index("ix_inspection_instruction_task", "task_id", "id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    text: Mapped[str] = mapped_column(Text)
    step_id: Mapped[str | None] = mapped_column(String(60), default=None)  # the step it is about, if any
    given_by: Mapped[str] = mapped_column(String(120))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
