"""Task use cases: open a task and draw its officers, queue it when none is free, show it, finish it once, reassign it.

A task's assignees are roster assignments with task_ref `task:{id}`. Finishing is exactly-once:
the task row carries a version counter, so of two concurrent finishes (or decisions) the second
updates no row and answers 409 with nothing changed, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import Role
from smartcustoms.auth.roles import SUPERVISORS, TASK_WORKERS, drawn_for
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Declaration
from smartcustoms.errors import Conflict, Forbidden, NotFound, ValidationFailed
from smartcustoms.risk.selectivity.models import Assessment
from smartcustoms.roster import service as roster
from smartcustoms.roster.models import Assignment
from smartcustoms.roster.schemas import OfficerRead
from smartcustoms.task import domain
from smartcustoms.task.models import Task, TaskKind, TaskStatus, task_ref

DISPATCH = Actor.system("dispatch")
QUEUE_BATCH = 50  # at most this many queued tasks are drawn for after one officer is freed
# How a kind of task plans its steps from the declaration's content when the opener gives none;
# the areas above register theirs (inspection: the fixed steps per container).
STEP_PLANS: dict[TaskKind, Callable[[dict[str, Any]], list[Any]]] = {}


def _journal(session: Session, task: Task, *, action: str, actor: Actor, now: datetime, reason: str | None = None, **after: Any) -> None:
    record(
        session,
        actor=actor,
        action=action,
        subject_type="task",
        subject_id=str(task.id),
        now=now,
        after={"kind": task.kind.value, "declaration_id": task.declaration_id, "status": task.status.value, **after},
        reason=reason,
    )


def _draw(session: Session, task: Task, *, chapters: set[int], exclude: Sequence[str] = (), now: datetime) -> bool:
    """Draw the task's officers; True when drawn (open, due), False when it stays queued (waiting, unassigned)."""
    drawn = roster.assign(
        session,
        office=task.office,
        chapters=chapters or {1},
        task_ref=task_ref(task.id),
        k=task.k,
        exclude=exclude,
        roles=drawn_for(task.kind.value),
        now=now,
    )
    if drawn is None:
        task.status, task.assigned_at, task.due_at = TaskStatus.waiting, None, None
        return False
    task.status, task.assigned_at, task.draw = TaskStatus.open, now, drawn
    task.due_at = now + domain.DUE[task.kind.value]
    return True


def _chapters(session: Session, task: Task) -> set[int]:
    decl = session.get(Declaration, task.declaration_id)
    return domain.chapters_of(decl.payload) if decl is not None else set()


def _planned(kind: TaskKind, declaration: Declaration) -> list[Any]:
    plan = STEP_PLANS.get(kind)
    return plan(declaration.payload) if plan is not None else []


def open_task(
    session: Session,
    *,
    declaration: Declaration,
    kind: TaskKind,
    k: int | None = None,
    steps: list[Any] | None = None,
    actor: Actor,
    now: datetime,
) -> Task:
    """Open a task on a declaration and draw k officers of its office for its HS chapters (default: the kind's number).

    With none free, the task waits in the office's queue (`waiting`, no assignees) and is drawn
    as soon as an officer is (`draw_queue`). Journaled.
    """
    task = Task(
        kind=kind,
        declaration_id=declaration.id,
        office=declaration.office,
        status=TaskStatus.waiting,
        k=k or domain.ASSIGNEES[kind.value],
        steps=list(steps if steps is not None else _planned(kind, declaration)),
        created_at=now,
    )
    session.add(task)
    session.flush()
    drawn = _draw(session, task, chapters=domain.chapters_of(declaration.payload), now=now)
    session.flush()
    _journal(session, task, action="task.opened", actor=actor, now=now, number=declaration.number, queued=not drawn)
    return task


