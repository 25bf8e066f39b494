"""Routes for the roster: officers' HS chapters, workload caps and duty (admins; supervisors for their own office)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from smartcustoms.kit.clock import utcnow
from smartcustoms.roster import service
from smartcustoms.roster.schemas import OfficerPatch, OfficerRead
from smartcustoms.task import service as tasks
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/officers", tags=["roster"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "Role not allowed"},
    404: {"description": "No such officer, or another office's"},
    422: {"description": "Every problem, with code, pointer and message"},
}


@router.get("", response_model=list[OfficerRead], responses=ERRORS)
def list_officers(rt: RuntimeDep, who: PrincipalDep, office: Annotated[str | None, Query(max_length=8)] = None) -> list[OfficerRead]:
    """Officers, inspectors and image analysts by name, with chapters, cap, duty and open tasks (a supervisor: their office's)."""
    within = service.scope(who)
    with rt.read() as s:
        return service.list_officers(s, office=office, within=within)


@router.get("/{name}", response_model=OfficerRead, responses=ERRORS)
def get_officer(rt: RuntimeDep, who: PrincipalDep, name: str) -> OfficerRead:
    """One officer (404 for a supervisor asking about another office's)."""
    within = service.scope(who)
    with rt.read() as s:
        return service.get_officer(s, name=name, within=within)


@router.patch("/{name}", response_model=OfficerRead, responses=ERRORS)
def patch_officer(rt: RuntimeDep, who: PrincipalDep, name: str, body: OfficerPatch) -> OfficerRead:
    """Change an officer's `chapters` (e.g. `84-85,90`), `capacity` or `duty` (on|off); the first change puts them on the roster. Journaled."""
    within = service.scope(who)
    with rt.write() as s:
        return tasks.set_officer(
            s, name=name, chapters=body.chapters, capacity=body.capacity, duty=body.duty, within=within, actor=who.actor(), now=utcnow()
        )
