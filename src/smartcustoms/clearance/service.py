"""Clearance use cases: lodge and amend (with the assessment), then order the steps to release.

lodge → assess → (review) → (inspection) → release. `proceed` is the one place that decides the
next step of a declaration: open the next check the lane (or a finished check) asks for, wait for
open checks, or release when every release condition holds. Green is released in the lodging
request; yellow gets a review task; red an inspection task; blue is released and audited after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor
from smartcustoms.auth.service import Principal
from smartcustoms.clearance import conditions, settings
from smartcustoms.declaration import domain as declaration_domain
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Declaration, Status
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
    shown = selectivity.view(a, principal=principal, decl=decl)
    receipt = {**receipt, "status": decl.status.value, "assessment": {k: shown[k] for k in ("lane", "check", "message")}}
    decl.receipt = receipt
    return receipt, False


def amend(session: Session, *, number: str, patch: dict[str, Any], reason: str, principal: Principal, now: datetime) -> Declaration:
    """Amend a declaration and assess the new version; one newly assessed goes on to its lane's path."""
    decl = selectivity.amend(session, number=number, patch=patch, reason=reason, principal=principal, now=now)
    if decl.status is Status.assessed:
        proceed(session, declaration=decl, now=now)
    return decl


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
    if conditions.unmet(session, decl):
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
        if decision == "reject":
            declaration_service.transition(session, decl=decl, to=Status.rejected, actor=principal.actor(), now=now, reason=reason)
        else:
            proceed(session, declaration=decl, now=now)
    return task
