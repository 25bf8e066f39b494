"""Mandate request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The customs procedures of a declaration (declaration.models.Procedure; the mandate area sits below it).
ProcedureName = Literal["general", "processing_trade", "bonded", "transit", "ecommerce"]


class MandateCreate(BaseModel):
    """A mandate the caller's enterprise (the importer) grants a broker."""

    model_config = ConfigDict(extra="forbid")

    broker: str = Field(min_length=18, max_length=18, description="USCC of the broker", examples=["91310000MA1FL8XX29"])
    valid_from: date
    valid_to: date | None = Field(default=None, description="First day the mandate no longer applies; none: until revoked")
    procedures: list[ProcedureName] | None = Field(default=None, min_length=1, max_length=5, description="Only these procedures")
    offices: list[str] | None = Field(default=None, min_length=1, max_length=50, description="Only at these customs offices")


class MandateRevocation(BaseModel):
    """Why a mandate is revoked (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, min_length=3, max_length=500)


class MandateRead(BaseModel):
    """A mandate as its parties and admins see it."""

    id: int
    importer: str
    broker: str
    valid_from: date
    valid_to: date | None
    procedures: list[str] | None
    offices: list[str] | None
    status: Literal["in_force", "pending", "expired", "revoked"]
    granted_by: str
    granted_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None
    revocation_reason: str | None
