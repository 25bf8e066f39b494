"""Inspection use cases: record a step with its photos, complete with findings, a supervisor's instructions.

An inspection is a task of kind `inspection` (the task area draws its two inspectors); its
`steps` are the fixed steps per container of `domain.plan`, filled from the declaration when the
task has none yet. Only the task's holders record steps and complete it; a supervisor of the
office sees it live and leaves instructions. Every change is journaled; a concurrent change of the
same task answers 409 and keeps nothing of the later request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from smartcustoms.adapters.storage import FileStore
from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.service import Principal
from smartcustoms.clearance import service as clearance
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.declaration.service import transition
from smartcustoms.duty import service as duty
from smartcustoms.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Problem, UnsupportedMediaType, ValidationFailed
from smartcustoms.inspection import domain, resolution
from smartcustoms.inspection.models import Instruction, Photo
from smartcustoms.kit.images import image_type
from smartcustoms.risk.selectivity import outcomes
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind, TaskStatus

MAX_PHOTOS_PER_STEP = 20


@dataclass(frozen=True)
class Upload:
    """One uploaded photo: its bytes and the name it came with (the name decides nothing)."""

    data: bytes
    filename: str


class StepOutOfOrder(Conflict):
    """The step cannot be recorded now: an earlier one is open, or it is recorded already."""

    default_code = "step_out_of_order"


def open_inspection(session: Session, *, declaration: Declaration, actor: Actor, now: datetime) -> Task:
    """Open an inspection task on the declaration with its fixed steps (the task area draws the inspectors)."""
    return tasks.open_task(
        session, declaration=declaration, kind=TaskKind.inspection, steps=domain.plan(declaration.payload), actor=actor, now=now
    )


def ensure_steps(session: Session, task: Task) -> Declaration:
    """The task's declaration; an inspection opened without steps gets them from the declaration's content."""
    decl = session.get(Declaration, task.declaration_id)
    if decl is None:  # a task always has its declaration (foreign key)
        raise NotFound(f"No declaration for task {task.id}.")
    if task.kind is TaskKind.inspection and not task.steps:
        task.steps = domain.plan(decl.payload)
    return decl


def _inspection(session: Session, *, task_id: int, principal: Principal) -> tuple[Task, Declaration]:
    task = tasks.get_for(session, task_id=task_id, principal=principal)
    if task.kind is not TaskKind.inspection:
        raise NotFound(f"Task {task_id} is a {task.kind.value} task, not an inspection.", code="not_an_inspection")
    return task, ensure_steps(session, task)


def save(session: Session, task: Task) -> None:
    """Flush the task's change; 409 when a concurrent request changed it first (nothing of this request is kept)."""
    task_id = task.id  # read now: after a failed flush the object cannot be loaded
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            f"Task {task_id} was changed by another request at the same time; nothing was changed.", code="task_conflict"
        ) from exc


def check_photos(photos: Sequence[Upload], *, max_bytes: int) -> list[str]:
    """The content type of each photo, known by its bytes (JPEG or PNG); 413/415/422 with a code otherwise."""
    if len(photos) > MAX_PHOTOS_PER_STEP:
        raise ValidationFailed(
            "Too many photos.", [Problem("INS-PHO-003", "/photos", f"A step takes at most {MAX_PHOTOS_PER_STEP} photos.")]
        )
    types = []
    for n, photo in enumerate(photos):
        if len(photo.data) > max_bytes:
            raise PayloadTooLarge(
                f"Photo {n + 1} is {len(photo.data)} bytes; at most {max_bytes} are accepted.",
                [Problem("INS-PHO-001", f"/photos/{n}", f"Photos may be at most {max_bytes / (1024 * 1024):g} MB.")],
            )
        kind = image_type(photo.data)
        if kind is None:
            raise UnsupportedMediaType(
                f"Photo {n + 1} ({photo.filename[:80]}) is not a JPEG or PNG image.",
                [Problem("INS-PHO-002", f"/photos/{n}", "Photos are JPEG or PNG images (known by their content, not their name).")],
            )
        types.append(kind)
    return types


