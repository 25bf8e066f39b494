"""After a discrepancy: an officer decides amend-and-continue (the declaration corrected to what was found) or reject.

Amend-and-continue writes a new version of the declaration in which each line a finding is about
carries the found quantity, value, origin or description (the officer's correction, with the
reason, journaled as an amendment), marks the inspection passed with the decision, and lifts the
hold; the caller then asks clearance for the next step. Reject closes the declaration.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from smartcustoms.auth.roles import DECIDERS
from smartcustoms.auth.service import Principal
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.declaration.service import revise, transition
from smartcustoms.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind, TaskStatus

DECISIONS = ("amend_and_continue", "reject")
_FIELD = {"quantity": "quantity", "value": "value", "origin": "origin", "description": "description"}


def corrected(payload: dict[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The declaration content with each line finding's found value in place of the declared one (pure)."""
    out = copy.deepcopy(payload)
    by_line = {int(i["line"]): i for i in out.get("items") or []}
    for f in findings:
        field = _FIELD.get(f.get("type", ""))
        if field is not None and f.get("line") in by_line and f.get("found") is not None:
            by_line[f["line"]][field] = f["found"]
    return out


def _amend_as_found(
    session: Session, *, decl: Declaration, findings: list[dict[str, Any]], reason: str, principal: Principal, now: datetime
) -> bool:
    """Write the corrected version (the declaration area's one amendment path); False when the findings correct no line."""
    payload = corrected(decl.payload, findings)
    if payload == decl.payload:
        return False
    revise(
        session,
        decl=decl,
        content=payload,
        reason=reason,
        principal=principal,
        now=now,
        by_declarant=False,
        note=f"Corrected to the inspection's findings: {reason}",
        changed=sorted({f"items/{f['line']}/{_FIELD[f['type']]}" for f in findings if f.get("type") in _FIELD}),
        invalid="The declaration corrected to the findings is not valid; reject it or have the declarant amend it.",
    )
    return True


def resolve(session: Session, *, task_id: int, decision: Any, reason: Any, principal: Principal, now: datetime) -> tuple[Task, Declaration]:
    """An officer's decision on a declaration held by this inspection's findings; journaled, once."""
    if principal.role not in DECIDERS:
        raise Forbidden("Only officers, supervisors and admins decide on a held declaration.", code="resolution_forbidden")
    task = session.get(Task, task_id)
    if task is None or not (tasks.supervises(principal, task) or principal.office == task.office):
        raise NotFound(f"No task {task_id}.", code="task_not_found")  # officers decide on their own office's declarations
    if task.kind is not TaskKind.inspection:
        raise NotFound(f"Task {task_id} is a {task.kind.value} task, not an inspection.", code="not_an_inspection")
    problems = []
    if decision not in DECISIONS:
        problems.append(Problem("INS-RSV-001", "/decision", "decision must be amend_and_continue or reject."))
    if not isinstance(reason, str) or not 3 <= len(reason.strip()) <= 500:
        problems.append(Problem("INS-RSV-002", "/reason", "Give a reason of 3 to 500 characters."))
    if problems:
        raise ValidationFailed("The decision cannot be taken.", problems)
    assert isinstance(reason, str)
    result = dict(task.result or {})
    decl = session.get(Declaration, task.declaration_id)
    assert decl is not None
    if task.status is not TaskStatus.done or not result.get("hit"):
        raise Conflict(f"Inspection {task.id} found no discrepancy to decide on.", code="nothing_to_resolve")
    if "resolution" in result or decl.status is not Status.held:
        raise Conflict(
            f"Declaration {decl.number} is {decl.status.value}; the inspection's findings are decided already.", code="already_resolved"
        )
    reason = reason.strip()
    amended = False
    if decision == "amend_and_continue":
        amended = _amend_as_found(
            session, decl=decl, findings=list(result.get("findings") or []), reason=reason, principal=principal, now=now
        )
    result["resolution"] = {"decision": decision, "reason": reason, "by": principal.name, "at": now.isoformat(), "amended": amended}
    result["passed"] = decision == "amend_and_continue"
    task.result = result
    try:
        session.flush()
    except StaleDataError as exc:  # a concurrent decision won
        raise Conflict(
            f"Task {task_id} was decided by another request at the same time; nothing was changed.", code="task_conflict"
        ) from exc
    to = Status.rejected if decision == "reject" else Status.under_inspection
    transition(
        session, decl=decl, to=to, actor=principal.actor(), now=now, reason=f"After inspection: {decision.replace('_', ' ')}: {reason}"
    )
    return task, decl