def draw_queue(session: Session, *, office: str, now: datetime, limit: int = QUEUE_BATCH) -> list[Task]:
    """Draw officers for the office's queued tasks, oldest first, while any is free; the tasks drawn."""
    queued = session.scalars(
        select(Task)
        .where(Task.office == office, Task.status == TaskStatus.waiting, Task.assigned_at.is_(None))
        .order_by(Task.created_at, Task.id)
        .limit(limit)
    ).all()
    drawn = []
    for task in queued:
        if _draw(session, task, chapters=_chapters(session, task), now=now):
            session.flush()
            _journal(session, task, action="task.drawn", actor=DISPATCH, now=now, from_queue=True)
            drawn.append(task)
    return drawn


def assignees(session: Session, *, task: Task) -> list[str]:
    """Who holds the task now (in the order drawn)."""
    return roster.holders(session, task_ref=task_ref(task.id))


def supervises(principal: Principal, task: Task) -> bool:
    """Whether the principal supervises the task's office: an admin, a supervisor of that office, or one of none (national)."""
    return principal.role in SUPERVISORS and (principal.role is Role.admin or principal.office in (None, task.office))


def _held_by(session: Session, *, task: Task, user_id: int) -> bool:
    """Whether the user holds the task now, or held it when it was done."""
    stmt = select(Assignment.released_at).where(Assignment.task_ref == task_ref(task.id), Assignment.user_id == user_id)
    ends = session.scalars(stmt).all()
    return any(e is None or (task.done_at is not None and e == task.done_at) for e in ends)


def get_for(session: Session, *, task_id: int, principal: Principal, lock: bool = False) -> Task:
    """The task if the principal holds it (or held it when done) or supervises its office; 404 otherwise."""
    task = session.get(Task, task_id, with_for_update=lock or None)
    if task is None or not (supervises(principal, task) or _held_by(session, task=task, user_id=principal.user_id)):
        raise NotFound(f"No task {task_id}.", code="task_not_found")
    return task


def holds(session: Session, *, task: Task, principal: Principal) -> bool:
    """Whether the principal is one of the task's assignees now."""
    return principal.user_id in {a.user_id for a in _open(session, task)}


def require_holder(session: Session, *, task: Task, principal: Principal) -> None:
    """403 unless the principal is one of the task's assignees now (a supervisor sees a task; only its holders act on it)."""
    if not holds(session, task=task, principal=principal):
        raise Forbidden(f"Task {task.id} is not assigned to you; only its assignees act on it.", code="task_not_assigned")


def _open(session: Session, task: Task) -> list[Assignment]:
    return list(session.scalars(select(Assignment).where(Assignment.task_ref == task_ref(task.id), Assignment.released_at.is_(None))))


def _save(session: Session, task: Task) -> None:
    """Flush the task's change; 409 when a concurrent request changed it first (nothing of this request is kept)."""
    task_id = task.id  # read now: after a failed flush the object cannot be loaded
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            f"Task {task_id} was changed by another request at the same time; nothing was changed.", code="task_conflict"
        ) from exc


def require_open(task: Task) -> None:
    """409 unless the task is open (being worked)."""
    if task.status is TaskStatus.done:
        raise Conflict(f"Task {task.id} is already done; nothing was changed.", code="task_done")
    if task.status is TaskStatus.waiting:
        what = "for an officer to be free" if task.assigned_at is None else "for the enterprise's answer"
        raise Conflict(f"Task {task.id} is waiting {what}; it cannot be acted on now.", code="task_waiting")


def set_status(session: Session, *, task: Task, status: TaskStatus, actor: Actor, now: datetime, reason: str | None = None) -> Task:
    """Move a task between open and waiting (a query sent, an answer in); journaled; 409 on a concurrent change."""
    before = task.status
    task.status = status
    _save(session, task)
    _journal(session, task, action="task.status_changed", actor=actor, now=now, reason=reason, previous=before.value)
    return task


def finish(session: Session, *, task: Task, result: dict[str, Any], actor: Actor, now: datetime) -> Task:
    """Finish a task with its result, exactly once: a second finish (even a concurrent one) answers 409 and changes nothing.

    The holders are released (their load drops) and the office's queue is drawn for them. The
    result keeps the declaration's version the work was finished on (`declaration_version`): a
    check finished on a version the risk engine has since assessed again is of an earlier content.
    """
    require_open(task)
    decl = session.get(Declaration, task.declaration_id)
    done = {**result, "declaration_version": decl.version} if decl is not None else dict(result)
    task.status, task.result, task.done_at = TaskStatus.done, done, now
    _save(session, task)
    roster.release(session, task_ref=task_ref(task.id), actor=actor, now=now, reason=f"task {task.id} done")
    _journal(session, task, action="task.finished", actor=actor, now=now, result=task.result)
    draw_queue(session, office=task.office, now=now)
    return task