def record_step(
    session: Session,
    *,
    task_id: int,
    step_id: str,
    result: Any,
    photos: Sequence[Upload],
    store: FileStore,
    max_photo_bytes: int,
    principal: Principal,
    now: datetime,
) -> Task:
    """Record one step's result and photos, in the steps' order; the photos go to the archive by SHA-256."""
    task, decl = _inspection(session, task_id=task_id, principal=principal)
    tasks.require_open(task)  # a done task answers 409 to those who held it
    tasks.require_holder(session, task=task, principal=principal)
    problem = domain.out_of_order(task.steps, step_id)
    if problem is not None:
        if problem.code == "INS-STEP-001":
            raise NotFound(problem.message, [problem], code="step_not_found")
        raise StepOutOfOrder(problem.message, [problem])
    index = next(i for i, s in enumerate(task.steps) if s["id"] == step_id)
    step = dict(task.steps[index])
    types = check_photos(photos, max_bytes=max_photo_bytes)
    stored, problems = domain.check_result(decl.payload, step["container"], step["kind"], result)
    if problems:
        raise ValidationFailed(f"The result of step {step_id} has problems.", problems)
    kept = []
    for photo, content_type in zip(photos, types, strict=True):
        digest = store.put(photo.data)
        session.add(
            Photo(
                task_id=task.id,
                step_id=step_id,
                container=step["container"],
                sha256=digest,
                content_type=content_type,
                size=len(photo.data),
                taken_by=principal.name,
                taken_at=now,
            )
        )
        kept.append({"sha256": digest, "content_type": content_type, "size": len(photo.data)})
    step.update(status="done", result=stored, photos=kept, done_by=principal.name, done_at=now.isoformat())
    task.steps = [*task.steps[:index], step, *task.steps[index + 1 :]]
    save(session, task)
    record(
        session,
        actor=principal.actor(),
        action="inspection.step_recorded",
        subject_type="task",
        subject_id=str(task.id),
        now=now,
        before={"step": step_id, "status": "pending"},
        after={"step": step_id, "status": "done", "result": stored, "photos": [p["sha256"] for p in kept]},
    )
    return task


def complete(
    session: Session, *, task_id: int, findings: Any, reason: Any, principal: Principal, now: datetime
) -> tuple[Task, domain.Verdict]:
    """Complete the inspection with its findings, exactly once.

    The outcome goes to the risk engine (hit or not: the labels `risk retrain` learns from). A
    discrepancy holds the declaration for an officer's decision (`resolve`); none moves it out of
    inspection so release can go on (the caller asks clearance whether every condition holds).
    """
    task, decl = _inspection(session, task_id=task_id, principal=principal)
    tasks.require_open(task)  # a done task answers 409 to those who held it
    tasks.require_holder(session, task=task, principal=principal)
    open_steps = [s["id"] for s in task.steps if s["status"] != "done"]
    if open_steps:
        problem = Problem("INS-DONE-001", "/findings", f"Record every step first; {len(open_steps)} open, next {open_steps[0]}.")
        raise StepOutOfOrder(f"Task {task.id} has steps to record before it is complete.", [problem])
    stored, verdict, problems = domain.check_findings(decl.payload, findings, reason)
    if problems:
        raise ValidationFailed("The findings have problems.", problems)
    text = reason.strip() if isinstance(reason, str) else None
    result = {
        "findings": stored,
        "reason": text,
        "hit": verdict.hit,
        "critical": verdict.critical,
        "passed": not verdict.hit,  # clearance's release condition: a discrepancy stops release until an officer decides
        "completed_by": principal.name,
    }
    recovered = reassess(session, decl=decl, findings=stored, principal=principal, now=now) if verdict.hit else Decimal(0)
    if recovered:
        result["revenue_recovered"] = str(recovered)
    tasks.finish(session, task=task, result=result, actor=principal.actor(), now=now)
    outcomes.record_outcome(
        session,
        decl=decl,
        source="inspection",
        hit=verdict.hit,
        critical=verdict.critical,
        revenue_recovered=recovered,  # the duties as found less as declared (a refund due counts zero)
        finding=verdict.summary or text,
        principal=principal,
        now=now,
    )
    if verdict.hit and decl.status is not Status.held:
        transition(session, decl=decl, to=Status.held, actor=principal.actor(), now=now, reason=f"Inspection found: {verdict.summary}")
    return task, verdict


def reassess(session: Session, *, decl: Declaration, findings: list[dict[str, Any]], principal: Principal, now: datetime) -> Decimal:
    """Reassess the duties with the goods as found; the revenue recovered (CNY, zero when none or a refund is due).

    Goods that cannot be assessed as found (no tariff line, no exchange rate) recover nothing here;
    the duty release condition still stops the release and says why.
    """
    try:
        found = resolution.corrected(decl.payload, findings)  # what amend-and-continue would make the declaration
        row = duty.reassess_as_found(session, declaration=decl, found=found, actor=principal.actor(), now=now)
    except (ValidationFailed, NotFound):
        return Decimal(0)
    return duty.from_fen(row.difference_fen) if row is not None and row.difference_fen > 0 else Decimal(0)


