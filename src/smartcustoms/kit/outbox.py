"""The transactional outbox: messages written with the business change, delivered afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from smartcustoms.kit.db import Base
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


def enqueue(session: Session, *, topic: str, key: str, payload: dict[str, Any], now: datetime) -> OutboxMessage:
    """Write a message to the outbox inside the caller's transaction."""
    msg = OutboxMessage(topic=topic, key=key, payload=payload, created_at=now)
    session.add(msg)
    return msg
