"""Enterprise request and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from smartcustoms.kit.text import VisibleStr
from smartcustoms.party.models import CreditRating


class EnterpriseCreate(BaseModel):
    """A new enterprise."""

    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(min_length=18, max_length=18, examples=["91310000MA1FL8XX29"])
    name: VisibleStr = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    region: str | None = Field(default=None, max_length=80)
    credit: CreditRating = CreditRating.general
    out_of_town: bool = False


class EnterpriseRead(BaseModel):
    """An enterprise as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    uscc: str
    name: str
    address: str | None
    region: str | None
    credit: CreditRating
    out_of_town: bool
    created_at: datetime