def give_instruction(session: Session, *, task_id: int, text: Any, step_id: Any, principal: Principal, now: datetime) -> Instruction:
    """A supervisor of the office leaves an instruction on a live inspection; the inspectors see it with the task."""
    task, _ = _inspection(session, task_id=task_id, principal=principal)
    if not tasks.supervises(principal, task):
        raise Forbidden("Only a supervisor of the office gives instructions on an inspection.", code="instruction_forbidden")
    if task.status is TaskStatus.done:
        raise Conflict(f"Inspection {task.id} is done; instructions are for live inspections.", code="task_done")
    problems = []
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= 2000:
        problems.append(Problem("INS-INS-001", "/text", "An instruction is text of 1 to 2000 characters."))
    if step_id is not None and not any(s["id"] == step_id for s in task.steps):
        problems.append(Problem("INS-INS-002", "/step_id", f"The inspection has no step {step_id}."))
    if problems:
        raise ValidationFailed("The instruction cannot be given.", problems)
    assert isinstance(text, str)
    row = Instruction(task_id=task.id, text=text.strip(), step_id=step_id, given_by=principal.name, given_at=now)
    session.add(row)
    session.flush()
    record(
        session,
        actor=principal.actor(),
        action="inspection.instruction_given",
        subject_type="task",
        subject_id=str(task.id),
        now=now,
        before=None,
        after={"instruction": row.id, "step": step_id, "text": row.text},
    )
    return row


def live(session: Session, *, task_id: int, principal: Principal) -> tuple[Task, list[Instruction], list[Photo]]:
    """An inspection as its holders and supervisors see it: steps, photos as they arrive, instructions."""
    task, _ = _inspection(session, task_id=task_id, principal=principal)
    said = list(session.scalars(select(Instruction).where(Instruction.task_id == task.id).order_by(Instruction.id)))
    photos = list(session.scalars(select(Photo).where(Photo.task_id == task.id).order_by(Photo.container, Photo.step_id, Photo.id)))
    return task, said, photos


def photo(session: Session, *, task_id: int, sha256: str, store: FileStore, principal: Principal) -> tuple[Photo, bytes]:
    """One photo of an inspection, for its holders and supervisors."""
    task, _ = _inspection(session, task_id=task_id, principal=principal)
    row = session.scalar(select(Photo).where(Photo.task_id == task.id, Photo.sha256 == sha256).limit(1))
    if row is None:
        raise NotFound(f"Inspection {task.id} has no photo {sha256[:64]}.", code="photo_not_found")
    return row, store.get(row.sha256)


def complete_and_proceed(
    session: Session, *, task_id: int, body: Any, principal: Principal, now: datetime
) -> tuple[Task, domain.Verdict, Declaration, str]:
    """Complete the inspection (body `{"findings": [...], "reason": ...}`), then clearance's next step (`stopped` when held)."""
    if not isinstance(body, dict):
        raise ValidationFailed(
            "The completion is a JSON object.", [Problem("INS-FND-015", "", 'Send {"findings": [...], "reason": "..."}.')]
        )
    extra = sorted(set(body) - {"findings", "reason"})
    if extra:
        raise ValidationFailed(
            "The completion has unknown fields.", [Problem("INS-FND-016", f"/{k}", f"A completion does not take {k}.") for k in extra]
        )
    task, verdict = complete(
        session, task_id=task_id, findings=body.get("findings"), reason=body.get("reason"), principal=principal, now=now
    )
    decl = session.get(Declaration, task.declaration_id)
    assert decl is not None
    return task, verdict, decl, clearance.proceed(session, declaration=decl, now=now)


def resolve_and_proceed(
    session: Session, *, task_id: int, decision: Any, reason: Any, principal: Principal, now: datetime
) -> tuple[Task, Declaration, str]:
    """An officer's decision after a discrepancy (`resolution.resolve`), then clearance's next step."""
    task, decl = resolution.resolve(session, task_id=task_id, decision=decision, reason=reason, principal=principal, now=now)
    return task, decl, clearance.proceed(session, declaration=decl, now=now)
