"""Routes of X-ray (non-intrusive) inspection: scanner uploads, the scan and its image, the analyst's review."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Path, Response, UploadFile
from sqlalchemy.orm import Session

from smartcustoms.declaration.models import Declaration
from smartcustoms.kit.clock import utcnow
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_BIGINT_MAX, PrincipalDep, RuntimeDep
from smartcustoms.xray import service
from smartcustoms.xray.models import Scan
from smartcustoms.xray.schemas import ScanRead

router = APIRouter(prefix="/api/v1", tags=["xray"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "The caller's role may not do this, or is not the task's analyst"},
    404: {"description": "No such scan, task or declaration, or not the caller's"},
    409: {"description": "Already reviewed, declaration closed, or changed concurrently; nothing changed"},
    422: {"description": "Every problem with the request, each with code, pointer and message"},
}
Id = Annotated[int, Path(ge=1, le=DB_BIGINT_MAX)]


def _read(s: Session, scan: Scan, inspection_task: int | None = None) -> ScanRead:
    decl = s.get(Declaration, scan.declaration_id)
    assert decl is not None
    fields = {k: getattr(scan, k) for k in ScanRead.model_fields if k not in ("declaration", "task", "inspection_task")}
    return ScanRead(**fields, declaration=decl.number, task=scan.task_id, inspection_task=inspection_task)


@router.post(
    "/scans",
    status_code=201,
    response_model=ScanRead,
    responses={**ERRORS, 413: {"description": "Image too large"}, 415: {"description": "Not a JPEG or PNG image"}},
    summary="Upload an X-ray scan",
)
def upload_scan(
    rt: RuntimeDep,
    who: PrincipalDep,
    declaration: Annotated[str, Form(max_length=18, description="the declaration's number")],
    container: Annotated[str, Form(max_length=11, description="the scanned container's number")],
    image: Annotated[UploadFile, File(description="the scan image, JPEG or PNG")],
) -> ScanRead:
    """A scanner station of the declaration's office uploads one container's scan; an image-review task is opened for it."""
    limit = rt.settings.max_scan_bytes
    data = image.file.read(limit + 1)
    with rt.write() as s:
        scan, _ = service.receive_scan(
            s, number=declaration, container=container, data=data, store=rt.store, max_bytes=limit, principal=who, now=utcnow()
        )
        return _read(s, scan)


@router.get("/scans/{scan_id}", response_model=ScanRead, responses=ERRORS, summary="An X-ray scan")
def get_scan(rt: RuntimeDep, who: PrincipalDep, scan_id: Id) -> ScanRead:
    """The scan with its regions and verdict, for its review task's analyst and the office's supervisors."""
    with rt.read() as s:
        scan, _ = service.get_scan(s, scan_id=scan_id, principal=who)
        return _read(s, scan)


@router.get(
    "/scans/{scan_id}/image", responses={**ERRORS, 200: {"content": {"image/jpeg": {}, "image/png": {}}}}, summary="An X-ray scan's image"
)
def scan_image(rt: RuntimeDep, who: PrincipalDep, scan_id: Id) -> Response:
    """The scan image as uploaded."""
    with rt.read() as s:
        scan, data = service.image(s, scan_id=scan_id, store=rt.store, principal=who)
    return Response(data, media_type=scan.content_type, headers={"ETag": f'"{scan.sha256}"', "Cache-Control": "private, max-age=3600"})


@router.post("/tasks/{task_id}/review", response_model=ScanRead, responses=ERRORS, summary="Review an X-ray scan")
def review(rt: RuntimeDep, who: PrincipalDep, task_id: Id, payload: Annotated[Any, Body()]) -> ScanRead:
    """The analyst marks regions (`{"x","y","width","height","label"}` in pixels) and gives a verdict: clear, or suspect → physical inspection."""
    with rt.write() as s:
        scan, opened, _ = service.review_and_proceed(s, task_id=task_id, body=payload, principal=who, now=utcnow())
        return _read(s, scan, opened.id if opened is not None else None)
