"""X-ray use cases: a scanner station uploads a scan per container, an image analyst reviews it, marked images are exported.

Each scan opens an image-review task (the task area draws an image analyst of the office). The
analyst marks suspicious regions as rectangles and gives a verdict; a suspect verdict sends the
declaration to physical inspection (an inspection task with its fixed steps). Reviewed scans
keep their regions: they are the training data `smartcustoms xray export` writes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.adapters.storage import FileStore
from smartcustoms.audit.service import record
from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.clearance import service as clearance
from smartcustoms.declaration import domain as declaration_domain
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.declaration.service import transition
from smartcustoms.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Problem, UnsupportedMediaType, ValidationFailed
from smartcustoms.inspection import service as inspection
from smartcustoms.kit.images import dimensions, image_type
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind, TaskStatus
from smartcustoms.xray import domain
from smartcustoms.xray.models import Scan

SCANNERS = frozenset({Role.scanner})


def receive_scan(
    session: Session,
    *,
    number: Any,
    container: Any,
    data: bytes,
    store: FileStore,
    max_bytes: int,
    principal: Principal,
    now: datetime,
) -> tuple[Scan, Task]:
    """Take a scan image of one container of a declaration at the station's office and open its review task."""
    if principal.role not in SCANNERS:
        raise Forbidden("Only scanner stations upload X-ray scans.", code="scan_forbidden")
    decl = session.scalar(select(Declaration).where(Declaration.number == str(number)[:18])) if isinstance(number, str) else None
    if decl is None or decl.office != principal.office:
        raise NotFound(f"No declaration {str(number)[:18]} at office {principal.office}.")
    if decl.status in declaration_domain.TERMINAL:
        raise Conflict(f"Declaration {decl.number} is {decl.status.value}; it takes no scans.", code="scan_closed")
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"The scan is {len(data)} bytes; at most {max_bytes} are accepted.",
            [Problem("XRY-SCN-001", "/image", f"Scans may be at most {max_bytes / (1024 * 1024):g} MB.")],
        )
    content_type = image_type(data)
    if content_type is None:
        raise UnsupportedMediaType(
            "The scan is not a JPEG or PNG image.",
            [Problem("XRY-SCN-002", "/image", "Scans are JPEG or PNG images (known by their content).")],
        )
    size = dimensions(data)
    containers = [c.get("number") for c in decl.payload.get("containers") or []]
    problems = []
    if size is None:
        problems.append(Problem("XRY-SCN-003", "/image", "The image's width and height cannot be read from its header."))
    if container not in containers:
        known = ", ".join(str(c) for c in containers) or "none"
        problems.append(Problem("XRY-SCN-004", "/container", f"{str(container)[:20]!r} is not a container of {decl.number} ({known})."))
    if problems or size is None:
        raise ValidationFailed("The scan cannot be accepted.", problems)
    digest = store.put(data)
    scan = Scan(
        declaration_id=decl.id,
        container=str(container),
        sha256=digest,
        content_type=content_type,
        size=len(data),
        width=size[0],
        height=size[1],
        station=principal.name,
        scanned_at=now,
        regions=[],
    )
    session.add(scan)
    session.flush()
    # The review's one step names the scan, so the analyst's task shows where the image is.
    step = {
        "id": f"{scan.container}.image",
        "container": scan.container,
        "kind": "image",
        "scan": scan.id,
        "image": f"/api/v1/scans/{scan.id}/image",
    }
    task = tasks.open_task(
        session, declaration=decl, kind=TaskKind.image_review, steps=[{**step, "status": "pending"}], actor=principal.actor(), now=now
    )
    scan.task_id = task.id
    session.flush()
    record(
        session,
        actor=principal.actor(),
        action="xray.scan_received",
        subject_type="declaration",
        subject_id=decl.number,
        now=now,
        before=None,
        after={"scan": scan.id, "container": scan.container, "sha256": digest, "task": task.id},
    )
    return scan, task


def scan_of(session: Session, *, task: Task) -> Scan:
    """The scan an image-review task is about."""
    scan = session.scalar(select(Scan).where(Scan.task_id == task.id))
    if scan is None:
        raise NotFound(f"Task {task.id} reviews no scan.", code="not_an_image_review")
    return scan


