"""Clearance use cases: lodge and amend (with the assessment), then order the steps to release.

lodge → assess → (review) → (inspection) → release. `proceed` is the one place that decides the
next step of a declaration: open the next check the lane (or a finished check) asks for, wait for
open checks, or release when every release condition holds. Green is released in the lodging
request; yellow gets a review task; red an inspection task; blue is released and audited after.
Duties paid, guaranteed or nothing to pay is one of the conditions: a declaration only its unpaid
duties stop waits in `duty_assessed` until the bank's payment, which releases it (`pay`).
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor
from smartcustoms.auth.service import Principal
from smartcustoms.clearance import conditions, settings
from smartcustoms.declaration import domain as declaration_domain
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.duty import payments
from smartcustoms.duty import service as duty
from smartcustoms.duty.models import Guarantee, Payment
from smartcustoms.errors import NotFound, ValidationFailed
from smartcustoms.kit.db import appends_held
from smartcustoms.release import service as releases
from smartcustoms.review import service as review
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind, TaskStatus

CLEARANCE = Actor.system("clearance")
STATUS_OF = {
    TaskKind.review: Status.under_review,
    TaskKind.inspection: Status.under_inspection,
    TaskKind.image_review: Status.under_inspection,
}
AWAITING_PAYMENT = frozenset({"duty_unpaid"})  # only duties stop the release: the declaration waits in `duty_assessed`
STOPPED = frozenset({Status.held, Status.lodged, Status.accepted}) | declaration_domain.TERMINAL


def lodge(session: Session, *, raw: Any, principal: Principal, now: datetime) -> tuple[dict[str, Any], bool]:
    """Lodge a declaration, assess it and take it as far as its lane goes, in one transaction; (receipt, replayed).

    The receipt's `status` is where the declaration stands after routing (`released` on the green lane).
    """
    receipt, decl = declaration_service.intake(session, raw=raw, principal=principal, now=now)
    if decl is None:
        return receipt, True
    # Nothing the assessment reads depends on the declaration's new status, its events, journal
    # entries or outbox messages: all of them are written once, with the assessment, at commit.
    with session.no_autoflush, appends_held(session):
        a = selectivity.assess_and_route(session, decl=decl, now=now)
    proceed(session, declaration=decl, now=now)
    assess_duties(session, declaration=decl, now=now)
    shown = selectivity.view(a, principal=principal, decl=decl)
    receipt = {**receipt, "status": decl.status.value, "assessment": {k: shown[k] for k in ("lane", "check", "message")}}
    decl.receipt = receipt
    return receipt, False


def amend(session: Session, *, number: str, patch: dict[str, Any], reason: str, principal: Principal, now: datetime) -> Declaration:
    """Amend a declaration and assess the new version (risk, and duties if they were assessed); then its next step.

    The new version is routed like a fresh assessment (`proceed`): a check of its lane that is not
    done for it is opened (a check finished on an earlier version counts no more), one open goes on,
    a held declaration waits for the officer; one waiting for its duties is released if they are now
    covered, else it waits for them again. A refused amendment raises, and the request keeps nothing.
    """
    decl = selectivity.amend(session, number=number, patch=patch, reason=reason, principal=principal, now=now)
    assess_duties(session, declaration=decl, now=now)
    proceed(session, declaration=decl, now=now)
    return decl


def assess_duties(session: Session, *, declaration: Declaration, now: datetime) -> None:
    """Assess an import's duties for its current version (at lodging, after an amendment: the difference is recorded).

    Once per version; one that cannot be assessed is left to the duty release condition, which says why.
    """
    if declaration.kind != "import" or declaration.status in (Status.rejected, Status.withdrawn):
        return
    with contextlib.suppress(ValidationFailed, NotFound):
        duty.assess(session, declaration=declaration, now=now)


def review_first(session: Session, *, office: str) -> bool:
    """Whether the office reviews red-lane declarations before inspecting them (its setting; default: no)."""
    return settings.review_first(session, office=office)


def proceed(session: Session, *, declaration: Declaration, now: datetime, actor: Actor = CLEARANCE) -> str:
    """Take the declaration its next step; says which: `stopped`, `waiting`, `opened:<kind>`, `unmet` or `released`.

    Every area that finishes a check (review, inspection, image review) calls this afterwards.
    """
    decl = declaration
    if decl.status in STOPPED:
        return "stopped"
    lane = conditions.lane_of(session, decl)
    if lane is None:
        return "stopped"
    checks = conditions.checks_of(session, decl)
    if any(t.status is not TaskStatus.done for t in checks):
        return "waiting"
    if any((t.result or {}).get("passed") is False for t in checks):
        return "unmet"
    plan = conditions.required_checks(lane, checks, review_first=review_first(session, office=decl.office))
    for kind in plan:
        if not any(t.kind is kind for t in checks):
            to = STATUS_OF[kind]
            if decl.status is not to:
                declaration_service.transition(session, decl=decl, to=to, actor=actor, now=now, reason=f"Lane {lane}: {kind.value} opened.")
            tasks.open_task(session, declaration=decl, kind=kind, actor=actor, now=now)
            return f"opened:{kind.value}"
    found = conditions.unmet(session, decl)
    if found:
        if all(u.code in AWAITING_PAYMENT for u in found) and decl.status is not Status.duty_assessed:
            reason = " ".join(u.message for u in found)
            declaration_service.transition(session, decl=decl, to=Status.duty_assessed, actor=actor, now=now, reason=reason)
        return "unmet"
    release(session, declaration=decl, actor=actor, now=now)
    if lane == "blue" and not any(t.kind is TaskKind.audit for t in tasks.tasks_of(session, declaration_id=decl.id)):
        tasks.open_task(session, declaration=decl, kind=TaskKind.audit, actor=actor, now=now)
    return "released"


def release(session: Session, *, declaration: Declaration, actor: Actor, now: datetime) -> None:
    """Release the declaration (every condition holds): the release area issues the release."""
    releases.issue(session, declaration=declaration, actor=actor, now=now)


def decide(
    session: Session, *, task_id: int, decision: str, reason: str, question: str | None, principal: Principal, now: datetime
) -> Task:
    """A review decision on a task, then the declaration's next step (rejected on `reject`)."""
    task = tasks.get_for(session, task_id=task_id, principal=principal)
    review.decide(session, task=task, decision=decision, reason=reason, question=question, principal=principal, now=now)
    if decision in ("accept", "inspect", "reject"):
        decl = session.get(Declaration, task.declaration_id)
        assert decl is not None
        if decision != "inspect":  # an inspection records its own outcome when it is completed
            _review_outcome(session, decl=decl, rejected=decision == "reject", reason=reason, principal=principal, now=now)
        if decision == "reject":
            declaration_service.transition(session, decl=decl, to=Status.rejected, actor=principal.actor(), now=now, reason=reason)
        else:
            proceed(session, declaration=decl, now=now)
    return task