def reassign(session: Session, *, task: Task, reason: str, principal: Principal, now: datetime) -> Task:
    """A supervisor gives the task to others by a new draw that excludes its current holders; with a reason, journaled.

    With nobody else free the task waits in the queue. A done task cannot be reassigned (409).
    """
    if not supervises(principal, task):
        raise Forbidden("Only a supervisor of the office reassigns a task.", code="task_reassign_forbidden")
    problems = domain.reason_problems(reason)
    if problems:
        raise ValidationFailed("A reassignment needs a reason.", problems)
    if task.status is TaskStatus.done:
        raise Conflict(f"Task {task.id} is done; it cannot be reassigned.", code="task_done")
    holders = assignees(session, task=task)
    waiting_answer = task.status is TaskStatus.waiting and task.assigned_at is not None
    actor = principal.actor()
    roster.release(session, task_ref=task_ref(task.id), actor=actor, now=now, reason=reason)
    drawn = _draw(session, task, chapters=_chapters(session, task), exclude=holders, now=now)
    if drawn and waiting_answer:
        task.status = TaskStatus.waiting  # still waiting for the enterprise, now with its new holder
    _save(session, task)
    _journal(session, task, action="task.reassigned", actor=actor, now=now, reason=reason, previous=holders, queued=not drawn)
    draw_queue(session, office=task.office, now=now)
    return task


def tasks_of(session: Session, *, declaration_id: int) -> list[Task]:
    """Every task of a declaration, oldest first."""
    return list(session.scalars(select(Task).where(Task.declaration_id == declaration_id).order_by(Task.id)))


# The task id an assignment's task_ref names (`task:{id}`), NULL for other references. Read from the
# assignment's side, so that the officer's own assignments (an index on user_id) lead and each finds
# its task by primary key; the reverse (task_ref = 'task:' || id) compares every task with every assignment.
_TASK_PREFIX = "task:"
_ASSIGNED_TASK = case(
    (Assignment.task_ref.startswith(_TASK_PREFIX), cast(func.substr(Assignment.task_ref, len(_TASK_PREFIX) + 1), BigInteger)),
    else_=None,
)


def _mine(principal: Principal) -> Any:
    """Ids of the tasks the principal holds or held when they were done."""
    return (
        select(Task.id)
        .select_from(Assignment)
        .join(Task, Task.id == _ASSIGNED_TASK)
        .where(Assignment.user_id == principal.user_id)
        .where((Assignment.released_at.is_(None)) | (Assignment.released_at == Task.done_at))
    )


def _visible(stmt: Select[Any], principal: Principal, status: TaskStatus | None, kind: TaskKind | None) -> Select[Any]:
    """The select narrowed to the caller's tasks (a supervisor: the office's), of one status and kind if given."""
    if principal.role in SUPERVISORS:
        if principal.role is not Role.admin and principal.office is not None:
            stmt = stmt.where(Task.office == principal.office)  # a supervisor without an office is national
    elif principal.role in TASK_WORKERS:
        stmt = stmt.where(Task.id.in_(_mine(principal)))
    else:
        raise Forbidden(f"Tasks are not open to the {principal.role.value} role.")
    if status is not None:
        stmt = stmt.where(Task.status == status)
    if kind is not None:
        stmt = stmt.where(Task.kind == kind)
    return stmt


def _page(session: Session, stmt: Select[Any], *, limit: int, offset: int) -> tuple[list[Any], int]:
    """A page of the select (LIMIT and OFFSET in SQL), open first then oldest first; and how many rows there are in all."""
    total = int(session.scalar(select(func.count()).select_from(stmt.with_only_columns(Task.id).subquery())) or 0)
    order = case({s: n for s, n in domain.STATUS_ORDER.items()}, value=Task.status)
    rows = session.execute(stmt.order_by(order, Task.created_at, Task.id).limit(limit).offset(offset)).all()
    return list(rows), total


