"""Each office's clearance setting: whether red-lane declarations are reviewed before inspection."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.clearance.models import OfficeClearance
from smartcustoms.errors import Problem, ValidationFailed


def review_first(session: Session, *, office: str) -> bool:
    """Whether the office reviews red-lane declarations before inspecting them (default: no, inspection straight away)."""
    row = session.get(OfficeClearance, office)
    return bool(row is not None and row.review_first)


def set_review_first(session: Session, *, office: str, on: bool, actor: Actor, now: datetime) -> bool:
    """Set the office's `review_first`; journaled with before and after. Returns the new value."""
    if not office or len(office) > 8:
        raise ValidationFailed(
            "The office setting cannot be set.", [Problem("CLR-OFF-001", "/office", "An office code has 1 to 8 characters.")]
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