def _review_outcome(session: Session, *, decl: Declaration, rejected: bool, reason: str, principal: Principal, now: datetime) -> None:
    """What the review found, for the risk engine's labels: a hit when the declaration is rejected or when
    amendments made since lodging raised its duties (the revenue recovered: the sum of those increases)."""
    if principal.role not in selectivity.OUTCOME_ROLES or (principal.office and principal.office != decl.office):
        return  # outcomes are the office's officers' and supervisors' (record_outcome's rule); nobody else decides reviews
    increases = [a.difference_fen for a in duty.history(session, decl.id) if a.source == "amendment" and a.difference_fen > 0]
    recovered = duty.from_fen(sum(increases))
    selectivity.record_outcome(
        session,
        decl=decl,
        source="review",
        hit=rejected or recovered > 0,
        critical=0,
        revenue_recovered=recovered,
        finding=reason,
        principal=principal,
        now=now,
    )


def pay(
    session: Session, *, number: str, amount: str, reference: str, payer: str | None, principal: Principal, now: datetime
) -> tuple[Payment, bool]:
    """A bank's payment of a declaration's duties, then the declaration's next step: released if nothing else stops it.

    (payment, True) when the reference was already recorded (nothing changes then).
    """
    row, replayed = payments.pay(session, number=number, amount=amount, reference=reference, payer=payer, principal=principal, now=now)
    if not replayed:
        decl = session.get(Declaration, row.declaration_id)
        assert decl is not None
        proceed(session, declaration=decl, now=now)
    return row, replayed


def add_guarantee(session: Session, *, uscc: str, amount: str, expires: date | None, actor: Actor, now: datetime) -> Guarantee:
    """Register an enterprise's guarantee, then take each of its declarations waiting for duties (oldest first) a step on.

    Those the new balance covers are released now; the rest keep waiting.
    """
    row = payments.add_guarantee(session, uscc=uscc, amount=amount, expires=expires, actor=actor, now=now)
    waiting = select(Declaration).where(Declaration.status == Status.duty_assessed, Declaration.trader_uscc == uscc)
    for decl in session.scalars(waiting.order_by(Declaration.id)).all():
        proceed(session, declaration=decl, now=now)
    return row


def waiting_for(session: Session, declaration: Declaration) -> list[conditions.Unmet]:
    """The release conditions that do not hold now, as a read (changes nothing); empty once released, withdrawn or rejected."""
    if declaration.status in declaration_domain.TERMINAL:
        return []
    return conditions.unmet(session, declaration, preview=True)
