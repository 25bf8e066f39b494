"""Feed and webhook bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict


class NotificationRead(BaseModel):
    """One status event in an enterprise's feed."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    event: str
    status: str
    payload: dict[str, Any]
    at: datetime


class NotificationPage(BaseModel):
    """Events after a cursor; pass `next_cursor` as `after` to resume."""

    items: list[NotificationRead]
    next_cursor: int


class WebhookCreate(BaseModel):
    """A new webhook endpoint."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl


class WebhookRead(BaseModel):
    """A webhook endpoint; the secret is shown only when it is created."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    active: bool
    created_at: datetime
    secret: str | None = None
