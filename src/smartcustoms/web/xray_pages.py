"""The X-ray image review for the image analyst: the scan, rectangles drawn on it with the mouse or a finger
(web/static/xray.js, pointer events), the regions listed and removable, and the verdict: clear, or
suspect (the declaration goes to physical inspection).

The review goes through `xray.service.review_and_proceed`, as the API's does.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from smartcustoms.auth.service import Principal
from smartcustoms.declaration.models import Declaration
from smartcustoms.errors import NotFound, SmartCustomsError, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.task import service as tasks
from smartcustoms.task.models import TaskKind
from smartcustoms.web import field_forms
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import runtime
from smartcustoms.web.field_pages import TaskId, act, field_problem
from smartcustoms.web.pages import _who, language, templates
from smartcustoms.xray import service as xray

router = APIRouter(include_in_schema=False, route_class=StrictJSONRoute)


def _view(request: Request, who: Principal, task_id: int) -> dict[str, Any]:
    """The review task and its scan, for the task's analyst and the office's supervisors (404 for others)."""
    with runtime(request).read() as s:
        task = tasks.get_for(s, task_id=task_id, principal=who)
        if task.kind is not TaskKind.image_review:
            raise NotFound(f"Task {task_id} is not an image review.", code="not_an_image_review")
        scan = xray.scan_of(s, task=task)
        decl = s.get(Declaration, scan.declaration_id)
        opened = next(
            (t.id for t in tasks.tasks_of(s, declaration_id=scan.declaration_id) if t.kind is TaskKind.inspection and t.id > task.id),
            None,
        )
        return {
            "task": task.id,
            "status": task.status.value,
            "holds": who.name in tasks.assignees(s, task=task),
            "number": decl.number if decl is not None else "",
            "decl_status": decl.status.value if decl is not None else "",
            "scan": scan.id,
            "container": scan.container,
            "width": scan.width,
            "height": scan.height,
            "scanned_at": scan.scanned_at,
            "station": scan.station,
            "verdict": scan.verdict,
            "regions": list(scan.regions or []),
            "note": scan.note,
            "reviewed_by": scan.reviewed_by,
            "inspection": opened,
        }


def _page(request: Request, who: Principal, task_id: int, status: int = 200, **extra: Any) -> Response:
    try:
        v = _view(request, who, task_id)
    except SmartCustomsError as exc:
        return field_problem(request, who, exc)
    ctx: dict[str, Any] = {"who": who, "v": v, "values": {}, "errors": {}, "top": [], **extra}
    ctx.setdefault("regions_json", json.dumps(v["regions"]))
    return templates.TemplateResponse(request, "xray.html", ctx, status_code=status)


@router.get("/tasks/{task_id}/xray", response_class=HTMLResponse)
def review_page(request: Request, task_id: TaskId) -> Response:
    """The scan to review, the regions drawn on it and the verdict form (after the review: what was decided)."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    return _page(request, who, task_id)


def _review(request: Request, who: Principal, task_id: int, fields: dict[str, str]) -> Response:
    regions = field_forms.regions_of(fields.get("regions", ""))
    body: dict[str, Any] = {"verdict": fields.get("verdict", "").strip() or None, "regions": regions if regions is not None else {}}
    if fields.get("note", "").strip():
        body["note"] = fields["note"].strip()
    try:
        with runtime(request).write() as s:
            xray.review_and_proceed(s, task_id=task_id, body=body, principal=who, now=utcnow())
    except ValidationFailed as exc:
        names = {"/verdict": "verdict", "/note": "note", "/regions": "regions", "": "regions"}
        by_field, top = field_forms.at_fields(exc.problems, names, language(request))
        kept = fields.get("regions", "") if regions is not None else "[]"
        return _page(request, who, task_id, status=exc.status, values=fields, errors=by_field, top=top, regions_json=kept)
    except SmartCustomsError as exc:
        return field_problem(request, who, exc)
    return RedirectResponse(f"/tasks/{task_id}/xray", status_code=303)


@router.post("/tasks/{task_id}/xray", response_class=HTMLResponse)
async def review(request: Request, task_id: TaskId) -> Response:
    """Send the review (regions and verdict) through the X-ray service; a suspect verdict opens a physical inspection."""
    return await act(request, lambda rq, who, fields, _: _review(rq, who, task_id, fields))
