"""Each office's clearance setting: whether red-lane declarations are reviewed before inspection."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.roles import SUPERVISORS, supervised_office
from smartcustoms.auth.service import Principal
from smartcustoms.clearance.models import OfficeClearance
from smartcustoms.errors import NotFound, Problem, ValidationFailed

OFFICE_CODE = re.compile(r"[0-9A-Z]{1,8}", re.ASCII)


def office_in_reach(principal: Principal, office: str) -> str:
    """The office, if the principal may read and set its clearance setting: admins every office, a supervisor
    their own (403 for other roles, 404 for another office's, as if it had none)."""
    principal.require(*SUPERVISORS)
    within = supervised_office(principal.role, principal.office)
    if within is not None and office != within:
        raise NotFound(f"No office {office} in your reach.")
    return office


def read(session: Session, *, office: str) -> dict[str, object]:
    """The office's setting as the API shows it (the default when never set)."""
    row = session.get(OfficeClearance, office)
    return {
        "office": office,
        "review_first": bool(row is not None and row.review_first),
        "updated_at": None if row is None else row.updated_at,
    }


def review_first(session: Session, *, office: str) -> bool:
    """Whether the office reviews red-lane declarations before inspecting them (default: no, inspection straight away)."""
    row = session.get(OfficeClearance, office)
    return bool(row is not None and row.review_first)


def set_review_first(session: Session, *, office: str, on: bool, actor: Actor, now: datetime) -> bool:
    """Set the office's `review_first`; journaled with before and after. Returns the new value."""
    if not OFFICE_CODE.fullmatch(office):
        raise ValidationFailed(
            "The office setting cannot be set.",
            [Problem("CLR-OFF-001", "/office", "An office code has 1 to 8 capital letters or digits, e.g. 2248.")],
        )
    row = session.get(OfficeClearance, office)
    before = None if row is None else row.review_first
    if row is None:
        row = OfficeClearance(office=office, review_first=on, updated_at=now)
        session.add(row)
    row.review_first, row.updated_at = on, now
    session.flush()
    record(
        session,
        actor=actor,
        action="clearance.office_set",
        subject_type="office",
        subject_id=office,
        now=now,
        before=None if before is None else {"review_first": before},
        after={"review_first": on},
    )
    return on
