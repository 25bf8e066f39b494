"""Release conditions: a registry each area adds its own condition to, without touching the others.

A condition is `(session, declaration) -> list[Unmet]`: empty when it holds. The declaration is
released when every registered condition holds. This module registers today's: every check the
lane asked for is done and passed, nothing is held, the declaration is not withdrawn or rejected.
Duties paid, guaranteed or nothing to pay is registered here too (duty is a lower layer, so this
module imports it: every process that can release, web, CLI, workers, tests, imports this module).

A condition that changes something to hold (the duty condition secures unpaid duties against a
guarantee) registers a `preview` too: a read that changes nothing. `unmet(..., preview=True)`
uses only previews (the declaration read shows why it is not released), and a condition with a
preview acts only when every condition before it holds, so a guarantee is never debited for a
declaration something else still stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.duty import service as duty
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind, TaskStatus


@dataclass(frozen=True)
class Unmet:
    """A release condition that does not hold: a stable code and a sentence saying why."""

    code: str
    message: str


Condition = Callable[[Session, Declaration], list[Unmet]]
_registry: dict[str, tuple[Condition, Condition | None]] = {}
_lock = threading.Lock()


def register(name: str, condition: Condition, *, preview: Condition | None = None) -> Condition:
    """Add (or replace) a named release condition, with its side-effect-free `preview` if it changes anything; returns it."""
    with _lock:
        _registry[name] = (condition, preview)
    return condition


def unregister(name: str) -> None:
    """Remove a named release condition (nothing when there is none)."""
    with _lock:
        _registry.pop(name, None)


def registered() -> dict[str, Condition]:
    """The conditions by name, in the order they were registered."""
    with _lock:
        return {name: c for name, (c, _) in _registry.items()}


def unmet(session: Session, declaration: Declaration, *, preview: bool = False) -> list[Unmet]:
    """Every release condition that does not hold for the declaration (empty: it may be released).

    `preview`: change nothing (a read). Otherwise a condition with a preview acts only when the
    conditions before it hold; after one that does not, its preview answers.
    """
    with _lock:
        entries = list(_registry.values())
    found: list[Unmet] = []
    for condition, look in entries:
        use = look if look is not None and (preview or found) else condition
        found += use(session, declaration)
    return found


# The checks a lane asks for before release, in the order they are worked.
LANE_CHECKS: dict[str, tuple[TaskKind, ...]] = {
    "green": (),
    "blue": (),  # released at once; the audit comes after release
    "yellow": (TaskKind.review,),
    "red": (TaskKind.inspection,),
}
RELEASE_CHECKS = frozenset({TaskKind.review, TaskKind.inspection, TaskKind.image_review})  # audits never stop a release


def lane_of(session: Session, declaration: Declaration) -> str | None:
    """The lane of the declaration's newest assessment (None before it is assessed)."""
    a = selectivity.latest(session, declaration_id=declaration.id)
    return None if a is None else a.lane


def required_checks(lane: str, checks: list[Task], *, review_first: bool = False) -> list[TaskKind]:
    """The checks to be done before release, in order: the lane's, then those a finished check asked for next.

    `review_first`: the office reviews red-lane declarations before inspecting them.
    """
    plan = list(LANE_CHECKS.get(lane, ()))
    if lane == "red" and review_first:
        plan.insert(0, TaskKind.review)
    for t in checks:
        nxt = str((t.result or {}).get("next") or "") if t.status is TaskStatus.done else ""
        if nxt in TaskKind.__members__ and TaskKind(nxt) not in plan:
            plan.append(TaskKind(nxt))
    return plan


def checks_of(session: Session, declaration: Declaration) -> list[Task]:
    """The declaration's check tasks (not audits) that count for its newest assessment, oldest first.

    An amended version is routed like a fresh assessment: a check finished on a version before the
    newest risk assessment's (the trader amended after it) was of another content and counts no
    more; open checks, and those finished on that version or later, count.
    """
    a = selectivity.latest(session, declaration_id=declaration.id)
    assessed = a.declaration_version if a is not None else 0
    return [
        t
        for t in tasks.tasks_of(session, declaration_id=declaration.id)
        if t.kind in RELEASE_CHECKS
        and (t.status is not TaskStatus.done or int((t.result or {}).get("declaration_version", assessed)) >= assessed)
    ]


def checks_done_and_passed(session: Session, declaration: Declaration) -> list[Unmet]:
    """Every check the lane asked for has a task, every check task is done, and none failed."""
    lane = lane_of(session, declaration)
    if lane is None:
        return [Unmet("CLR-REL-001", "The declaration has not been assessed.")]
    found: list[Unmet] = []
    checks = checks_of(session, declaration)
    for kind in required_checks(lane, checks):
        if not any(t.kind is kind and t.status is TaskStatus.done for t in checks):
            found.append(Unmet("CLR-REL-002", f"The {lane} lane asks for a {kind.value}, which is not done."))
    for t in checks:
        if t.status is not TaskStatus.done:
            found.append(Unmet("CLR-REL-003", f"Task {t.id} ({t.kind.value}) is not done."))
        elif (t.result or {}).get("passed") is False:
            found.append(
                Unmet("CLR-REL-004", f"Task {t.id} ({t.kind.value}) did not pass: {(t.result or {}).get('reason', '')}".rstrip(": "))
            )
    return found


def not_held(session: Session, declaration: Declaration) -> list[Unmet]:
    """The declaration is not held."""
    return [Unmet("CLR-REL-005", "The declaration is held.")] if declaration.status is Status.held else []


def not_closed(session: Session, declaration: Declaration) -> list[Unmet]:
    """The declaration is not withdrawn or rejected."""
    if declaration.status in (Status.withdrawn, Status.rejected):
        return [Unmet("CLR-REL-006", f"The declaration is {declaration.status.value}.")]
    return []


register("checks_done_and_passed", checks_done_and_passed)
register("not_held", not_held)
register("not_closed", not_closed)


def duties_settled(session: Session, declaration: Declaration) -> list[Unmet]:
    """Duties paid, guaranteed (unpaid duties are secured against the importer's guarantee now) or nothing to pay."""
    return [Unmet(u.code, u.message) for u in duty.release_condition(session, declaration)]


def duties_settled_preview(session: Session, declaration: Declaration) -> list[Unmet]:
    """The duty condition as a read: would it hold (a guarantee in force covering what is unpaid counts), changing nothing."""
    return [Unmet(u.code, u.message) for u in duty.release_preview(session, declaration)]


register("duties_settled", duties_settled, preview=duties_settled_preview)
