"""Risk-rule bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from smartcustoms.kit.text import IsoDate, Visible
from smartcustoms.risk.parameter.models import Lane, RuleStatus

RuleCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}-[A-Z]{2,6}-[0-9]{3}$")]


class RuleCreate(BaseModel):
    """A new risk rule, or a new version of an existing code; takes effect once a second analyst approves it."""

    model_config = ConfigDict(extra="forbid")

    code: RuleCode = Field(examples=["PRM-VAL-003"])
    name: Annotated[str, StringConstraints(min_length=3, max_length=120), Visible]
    reason: Annotated[str, StringConstraints(min_length=3, max_length=500)] = Field(description="Why it flags: the sentence officers read")
    instructions: Annotated[str, StringConstraints(min_length=3, max_length=1000)] = Field(
        description="What the officer or inspector should check"
    )
    condition: dict[str, Any] = Field(description="all/any/not of fact tests, e.g. {'fact': 'price_ratio', 'op': 'lt', 'value': 0.5}")
    lane: Lane | None = Field(default=None, description="Lane the rule sends a hit to at least")
    weight: float = Field(default=0.0, ge=0.0, le=1.0, description="Contribution to the risk score")
    offices: list[str] | None = Field(default=None, description="Offices where it applies; all when null")
    valid_from: IsoDate
    valid_to: IsoDate | None = None
    legal_reference: str | None = Field(default=None, max_length=200)


class RuleRead(BaseModel):
    """A version of a risk rule."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    version: int
    status: RuleStatus
    name: str
    reason: str
    instructions: str
    condition: dict[str, Any]
    lane: Lane | None
    weight: float
    offices: list[str] | None
    valid_from: date
    valid_to: date | None
    legal_reference: str | None
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class Decision(BaseModel):
    """An approval, rejection or retirement, with a note."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(min_length=3, max_length=500)]


class RuleTest(BaseModel):
    """Try a condition against history: what would it have hit, and how many were real discrepancies?"""

    model_config = ConfigDict(extra="forbid")

    condition: dict[str, Any]
    date_from: IsoDate
    date_to: IsoDate
