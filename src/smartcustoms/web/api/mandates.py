"""Routes for electronic mandates: an importer authorises a broker to declare in its name."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from smartcustoms.kit.clock import utcnow
from smartcustoms.mandate import service
from smartcustoms.mandate.schemas import MandateCreate, MandateRead, MandateRevocation
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_INT_MAX, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/mandates", tags=["mandates"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "The caller's role may not do this (only the importer grants and revokes)"},
    404: {"description": "No such mandate, or not one the caller's enterprise is party to"},
    409: {"description": "Already revoked; nothing changed"},
    422: {"description": "Every problem with the request, each with code, pointer and message"},
}
MandateId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]


@router.post("", status_code=201, response_model=MandateRead, responses=ERRORS, summary="Grant a mandate")
def grant(rt: RuntimeDep, who: PrincipalDep, body: MandateCreate) -> MandateRead:
    """The caller's enterprise (the importer) authorises a broker to lodge its declarations, for a period,
    optionally only for some procedures or at some offices."""
    now = utcnow()
    with rt.write() as s:
        found = service.grant_as(
            s,
            principal=who,
            broker_uscc=body.broker,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            procedures=body.procedures,
            offices=body.offices,
            now=now,
        )
        return service.read(found, today=now.date())


@router.get("", response_model=list[MandateRead], responses=ERRORS, summary="List mandates")
def list_mandates(
    rt: RuntimeDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> list[MandateRead]:
    """The mandates the caller's enterprise granted and received, newest first (admins: every one)."""
    today = utcnow().date()
    with rt.read() as s:
        return [service.read(m, today=today) for m in service.listed(s, principal=who, limit=limit, offset=offset)]


@router.get("/{mandate_id}", response_model=MandateRead, responses=ERRORS, summary="Get a mandate")
def get_mandate(rt: RuntimeDep, who: PrincipalDep, mandate_id: MandateId) -> MandateRead:
    """One mandate, for its importer, its broker and admins."""
    with rt.read() as s:
        return service.read(service.get_for(s, mandate_id=mandate_id, principal=who), today=utcnow().date())


@router.post("/{mandate_id}/revocation", response_model=MandateRead, responses=ERRORS, summary="Revoke a mandate")
def revoke(
    rt: RuntimeDep, who: PrincipalDep, mandate_id: MandateId, body: Annotated[MandateRevocation | None, Body()] = None
) -> MandateRead:
    """The importer ends a mandate at once (journaled; the mandate stays on record). Declarations already lodged stay."""
    now = utcnow()
    with rt.write() as s:
        found = service.revoke(s, mandate_id=mandate_id, reason=body.reason if body else None, principal=who, actor=who.actor(), now=now)
        return service.read(found, today=now.date())
