"""The enterprise feed, webhook subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class Notification(Base):
    """A status event for one enterprise; ids are assigned by the single relay, so they are in order."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_feed", "enterprise_uscc", "id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    enterprise_uscc: Mapped[str] = mapped_column(String(18))
    outbox_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(18))
    event: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]]
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookSubscription(Base):
    """An enterprise's endpoint for status events."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_uscc: Mapped[str] = mapped_column(String(18), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """One notification to push to one subscription, retried with backoff until it lands or a day passes."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "done", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscription.id"))
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"))
    attempts: Mapped[int] = mapped_column(default=0)
    done: Mapped[bool] = mapped_column(default=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
