"""Routes of physical inspection: steps with photos, completion with findings, the decision after a hold, remote assistance."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Path, Response, UploadFile
from sqlalchemy.orm import Session

from smartcustoms.auth.service import Principal
from smartcustoms.inspection import service
from smartcustoms.inspection.models import Instruction, Photo
from smartcustoms.inspection.schemas import (
    CompletionRead,
    ContainerPhotos,
    InspectionRead,
    InstructionRead,
    PhotoRead,
    ResolutionRead,
)
from smartcustoms.kit.clock import utcnow
from smartcustoms.task.models import Task
from smartcustoms.web.body import StrictJSONRoute, parse
from smartcustoms.web.deps import DB_BIGINT_MAX, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/tasks", tags=["inspection"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "Not an assignee of the task (or not a supervisor, for instructions)"},
    404: {"description": "No such task, not an inspection, or not the caller's"},
    409: {"description": "Out of order (a rule code says which), already done, or changed concurrently; nothing changed"},
    422: {"description": "Every problem with the request, each with code, pointer and message"},
}
TaskId = Annotated[int, Path(ge=1, le=DB_BIGINT_MAX)]


def _view(task: Task, number: str, said: list[Instruction], photos: list[Photo]) -> InspectionRead:
    grouped: dict[str, dict[str, list[PhotoRead]]] = defaultdict(lambda: defaultdict(list))
    for p in photos:
        grouped[p.container][p.step_id].append(PhotoRead.model_validate(p))
    return InspectionRead(
        task=task.id,
        declaration=number,
        status=task.status.value,
        steps=list(task.steps),
        next_step=next((s["id"] for s in task.steps if s["status"] != "done"), None),
        photos=[ContainerPhotos(container=c, steps=dict(by_step)) for c, by_step in grouped.items()],
        instructions=[InstructionRead.model_validate(i) for i in said],
        result=task.result,
    )


def _live(s: Session, task_id: int, who: Principal) -> InspectionRead:
    task, said, photos = service.live(s, task_id=task_id, principal=who)
    decl = service.ensure_steps(s, task)
    return _view(task, decl.number, said, photos)


@router.get("/{task_id}/inspection", response_model=InspectionRead, responses=ERRORS, summary="A live inspection")
def inspection(rt: RuntimeDep, who: PrincipalDep, task_id: TaskId) -> InspectionRead:
    """Steps in order with their results, photos by container and step as they arrive, and the supervisor's instructions."""
    with rt.read() as s:
        return _live(s, task_id, who)


@router.post(
    "/{task_id}/steps/{step_id}",
    response_model=InspectionRead,
    responses={**ERRORS, 413: {"description": "A photo is too large"}, 415: {"description": "A photo is not JPEG or PNG"}},
    summary="Record an inspection step",
)
def record_step(
    rt: RuntimeDep,
    who: PrincipalDep,
    task_id: TaskId,
    step_id: Annotated[str, Path(max_length=60)],
    result: Annotated[str, Form(max_length=100_000, description="the step's result, a JSON object")],
    photos: Annotated[list[UploadFile] | None, File(description="JPEG or PNG photos of this step")] = None,
) -> InspectionRead:
    """Record one step (multipart: `result` JSON and zero or more `photos`), in the steps' order; photos are archived by SHA-256."""
    limit = rt.settings.max_photo_bytes
    uploads = [service.Upload(data=f.file.read(limit + 1), filename=f.filename or "photo") for f in photos or []]
    value = parse(result.encode())
    with rt.write() as s:
        service.record_step(
            s,
            task_id=task_id,
            step_id=step_id,
            result=value,
            photos=uploads,
            store=rt.store,
            max_photo_bytes=limit,
            principal=who,
            now=utcnow(),
        )
        s.flush()
        return _live(s, task_id, who)


@router.post("/{task_id}/completion", response_model=CompletionRead, responses=ERRORS, summary="Complete an inspection")
def complete(rt: RuntimeDep, who: PrincipalDep, task_id: TaskId, payload: Annotated[Any, Body()]) -> CompletionRead:
    """`{"findings": [], "reason": ...}` for none, or findings with the measured values; a discrepancy holds the declaration."""
    with rt.write() as s:
        task, verdict, decl, nxt = service.complete_and_proceed(s, task_id=task_id, body=payload, principal=who, now=utcnow())
        return CompletionRead(
            task=task.id,
            declaration=decl.number,
            declaration_status=decl.status.value,
            hit=verdict.hit,
            critical=verdict.critical,
            findings=list((task.result or {}).get("findings") or []),
            next=nxt,
        )


@router.post("/{task_id}/resolution", response_model=ResolutionRead, responses=ERRORS, summary="Decide after a discrepancy")
def resolve(
    rt: RuntimeDep,
    who: PrincipalDep,
    task_id: TaskId,
    decision: Annotated[str, Body(embed=True, max_length=40)],
    reason: Annotated[str, Body(embed=True, max_length=500)],
) -> ResolutionRead:
    """An officer decides on a declaration held by the inspection: `amend_and_continue` (corrected to the findings) or `reject`."""
    with rt.write() as s:
        task, decl, nxt = service.resolve_and_proceed(s, task_id=task_id, decision=decision, reason=reason, principal=who, now=utcnow())
        return ResolutionRead(
            task=task.id,
            declaration=decl.number,
            declaration_status=decl.status.value,
            version=decl.version,
            resolution=(task.result or {})["resolution"],
            next=nxt,
        )


@router.post(
    "/{task_id}/instructions", status_code=201, response_model=InstructionRead, responses=ERRORS, summary="Instruct a live inspection"
)
def instruct(
    rt: RuntimeDep,
    who: PrincipalDep,
    task_id: TaskId,
    text: Annotated[str, Body(embed=True, max_length=2000)],
    step_id: Annotated[str | None, Body(embed=True, max_length=60)] = None,
) -> InstructionRead:
    """A supervisor of the office leaves an instruction (optionally about one step); the inspectors see it on their next refresh."""
    with rt.write() as s:
        row = service.give_instruction(s, task_id=task_id, text=text, step_id=step_id, principal=who, now=utcnow())
        return InstructionRead.model_validate(row)


@router.get(
    "/{task_id}/photos/{sha256}",
    responses={**ERRORS, 200: {"content": {"image/jpeg": {}, "image/png": {}}}},
    summary="A photo of an inspection",
)
def photo(rt: RuntimeDep, who: PrincipalDep, task_id: TaskId, sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")]) -> Response:
    """The photo's bytes, for the task's inspectors and the office's supervisors."""
    with rt.read() as s:
        row, data = service.photo(s, task_id=task_id, sha256=sha256, store=rt.store, principal=who)
    return Response(data, media_type=row.content_type, headers={"ETag": f'"{row.sha256}"', "Cache-Control": "private, max-age=3600"})