def list_for(
    session: Session, *, principal: Principal, status: TaskStatus | None, kind: TaskKind | None, limit: int, offset: int
) -> tuple[list[Task], int]:
    """The caller's tasks (a supervisor: the office's), open first then oldest first, and how many there are in all."""
    rows, total = _page(session, _visible(select(Task), principal, status, kind), limit=limit, offset=offset)
    return [r[0] for r in rows], total


@dataclass(frozen=True)
class QueueRow:
    """A task as the work queue shows it: with its declaration's number and lane and its holders."""

    task: Task
    number: str
    lane: str | None
    holders: list[str]


def queue(
    session: Session, *, principal: Principal, status: TaskStatus | None, kind: TaskKind | None, limit: int, offset: int
) -> tuple[list[QueueRow], int]:
    """A page of the caller's work queue (as `list_for`), each task with its declaration's number, newest lane and holders.

    Four short queries whatever the office holds: the count, the page of tasks (LIMIT in SQL), then
    the numbers and lanes of the page's declarations and the holders of its tasks (by their keys).
    """
    rows, total = _page(session, _visible(select(Task), principal, status, kind), limit=limit, offset=offset)
    page = [r[0] for r in rows]
    ids = {t.declaration_id for t in page}
    numbers = dict(session.execute(select(Declaration.id, Declaration.number).where(Declaration.id.in_(ids))).all()) if ids else {}
    newest = select(func.max(Assessment.id)).where(Assessment.declaration_id.in_(ids)).group_by(Assessment.declaration_id)
    lanes = dict(session.execute(select(Assessment.declaration_id, Assessment.lane).where(Assessment.id.in_(newest))).all()) if ids else {}
    held = roster.holders_of(session, task_refs=[task_ref(t.id) for t in page])
    return [
        QueueRow(task=t, number=numbers[t.declaration_id], lane=lanes.get(t.declaration_id), holders=held.get(task_ref(t.id), []))
        for t in page
    ], total


def set_officer(
    session: Session,
    *,
    name: str,
    chapters: str | None,
    capacity: int | None,
    duty: str | None,
    within: str | None,
    actor: Actor,
    now: datetime,
) -> OfficerRead:
    """Change an officer's roster entry (`roster.set_officer`); when that frees them, the office's queued tasks are drawn now."""
    found = roster.set_officer(session, name=name, chapters=chapters, capacity=capacity, duty=duty, within=within, actor=actor, now=now)
    if found.office and found.spare > 0 and draw_queue(session, office=found.office, now=now):
        found = roster.get_officer(session, name=name)
    return found


def works_on(session: Session, *, principal: Principal, declaration_id: int) -> bool:
    """Whether an officer holds (or held when it was done) a task on the declaration."""
    stmt = _mine(principal).where(Task.declaration_id == declaration_id).limit(1)
    return session.scalar(stmt) is not None


def declarations_of(principal: Principal) -> Any:
    """For a task worker, a select of the ids of the declarations they have (or had, when done) tasks on; None for others."""
    if principal.role not in TASK_WORKERS:
        return None
    return select(Task.declaration_id).where(Task.id.in_(_mine(principal)))


def journal_read(session: Session, *, principal: Principal, declaration: Declaration, now: datetime) -> None:
    """Journal that a task worker read a declaration (`declaration.read`); nothing for other roles."""
    if principal.role in TASK_WORKERS:
        record(
            session,
            actor=principal.actor(),
            action="declaration.read",
            subject_type="declaration",
            subject_id=str(declaration.id),
            now=now,
            after={"number": declaration.number},
        )


def _reach(session: Session, principal: Principal, declaration_id: int) -> bool:
    return works_on(session, principal=principal, declaration_id=declaration_id)


declaration_service.limit_task_workers(_reach)  # officers see only the declarations of their tasks
