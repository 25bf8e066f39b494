"""Routes of the port gate: checks (gate users), the release feed of the gate's office, officers' holds at the gate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.gate import service
from smartcustoms.gate.models import GateHold
from smartcustoms.gate.schemas import CheckRead, FeedItemRead, FeedRead, HoldRead
from smartcustoms.kit.clock import utcnow
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_BIGINT_MAX, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/gate", tags=["gate"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "Not a gate user (checks, feed) or not an officer (holds)"},
    422: {"description": "Nothing to check by, or a value that is not a container number, plate, release number or seal"},
}


def _stamp(at: Any) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValidationFailed(
            "The gate check cannot be made; nothing was recorded.", [Problem("REQ-003", "", "The body must be a JSON object.")]
        )
    return payload


@router.post("/checks", response_model=CheckRead, responses=ERRORS, summary="May this truck's container leave?")
def check(
    rt: RuntimeDep,
    who: PrincipalDep,
    payload: Annotated[Any, Body(openapi_examples={"container": {"value": {"container": "MSKU1234565", "seal": "ML-CN4471208"}}})],
) -> CheckRead:
    """Check a truck at the gate by container, plate and/or release (and the seal found): pass records the gate-out, once; hold gives every reason."""
    service.require_gate(who)
    ask = service.ask_of(_object(payload))
    done = rt.station.check(rt.write, ask=ask, principal=who, now=utcnow())
    return CheckRead.of(done.outcome, offline=done.offline, ref=done.ref)


@router.get("/feed", response_model=FeedRead, responses=ERRORS, summary="Release messages for the gate's office")
def feed(
    rt: RuntimeDep,
    who: PrincipalDep,
    after: Annotated[int, Query(ge=0, le=DB_BIGINT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=service.FEED_LIMIT)] = 100,
) -> FeedRead:
    """The releases of the gate's office after a cursor, in order; resume with `after=next` (the same messages are pushed on `smartcustoms.gate.<office>`)."""
    with rt.read() as s:
        rows, cursor = service.feed_for(s, principal=who, after=after, limit=limit)
        items = [FeedItemRead(id=r.id, number=r.number, at=_stamp(r.at) or "", release=r.payload) for r in rows]
    return FeedRead(items=items, next=cursor)


def _hold_view(h: GateHold) -> HoldRead:
    return HoldRead(
        id=h.id,
        container=h.container,
        office=h.office,
        reason=h.reason,
        held_by=h.held_by,
        held_at=_stamp(h.held_at) or "",
        lifted_at=_stamp(h.lifted_at),
    )


@router.get("/holds", response_model=list[HoldRead], responses=ERRORS, summary="Holds in force at the gate")
def holds(rt: RuntimeDep, who: PrincipalDep) -> list[HoldRead]:
    """The holds in force officers put on containers (an officer: their office's and every gate's)."""
    with rt.read() as s:
        return [_hold_view(h) for h in service.holds(s, principal=who)]


@router.post("/holds", response_model=HoldRead, status_code=201, responses=ERRORS, summary="Hold a container at the gate")
def hold(
    rt: RuntimeDep,
    who: PrincipalDep,
    container: Annotated[Any, Body(embed=True)] = None,
    reason: Annotated[Any, Body(embed=True)] = None,
    office: Annotated[Any, Body(embed=True)] = None,
) -> HoldRead:
    """Hold a container at the gate with a reason (officers at their office's gate; supervisors and admins at one office's or every gate)."""
    with rt.write() as s:
        return _hold_view(service.hold(s, container=container, reason=reason, office=office, principal=who, now=utcnow()))


@router.delete(
    "/holds/{hold_id}", response_model=HoldRead, responses={**ERRORS, 404: {"description": "No such hold in force"}}, summary="Lift a hold"
)
def lift(rt: RuntimeDep, who: PrincipalDep, hold_id: Annotated[int, Path(ge=1, le=DB_BIGINT_MAX)]) -> HoldRead:
    """Lift a hold at the gate (officers: their office's holds)."""
    with rt.write() as s:
        return _hold_view(service.lift(s, hold_id=hold_id, principal=who, now=utcnow()))
