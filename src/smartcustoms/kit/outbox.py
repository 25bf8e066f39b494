"""The transactional outbox: messages written with the business change, delivered afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, Session, mapped_column

from smartcustoms.kit.db import Base, append
from smartcustoms.kit.types import UTCDateTime


class OutboxMessage(Base):
    """A message to publish once the transaction that wrote it has committed."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_pending", "published_at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(default=0)


def enqueue(session: Session, *, topic: str, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Write a message to the outbox inside the caller's transaction."""
    append(session, _OUTBOX, {"topic": topic, "key": key, "payload": payload, "created_at": now, "published_at": None, "attempts": 0})


_OUTBOX = cast(Table, OutboxMessage.__table__)
