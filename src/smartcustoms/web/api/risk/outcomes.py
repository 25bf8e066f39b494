"""Routes of the outcomes of checks: what a review, inspection or audit of a declaration found."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from smartcustoms.auth.models import Role
from smartcustoms.declaration import service as declaration_service
from smartcustoms.errors import NotFound
from smartcustoms.kit.clock import utcnow
from smartcustoms.kit.types import round_money
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.web.api.risk.shared import ERRORS, Body
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_INT_MAX, PrincipalDep, RuntimeDep

outcomes_router = APIRouter(prefix="/api/v1/declarations", tags=["declarations"], route_class=StrictJSONRoute)


class OutcomeCreate(Body):
    """What a review, inspection or audit found."""

    source: str = Field(max_length=12, description="review, inspection or audit", examples=["inspection"])
    hit: bool = Field(description="The check found a discrepancy")
    critical: int = Field(
        default=0, ge=-DB_INT_MAX, le=DB_INT_MAX, description="0 none, 1 serious (revenue), 2 critical (prohibited goods)"
    )
    revenue_recovered: str = Field(
        default="0",
        pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,2})?$",
        description="Revenue recovered, CNY, as a decimal string with at most 2 decimals",
        examples=["1200.00"],
    )
    finding: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class OutcomeRead(BaseModel):
    """An outcome recorded for a declaration."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    source: str
    hit: bool
    critical: int
    revenue_recovered: str
    finding: str | None
    recorded_by: str
    recorded_at: datetime


def _outcome(o: Any) -> OutcomeRead:
    return OutcomeRead.model_validate(
        {**{k: getattr(o, k) for k in OutcomeRead.model_fields}, "revenue_recovered": str(o.revenue_recovered)}
    )


@outcomes_router.post("/{number}/outcomes", status_code=201, response_model=OutcomeRead, responses=ERRORS, summary="Record an outcome")
def record_outcome(rt: RuntimeDep, who: PrincipalDep, number: str, body: OutcomeCreate) -> OutcomeRead:
    """Record what a review, inspection or audit of the declaration found (its office's officers and inspectors, supervisors).

    Journaled, and copied into the labelled history the models learn from.
    """
    amount = round_money(Decimal(body.revenue_recovered))
    with rt.write() as s:
        decl = declaration_service.get_visible(s, number=number, principal=who)
        row = selectivity.record_outcome(
            s,
            decl=decl,
            source=body.source,
            hit=body.hit,
            critical=body.critical,
            revenue_recovered=amount if amount else Decimal("0.00"),
            finding=body.finding or None,
            principal=who,
            now=utcnow(),
        )
        return _outcome(row)


@outcomes_router.get("/{number}/outcomes", response_model=list[OutcomeRead], responses=ERRORS, summary="List outcomes")
def list_outcomes(rt: RuntimeDep, who: PrincipalDep, number: str) -> list[OutcomeRead]:
    """The outcomes recorded for the declaration, oldest first (officials who can see it; never enterprises)."""
    if who.role is Role.enterprise:
        raise NotFound(f"No outcomes of declaration {number}.")
    with rt.read() as s:
        decl = declaration_service.get_visible(s, number=number, principal=who)
        return [_outcome(o) for o in selectivity.outcomes(s, declaration_id=decl.id)]
