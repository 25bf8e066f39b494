"""Outcomes: what reviews, inspections and audits found, journaled and copied into the labelled history the model learns from."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import record
from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.errors import Conflict, Forbidden, Problem, ValidationFailed
from smartcustoms.risk import facts as facts_mod
from smartcustoms.risk.history import service as history
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.selectivity.models import Outcome

OUTCOME_ROLES = frozenset({Role.officer, Role.inspector, Role.supervisor})


def record_outcome(
    session: Session,
    *,
    decl: Declaration,
    source: str,
    hit: bool,
    critical: int,
    revenue_recovered: Decimal,
    finding: str | None,
    principal: Principal,
    now: datetime,
) -> Outcome:
    """Record what a review, inspection or audit found; journaled, and copied into labelled history."""
    if principal.role not in OUTCOME_ROLES:
        raise Forbidden("Only officers, inspectors and supervisors record outcomes.")
    if principal.role is not Role.supervisor and principal.office != decl.office:
        raise Forbidden("Only the officers of the declaration's office record its outcomes.")
    problems = []
    if source not in ("review", "inspection", "audit"):
        problems.append(Problem("RSK-OUT-001", "/source", "source must be review, inspection or audit."))
    if critical not in (0, 1, 2):
        problems.append(Problem("RSK-OUT-002", "/critical", "critical must be 0 (none), 1 (serious) or 2 (critical)."))
    if revenue_recovered < 0:
        problems.append(Problem("RSK-OUT-003", "/revenue_recovered", "Revenue recovered cannot be negative."))
    if not hit and (critical or revenue_recovered):
        problems.append(Problem("RSK-OUT-004", "/hit", "A check that found nothing cannot be critical or recover revenue."))
    if problems:
        raise ValidationFailed("The outcome has problems.", problems)
    if decl.status in (Status.lodged, Status.accepted, Status.rejected, Status.withdrawn):
        raise Conflict(f"Declaration {decl.number} is {decl.status.value}; it has not been assessed, so there is no check to record.")
    row = Outcome(
        declaration_id=decl.id,
        number=decl.number,
        source=source,
        hit=hit,
        critical=critical,
        revenue_recovered=revenue_recovered,
        finding=finding,
        recorded_by=principal.name,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=principal.actor(),
        action="risk.outcome_recorded",
        subject_type="declaration",
        subject_id=decl.number,
        now=now,
        before=None,
        after={"source": source, "hit": hit, "critical": critical, "revenue_recovered": str(revenue_recovered)},
        reason=finding,
    )
    # The learning copy: one labelled history row per item, facts as they were declared.
    ctx = knowledge.context(session, on=decl.lodged_at.date())
    rows = facts_mod.item_facts(decl.payload, ctx)
    total = sum(float(r.get("value") or 0.0) for r in rows) or 1.0
    for r in rows:
        share = float(r.get("value") or 0.0) / total
        history.record_outcome_row(
            session,
            declaration_id=f"{decl.number}/{r.get('line')}",
            declared_on=decl.lodged_at.date(),
            facts=r,
            label_fraud=hit,
            label_critical=critical,
            revenue_recovered=float(revenue_recovered) * share,
            now=now,
        )
    return row


def outcomes(session: Session, *, declaration_id: int) -> list[Outcome]:
    """The outcomes recorded for a declaration, oldest first."""
    return list(session.scalars(select(Outcome).where(Outcome.declaration_id == declaration_id).order_by(Outcome.id)))
