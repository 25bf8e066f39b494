"""What the gate API answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from smartcustoms.gate.domain import Outcome


class ReasonRead(BaseModel):
    """Why the gate holds a truck."""

    code: str = Field(examples=["GATE-CHK-001"])
    message: str


class GateReleaseRead(BaseModel):
    """The release line the gate read."""

    number: str = Field(examples=["22482026R000000001"])
    declaration: str
    office: str
    released_at: str
    container: str | None
    plate: str | None
    seals: list[str]


class CheckRead(BaseModel):
    """The gate's answer: pass (the container's gate-out is recorded) or hold, with every reason."""

    decision: str = Field(examples=["pass"], description="pass | hold")
    reasons: list[ReasonRead]
    release: GateReleaseRead | None
    offline: bool = Field(default=False, description="decided from the gate's local copy while the database was unreachable")
    ref: str | None = Field(default=None, description="an offline decision's reference, reconciled into the register later")

    @classmethod
    def of(cls, outcome: Outcome, *, offline: bool = False, ref: str | None = None) -> CheckRead:
        """The answer to a gate decision."""
        return cls.model_validate(
            {
                "decision": outcome.decision,
                "reasons": [r.as_dict() for r in outcome.reasons],
                "release": outcome.line.view() if outcome.line else None,
                "offline": offline,
                "ref": ref,
            }
        )


class FeedItemRead(BaseModel):
    """A release message for the terminals of the gate's office."""

    id: int
    number: str
    at: str
    release: dict[str, Any]


class FeedRead(BaseModel):
    """A page of the release feed; resume with `after=next`."""

    items: list[FeedItemRead]
    next: int


class HoldRead(BaseModel):
    """An officer's hold on a container at the gate."""

    id: int
    container: str
    office: str | None
    reason: str
    held_by: str
    held_at: str
    lifted_at: str | None = None