def get_scan(session: Session, *, scan_id: int, principal: Principal) -> tuple[Scan, Task]:
    """A scan and its review task, for the task's analyst and the office's supervisors (404 for others)."""
    scan = session.get(Scan, scan_id)
    if scan is None or scan.task_id is None:
        raise NotFound(f"No scan {scan_id}.", code="scan_not_found")
    try:
        task = tasks.get_for(session, task_id=scan.task_id, principal=principal)
    except NotFound as exc:
        raise NotFound(f"No scan {scan_id}.", code="scan_not_found") from exc
    return scan, task


def image(session: Session, *, scan_id: int, store: FileStore, principal: Principal) -> tuple[Scan, bytes]:
    """A scan's image bytes, for those who may see the scan."""
    scan, _ = get_scan(session, scan_id=scan_id, principal=principal)
    return scan, store.get(scan.sha256)


def review(session: Session, *, task_id: int, body: Any, principal: Principal, now: datetime) -> tuple[Scan, Task | None]:
    """The analyst's regions and verdict on the task's scan, once; a suspect verdict opens a physical inspection.

    Returns the scan and the inspection task opened (None when clear, or when one is open already).
    """
    task = tasks.get_for(session, task_id=task_id, principal=principal)
    if task.kind is not TaskKind.image_review:
        raise NotFound(f"Task {task_id} is a {task.kind.value} task, not an image review.", code="not_an_image_review")
    tasks.require_open(task)  # a done task answers 409 to those who held it
    tasks.require_holder(session, task=task, principal=principal)
    scan = scan_of(session, task=task)
    verdict, regions, note, problems = domain.check_review(body, width=scan.width, height=scan.height)
    if problems or verdict is None:
        raise ValidationFailed("The review has problems.", problems)
    result: dict[str, Any] = {"scan": scan.id, "verdict": verdict, "regions": regions, "note": note, "passed": True}
    if verdict == "suspect":
        result["next"] = TaskKind.inspection.value  # clearance: a physical inspection comes next
    task.steps = [{**st, "status": "done"} for st in task.steps]
    tasks.finish(session, task=task, result=result, actor=principal.actor(), now=now)
    scan.verdict, scan.regions, scan.note, scan.reviewed_by, scan.reviewed_at = verdict, regions, note, principal.name, now
    session.flush()
    record(
        session,
        actor=principal.actor(),
        action="xray.reviewed",
        subject_type="task",
        subject_id=str(task.id),
        now=now,
        before=None,
        after={"scan": scan.id, "verdict": verdict, "regions": len(regions)},
        reason=note,
    )
    if verdict != "suspect":
        return scan, None
    decl = session.get(Declaration, task.declaration_id)
    assert decl is not None
    if decl.status is not Status.under_inspection and declaration_domain.can_transition(decl.status, Status.under_inspection):
        transition(session, decl=decl, to=Status.under_inspection, actor=principal.actor(), now=now, reason=f"X-ray scan {scan.id} suspect")
    live = [t for t in tasks.tasks_of(session, declaration_id=decl.id) if t.kind is TaskKind.inspection and t.status is not TaskStatus.done]
    if live:
        return scan, None
    return scan, inspection.open_inspection(session, declaration=decl, actor=principal.actor(), now=now)


def training_set(session: Session, *, verdict: str | None = None) -> Sequence[Scan]:
    """Every reviewed scan (optionally of one verdict) with its regions, oldest first."""
    stmt = select(Scan).where(Scan.verdict.is_not(None))
    if verdict is not None:
        stmt = stmt.where(Scan.verdict == verdict)
    return session.scalars(stmt.order_by(Scan.id)).all()


def review_and_proceed(session: Session, *, task_id: int, body: Any, principal: Principal, now: datetime) -> tuple[Scan, Task | None, str]:
    """Review the scan (`review`), then clearance's next step for the declaration."""
    scan, opened = review(session, task_id=task_id, body=body, principal=principal, now=now)
    decl = session.get(Declaration, scan.declaration_id)
    assert decl is not None
    return scan, opened, clearance.proceed(session, declaration=decl, now=now)
