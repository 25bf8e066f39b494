"""Writing to the journal: every service that changes state calls `record` in its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from smartcustoms.audit.models import AuditEntry
from smartcustoms.kit.db import append

JOURNAL = cast(Table, AuditEntry.__table__)


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (with their user id) or the system itself."""

    id: int | None
    name: str
    role: str
    office: str | None = None
    enterprise_id: int | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The platform acting on its own (relay, scheduler, automatic acceptance)."""
        return cls(id=None, name=name, role="system")


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: str,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Append one entry to the journal inside the caller's transaction (committed or lost with it)."""
    append(
        session,
        JOURNAL,
        {
            "at": now,
            "actor_id": actor.id,
            "actor_name": actor.name,
            "role": actor.role,
            "office": actor.office,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "before": before,
            "after": after,
            "reason": reason,
        },
    )


def entries_for(session: Session, *, subject_type: str, subject_id: str) -> Sequence[AuditEntry]:
    """The journal of one subject, oldest first."""
    stmt = select(AuditEntry).where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id).order_by(AuditEntry.id)
    return session.scalars(stmt).all()


def latest(session: Session, *, limit: int = 100, after_id: int = 0) -> Sequence[AuditEntry]:
    """Journal entries after an id, oldest first (for supervisors and exports)."""
    stmt = select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id).limit(limit)
    return session.scalars(stmt).all()
