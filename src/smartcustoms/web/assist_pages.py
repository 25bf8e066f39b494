"""Remote assistance: a supervisor of the office follows a live inspection (steps and photos as they arrive, by htmx
polling) and leaves instructions, optionally about one step, that the inspectors see on their page.

The instruction goes through `inspection.service.give_instruction`, as the API's does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from smartcustoms.auth.service import Principal
from smartcustoms.errors import Forbidden, SmartCustomsError, ValidationFailed
from smartcustoms.inspection import service as inspection
from smartcustoms.kit.clock import utcnow
from smartcustoms.web import field_forms, i18n
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import runtime
from smartcustoms.web.field_pages import TaskId, act, field_problem, fragment, inspection_view
from smartcustoms.web.i18n import N_
from smartcustoms.web.pages import _who, language, templates

router = APIRouter(include_in_schema=False, route_class=StrictJSONRoute)
SENT = N_("Instruction sent: the inspectors see it on their page within seconds.")
NOT_A_SUPERVISOR = "Remote assistance is for the supervisors of the task's office."


def _view(request: Request, who: Principal, task_id: int) -> dict[str, Any]:
    """The live inspection, for a supervisor of its office (404 for those who may not see it, 403 for its inspectors)."""
    v = inspection_view(request, who, task_id)
    if not v["supervises"]:
        raise Forbidden(NOT_A_SUPERVISOR, code="assist_forbidden")
    by_step: dict[str, list[str]] = {}
    for p in v["photos"]:
        by_step.setdefault(p["step_id"], []).append(p["sha256"])
    for group in v["containers"]:
        for st in group["steps"]:
            st["shas"] = by_step.get(st["id"], [])
    return v


def _page(request: Request, who: Principal, task_id: int, status: int = 200, **extra: Any) -> Response:
    try:
        v = _view(request, who, task_id)
    except SmartCustomsError as exc:
        return field_problem(request, who, exc)
    ctx = {"who": who, "v": v, "values": {}, "errors": {}, "top": [], "notice": None, **extra}
    return templates.TemplateResponse(request, "assist.html", ctx, status_code=status)


@router.get("/tasks/{task_id}/assist", response_class=HTMLResponse)
def assist(request: Request, task_id: TaskId, sent: int | None = None) -> Response:
    """The remote-assistance view of a live inspection: progress, steps and photos as they arrive, the instruction form."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    notice = i18n.gettext(language(request), SENT) if sent else None
    return _page(request, who, task_id, notice=notice)


@router.get("/tasks/{task_id}/assist/live", response_class=HTMLResponse)
def live(request: Request, task_id: TaskId) -> Response:
    """The steps, photos and instructions of the inspection (the fragment the view polls)."""
    return fragment(request, task_id, _view, "assist_live.html")


def _instruct(request: Request, who: Principal, task_id: int, fields: dict[str, str]) -> Response:
    step = fields.get("step_id", "").strip() or None
    try:
        with runtime(request).write() as s:
            inspection.give_instruction(s, task_id=task_id, text=fields.get("text", ""), step_id=step, principal=who, now=utcnow())
    except ValidationFailed as exc:
        by_field, top = field_forms.at_fields(exc.problems, {"/text": "text", "/step_id": "step_id"}, language(request))
        return _page(request, who, task_id, status=exc.status, values=fields, errors=by_field, top=top)
    except SmartCustomsError as exc:
        return field_problem(request, who, exc)
    return RedirectResponse(f"/tasks/{task_id}/assist?sent=1", status_code=303)


@router.post("/tasks/{task_id}/assist/instructions", response_class=HTMLResponse)
async def instruct(request: Request, task_id: TaskId) -> Response:
    """Leave an instruction on the live inspection (through the inspection service), optionally about one step."""
    return await act(request, lambda rq, who, fields, _: _instruct(rq, who, task_id, fields))
