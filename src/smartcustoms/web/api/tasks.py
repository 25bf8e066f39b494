"""Routes of officers' work: their tasks, review decisions, reassignment, and the enterprise's answers to queries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from smartcustoms.auth.service import Principal
from smartcustoms.clearance import service as clearance
from smartcustoms.declaration.models import Declaration
from smartcustoms.kit.clock import utcnow
from smartcustoms.review import service as review
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind, TaskStatus
from smartcustoms.task.schemas import AnswerCreate, DecisionCreate, ReassignmentCreate, TaskPage, TaskRead
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_BIGINT_MAX, DB_INT_MAX, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"], route_class=StrictJSONRoute)
queries_router = APIRouter(prefix="/api/v1/declarations", tags=["declarations"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "The caller's role may not do this, or the task is not assigned to them"},
    404: {"description": "No such task, or not the caller's"},
    409: {"description": "The task is done, waiting, or was changed at the same time; nothing changed"},
    422: {"description": "Every problem, with code, pointer and message"},
}
TaskId = Annotated[int, Path(ge=1, le=DB_BIGINT_MAX)]


def read(s: Session, task: Task, who: Principal) -> TaskRead:
    """The task as this caller sees it (the draw: supervisors only)."""
    decl = s.get(Declaration, task.declaration_id)
    assert decl is not None
    draw = task.draw if tasks.supervises(who, task) and task.draw else None
    return TaskRead(
        id=task.id,
        kind=task.kind,
        declaration=decl.number,
        status=task.status,
        assignees=tasks.assignees(s, task=task),
        assigned_at=task.assigned_at,
        due_at=task.due_at,
        draw=None if draw is None else {k: draw[k] for k in ("seed_ref", "candidates", "u", "chosen")},
        steps=list(task.steps or []),
        result=task.result,
    )


@router.get("", response_model=TaskPage, responses=ERRORS, summary="List tasks")
def list_tasks(
    rt: RuntimeDep,
    who: PrincipalDep,
    status: TaskStatus | None = None,
    kind: TaskKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> TaskPage:
    """The caller's tasks (a supervisor: the office's), open first, then oldest first."""
    with rt.read() as s:
        rows, total = tasks.list_for(s, principal=who, status=status, kind=kind, limit=limit, offset=offset)
        return TaskPage(items=[read(s, t, who) for t in rows], total=total, limit=limit, offset=offset)


@router.get("/{task_id}", response_model=TaskRead, responses=ERRORS, summary="Get a task")
def get_task(rt: RuntimeDep, who: PrincipalDep, task_id: TaskId) -> TaskRead:
    """One task: its declaration, status, assignees, due time, steps and result (404 unless yours or your office's)."""
    with rt.read() as s:
        return read(s, tasks.get_for(s, task_id=task_id, principal=who), who)


@router.post("/{task_id}/decision", response_model=TaskRead, responses=ERRORS, summary="Decide a review")
def decide(rt: RuntimeDep, who: PrincipalDep, task_id: TaskId, body: DecisionCreate) -> TaskRead:
    """The holder's decision on a review task: accept, query (with a question), inspect or reject, each with a reason."""
    with rt.write() as s:
        task = clearance.decide(
            s, task_id=task_id, decision=body.decision, reason=body.reason or "", question=body.question, principal=who, now=utcnow()
        )
        return read(s, task, who)


@router.post("/{task_id}/reassignment", response_model=TaskRead, responses=ERRORS, summary="Reassign a task")
def reassign(rt: RuntimeDep, who: PrincipalDep, task_id: TaskId, body: ReassignmentCreate) -> TaskRead:
    """A supervisor of the office gives the task to others by a new draw that excludes its holders, with a reason."""
    with rt.write() as s:
        task = tasks.get_for(s, task_id=task_id, principal=who)
        tasks.reassign(s, task=task, reason=body.reason or "", principal=who, now=utcnow())
        return read(s, task, who)


@queries_router.post("/{number}/queries/{query_id}/answer", responses=ERRORS, summary="Answer a query")
def answer(
    rt: RuntimeDep, who: PrincipalDep, number: str, query_id: Annotated[int, Path(ge=1, le=DB_BIGINT_MAX)], body: AnswerCreate
) -> dict[str, Any]:
    """The declarant answers an officer's query (text, and ids of documents uploaded to the declaration first)."""
    with rt.write() as s:
        q = review.answer(
            s, number=number, query_id=query_id, text=body.answer or "", documents=body.documents, principal=who, now=utcnow()
        )
        return {
            "id": q.id,
            "question": q.question,
            "asked_at": q.asked_at,
            "answer": q.answer,
            "answered_at": q.answered_at,
            "documents": q.documents,
        }
