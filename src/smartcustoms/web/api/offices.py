"""Routes for an office's clearance setting: whether red-lane declarations are reviewed before inspection.

Admins read and set every office's; a supervisor their own office's (another office's answers 404);
other roles 403. Every change is journaled (`clearance.office_set`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from smartcustoms.clearance import settings as clearance_settings
from smartcustoms.kit.clock import utcnow
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/offices", tags=["clearance"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "Role not allowed"},
    404: {"description": "Another office's (a supervisor's reach is their office)"},
    422: {"description": "Every problem, with code, pointer and message"},
}
Office = Annotated[str, Path(min_length=1, max_length=8, pattern="^[0-9A-Z]{1,8}$", description="Customs office code, e.g. 2248")]


class OfficeClearanceRead(BaseModel):
    """How the office orders its checks."""

    office: str
    review_first: bool  # red lane: a document review before the inspection (default false: inspection straight away)
    updated_at: datetime | None


class OfficeClearancePut(BaseModel):
    """The office's new setting."""

    model_config = ConfigDict(extra="forbid", strict=True)

    review_first: bool


@router.get("/{office}/clearance", response_model=OfficeClearanceRead, responses=ERRORS, summary="An office's clearance setting")
def get_setting(rt: RuntimeDep, who: PrincipalDep, office: Office) -> OfficeClearanceRead:
    """Whether the office reviews red-lane declarations before inspecting them."""
    clearance_settings.office_in_reach(who, office)
    with rt.read() as s:
        return OfficeClearanceRead.model_validate(clearance_settings.read(s, office=office))


@router.put("/{office}/clearance", response_model=OfficeClearanceRead, responses=ERRORS, summary="Set an office's clearance setting")
def put_setting(rt: RuntimeDep, who: PrincipalDep, office: Office, body: OfficeClearancePut) -> OfficeClearanceRead:
    """Set `review_first`; applies to declarations lodged from now on. Journaled with before and after."""
    clearance_settings.office_in_reach(who, office)
    with rt.write() as s:
        clearance_settings.set_review_first(s, office=office, on=body.review_first, actor=who.actor(), now=utcnow())
        return OfficeClearanceRead.model_validate(clearance_settings.read(s, office=office))
