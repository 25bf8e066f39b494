"""Queries: a reviewing officer's questions to the enterprise on a declaration, and their answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class Query(Base):
    """One question of a review task; the task waits until the declarant answers it."""

    __tablename__ = "review_query"
    __table_args__ = (Index("ix_review_query_declaration", "declaration_id", "id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    question: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[str] = mapped_column(String(120))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text, default=None)
    documents: Mapped[list[Any]] = mapped_column(default=list)  # ids of the declaration documents given with the answer
    answered_by: Mapped[str | None] = mapped_column(String(120), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
