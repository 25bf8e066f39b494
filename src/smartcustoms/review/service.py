"""Review use cases: an officer's decision on a review task (accept, query, inspect, reject), and queries' answers.

Only the task's holder decides; every decision needs a reason, a query a question too. Of two
decisions on one task at once, exactly one wins (the task's row version); the other answers 409.
A query leaves the task waiting, with the same officer, until the declarant answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import record
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Declaration, Document
from smartcustoms.errors import Conflict, NotFound, Problem, ValidationFailed
from smartcustoms.review.models import Query
from smartcustoms.task import domain as task_domain
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind, TaskStatus

DECISIONS = ("accept", "query", "inspect", "reject")
TEXT_MAX = 2000


def decision_problems(decision: Any, reason: Any, question: Any) -> list[Problem]:
    """Every problem of a decision's body, at once."""
    problems: list[Problem] = []
    if decision not in DECISIONS:
        problems.append(Problem("REV-DEC-001", "/decision", f"The decision is one of {', '.join(DECISIONS)}."))
    problems += task_domain.reason_problems(reason, code="REV-DEC-002")
    if decision == "query" and (not isinstance(question, str) or not 3 <= len(question.strip()) <= TEXT_MAX):
        problems.append(Problem("REV-DEC-003", "/question", f"A query asks a question of 3 to {TEXT_MAX} characters."))
    if decision != "query" and question is not None:
        problems.append(Problem("REV-DEC-004", "/question", "Only a query asks a question."))
    return problems


def decide(session: Session, *, task: Task, decision: str, reason: str, question: str | None, principal: Principal, now: datetime) -> Task:
    """Record the holder's decision on a review task: a query waits for the enterprise, the others finish the task.

    The result says whether the review passed (`accept`), failed (`reject`), or asks for another
    check next (`inspect`: {"next": "inspection"}); clearance moves the declaration on from it.
    """
    problems = decision_problems(decision, reason, question)
    if problems:
        raise ValidationFailed("The decision cannot be taken.", problems)
    if task.kind is not TaskKind.review:
        raise Conflict(f"Task {task.id} is a {task.kind.value} task; decisions are taken on review tasks.", code="task_not_review")
    if task.status is TaskStatus.done:
        tasks.require_open(task)  # 409 task_done: for a holder whose assignment ended with it, too
    tasks.require_holder(session, task=task, principal=principal)
    tasks.require_open(task)
    actor = principal.actor()
    if decision == "query":
        assert question is not None
        tasks.set_status(session, task=task, status=TaskStatus.waiting, actor=actor, now=now, reason=reason)
        q = Query(declaration_id=task.declaration_id, task_id=task.id, question=question.strip(), asked_by=principal.name, asked_at=now)
        session.add(q)
        session.flush()
        record(
            session,
            actor=actor,
            action="review.queried",
            subject_type="declaration",
            subject_id=str(task.declaration_id),
            now=now,
            after={"task_id": task.id, "query_id": q.id, "question": q.question},
            reason=reason,
        )
        return task
    result: dict[str, Any] = {"decision": decision, "reason": reason.strip(), "by": principal.name}
    if decision == "accept":
        result["passed"] = True
    elif decision == "reject":
        result["passed"] = False
    else:
        result["next"] = TaskKind.inspection.value
    return tasks.finish(session, task=task, result=result, actor=actor, now=now)


def queries_of(session: Session, *, declaration_id: int) -> list[dict[str, Any]]:
    """The declaration's queries as the enterprise and the officers see them, oldest first."""
    rows = session.scalars(select(Query).where(Query.declaration_id == declaration_id).order_by(Query.id)).all()
    return [
        {
            "id": q.id,
            "question": q.question,
            "asked_at": q.asked_at,
            "answer": q.answer,
            "answered_at": q.answered_at,
            "documents": list(q.documents or []),
        }
        for q in rows
    ]


def _answer_problems(session: Session, decl: Declaration, text: Any, documents: Sequence[Any]) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= TEXT_MAX:
        problems.append(Problem("REV-ANS-001", "/answer", f"An answer has 1 to {TEXT_MAX} characters."))
    ids = [d for d in documents if isinstance(d, int) and not isinstance(d, bool)]
    known = set(session.scalars(select(Document.id).where(Document.declaration_id == decl.id, Document.id.in_(ids)))) if ids else set()
    for i, d in enumerate(documents):
        if d not in known:
            problems.append(
                Problem("REV-ANS-002", f"/documents/{i}", f"{d!r} is not a document of declaration {decl.number}; upload it first.")
            )
    return problems


def answer(
    session: Session, *, number: str, query_id: int, text: str, documents: Sequence[int], principal: Principal, now: datetime
) -> Query:
    """The declarant answers a query (text, and ids of documents uploaded to the declaration); the task returns to its officer.

    Another enterprise's declaration answers 404, the importer's 403; a query answered already 409.
    """
    decl = declaration_service.get_own(session, number=number, principal=principal, doing="answers queries on")
    q = session.get(Query, query_id, with_for_update=True)
    if q is None or q.declaration_id != decl.id:
        raise NotFound(f"No query {query_id} on declaration {number}.", code="query_not_found")
    problems = _answer_problems(session, decl, text, documents)
    if problems:
        raise ValidationFailed("The answer cannot be given.", problems)
    if q.answered_at is not None:
        raise Conflict(f"Query {query_id} is answered already; nothing was changed.", code="query_answered")
    q.answer, q.documents, q.answered_by, q.answered_at = text.strip(), list(documents), principal.name, now
    task = session.get(Task, q.task_id)
    assert task is not None
    actor = principal.actor()
    if task.status is TaskStatus.waiting and task.assigned_at is not None:
        tasks.set_status(session, task=task, status=TaskStatus.open, actor=actor, now=now, reason=f"query {q.id} answered")
    session.flush()
    record(
        session,
        actor=actor,
        action="review.answered",
        subject_type="declaration",
        subject_id=str(decl.id),
        now=now,
        after={"task_id": task.id, "query_id": q.id, "documents": list(documents)},
    )
    return q
