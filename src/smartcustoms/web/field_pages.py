"""The inspection task on a phone: the steps per container in order, the current step's form with camera capture,
progress, the supervisor's instructions (htmx polling), then the completion form.

Every change goes through the same service functions as the API (`inspection.service`): the same
order of steps, the same photo checks, the same journal. The task's two inspectors work it; a
supervisor of the office who opens it is sent to the remote-assistance view (web/assist_pages.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from smartcustoms.auth import sessions
from smartcustoms.auth.service import Principal
from smartcustoms.declaration.models import Status
from smartcustoms.errors import NotFound, PayloadTooLarge, SmartCustomsError, UnsupportedMediaType, ValidationFailed
from smartcustoms.inspection import domain as inspection_domain
from smartcustoms.inspection import service as inspection
from smartcustoms.kit.clock import utcnow
from smartcustoms.release import service as release_service
from smartcustoms.task import service as tasks
from smartcustoms.task.models import TaskStatus
from smartcustoms.web import field_forms, i18n
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_BIGINT_MAX, SESSION_COOKIE, runtime
from smartcustoms.web.field_forms import ERRORS, STEP_FIELDS
from smartcustoms.web.i18n import N_
from smartcustoms.web.pages import _who, csrf_refused, language, problem, templates

router = APIRouter(include_in_schema=False, route_class=StrictJSONRoute)
TaskId = Annotated[int, Path(ge=1, le=DB_BIGINT_MAX)]
StepId = Annotated[str, Path(max_length=60)]
POLL = "every 5s"  # how often the pages ask for instructions and new steps (htmx)
RECORDED = N_("Step recorded: %(step)s.")
FIELD_ERRORS = (ValidationFailed, PayloadTooLarge, UnsupportedMediaType)
for name, table in (
    ("step_titles", field_forms.STEP_TITLES),
    ("step_conditions", field_forms.CONDITIONS),
    ("finding_types", field_forms.FINDING_TYPES),
    ("verdicts", field_forms.VERDICTS),
    ("result_keys", field_forms.RESULT_KEYS),
):
    templates.env.globals[name] = table
templates.env.globals["field_poll"] = POLL


def field_problem(request: Request, who: Principal | None, exc: SmartCustomsError) -> Response:
    """An error that ends a request as a page, in the page's language (the field pages' codes first, then the site's)."""
    if exc.code not in ERRORS:
        return problem(request, who, exc)
    lang = language(request)
    title, detail = ERRORS[exc.code]
    shown = {"title": i18n.gettext(lang, title), "detail": i18n.gettext(lang, detail), "status": exc.status}
    return templates.TemplateResponse(request, "problem.html", {"who": who, "error": shown}, status_code=exc.status)


def csrf_ok(request: Request, token: str) -> bool:
    """Whether a form's CSRF token is the one bound to this browser's session."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return bool(cookie) and sessions.csrf_ok(secret=runtime(request).settings.secret_key, binding="session:" + cookie, token=token)


async def signed_form(request: Request) -> tuple[Principal | None, dict[str, str], list[StarletteUpload], Response | None]:
    """The signed-in user, the form's text fields and its files, or the page to answer instead (sign in; CSRF refused).

    Who is asking is settled before the body is read: a stranger meets the sign-in page.
    """
    who = await run_in_threadpool(_who, request)
    if who is None:
        return None, {}, [], RedirectResponse("/login", status_code=303)
    data = await request.form()
    fields = {k: v for k, v in data.multi_items() if isinstance(v, str)}
    files = [v for v in data.getlist("photos") if isinstance(v, StarletteUpload) and (v.filename or v.size)]
    if not csrf_ok(request, fields.get("csrf", "")):
        return who, fields, files, csrf_refused(request, who)
    return who, fields, files, None


Work = Callable[[Request, Principal, dict[str, str], list[StarletteUpload]], Response]


async def act(request: Request, work: Work) -> Response:
    """Answer a form: the sign-in page to a stranger, the CSRF refusal to a forged form, else `work` (in a worker thread)."""
    who, fields, files, refused = await signed_form(request)
    if refused is not None or who is None:
        return refused or RedirectResponse("/login", status_code=303)
    return await run_in_threadpool(work, request, who, fields, files)


def _steps_view(steps: list[dict[str, Any]], photos: Counter[str]) -> list[dict[str, Any]]:
    """The steps grouped by container, in order, each with its number of photos."""
    out: list[dict[str, Any]] = []
    for st in steps:
        if not out or out[-1]["number"] != st["container"]:
            out.append({"number": st["container"], "steps": []})
        out[-1]["steps"].append({**st, "photo_count": photos[st["id"]]})
    return out


def inspection_view(request: Request, who: Principal, task_id: int) -> dict[str, Any]:
    """What the inspection and assistance pages show of a live inspection (404 unless the caller may see it)."""
    with runtime(request).read() as s:
        task, said, photos = inspection.live(s, task_id=task_id, principal=who)
        decl = inspection.ensure_steps(s, task)
        steps = [dict(st) for st in task.steps]
        # A done task has no holders left: those who did its steps stand for them.
        holders = tasks.assignees(s, task=task) or sorted({str(st["done_by"]) for st in steps if st.get("done_by")})
        rel = release_service.of_declaration(s, declaration_id=decl.id) if decl.status is Status.released else None
        current = next((st for st in steps if st["status"] != "done"), None)
        by_step = Counter(p.step_id for p in photos)
        return {
            "task": task.id,
            "status": task.status.value,
            "number": decl.number,
            "decl_status": decl.status.value,
            "holders": holders,
            "holds": who.name in holders,
            "supervises": tasks.supervises(who, task),
            "steps": steps,
            "containers": _steps_view(steps, by_step),
            "current": current,
            "done": sum(1 for st in steps if st["status"] == "done"),
            "total": len(steps),
            "photos": [{"sha256": p.sha256, "step_id": p.step_id, "taken_by": p.taken_by} for p in photos],
            "instructions": [
                {"text": i.text, "step_id": i.step_id, "given_by": i.given_by, "given_at": i.given_at} for i in reversed(said)
            ],
            "result": task.result,
            "release": rel.number if rel is not None else None,
            "lines": field_forms.counted_lines(decl.payload),
            "numbers": [str(c.get("number")) for c in decl.payload.get("containers") or []],
            "seals": {str(c.get("number")): list(c.get("seals") or []) for c in decl.payload.get("containers") or []},
        }


def _page(request: Request, who: Principal, v: dict[str, Any], status: int = 200, **extra: Any) -> Response:
    ctx = {"who": who, "v": v, "values": {}, "errors": {}, "top": [], "notice": None, **extra}
    return templates.TemplateResponse(request, "inspection.html", ctx, status_code=status)


def _show(request: Request, task_id: int, recorded: str | None) -> Response:
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    try:
        v = inspection_view(request, who, task_id)
    except SmartCustomsError as exc:
        return field_problem(request, who, exc)
    if not v["holds"] and v["supervises"] and v["status"] != TaskStatus.done.value:
        return RedirectResponse(f"/tasks/{task_id}/assist", status_code=303)
    notice = None
    parsed = inspection_domain.parse_step_id(recorded) if recorded else None
    if parsed is not None:
        lang = language(request)
        step = f"{i18n.gettext(lang, field_forms.STEP_TITLES[parsed[1]])} · {parsed[0]}"
        notice = i18n.gettext(lang, RECORDED) % {"step": step}
    return _page(request, who, v, notice=notice)


@router.get("/tasks/{task_id}/inspection", response_class=HTMLResponse)
def inspection_page(request: Request, task_id: TaskId, recorded: Annotated[str | None, Query(max_length=60)] = None) -> Response:
    """The inspection task for its inspectors, built for a phone: progress, instructions, the current step's form, the steps."""
    return _show(request, task_id, recorded or None)


@router.get("/tasks/{task_id}/inspection/instructions", response_class=HTMLResponse)
def instructions(request: Request, task_id: TaskId) -> Response:
    """The supervisor's instructions (the fragment the page polls)."""
    return fragment(request, task_id, inspection_view, "inspection_instructions.html")


def fragment(request: Request, task_id: int, view: Callable[[Request, Principal, int], dict[str, Any]], template: str) -> Response:
    """A part of a page that htmx polls: 401 to a stranger (no page to go to), the error page, or the template with the view."""
    who = _who(request)
    if who is None:
        return Response(status_code=401)
    try:
        v = view(request, who, task_id)
    except SmartCustomsError as exc:
        return field_problem(request, who, exc)
    return templates.TemplateResponse(request, template, {"who": who, "v": v})


def _step_fields(kind: str, count_fields: list[str]) -> dict[str, str]:
    """Pointer prefix -> form field, for the problems of a step's result."""
    fields = {f"/result/{name}": name for name in (*STEP_FIELDS.get(kind, ()), "note")}
    fields |= {"/result/counts": "counts", "/photos": "photos"}
    fields |= {f"/result/counts/{n}": name for n, name in enumerate(count_fields)}
    return fields


def _record(request: Request, who: Principal, task_id: int, step_id: str, fields: dict[str, str], files: list[StarletteUpload]) -> Response:
    rt = runtime(request)
    limit = rt.settings.max_photo_bytes
    uploads = [inspection.Upload(data=f.file.read(limit + 1), filename=f.filename or "photo") for f in files]
    parsed = inspection_domain.parse_step_id(step_id)
    kind = parsed[1] if parsed is not None else ""
    count_fields: list[str] = []
    try:
        with rt.write() as s:
            task, _, _ = inspection.live(s, task_id=task_id, principal=who)
            decl = inspection.ensure_steps(s, task)
            result, count_fields = field_forms.step_result(kind, fields, decl.payload)
            inspection.record_step(
                s,
                task_id=task_id,
                step_id=step_id,
                result=result,
                photos=uploads,
                store=rt.store,
                max_photo_bytes=limit,
                principal=who,
                now=utcnow(),
            )
    except FIELD_ERRORS as exc:
        by_field, top = field_forms.at_fields(exc.problems, _step_fields(kind, count_fields), language(request))
        return _again(request, who, task_id, exc, values=fields, errors=by_field, top=top)
    except (inspection.StepOutOfOrder, NotFound) as exc:
        if exc.code not in ("step_out_of_order", "step_not_found"):
            return field_problem(request, who, exc)
        return _again(request, who, task_id, exc, top=[field_forms.problem_text(language(request), p) for p in exc.problems])
    except SmartCustomsError as exc:
        return field_problem(request, who, exc)
    return RedirectResponse(f"/tasks/{task_id}/inspection?recorded={step_id}", status_code=303)


def _again(request: Request, who: Principal, task_id: int, exc: SmartCustomsError, **extra: Any) -> Response:
    """The inspection page again, with a refused request's problems, at the refusal's status."""
    try:
        v = inspection_view(request, who, task_id)
    except SmartCustomsError as gone:
        return field_problem(request, who, gone)
    return _page(request, who, v, status=exc.status, **extra)


@router.post("/tasks/{task_id}/inspection/steps/{step_id}", response_class=HTMLResponse)
async def record_step(request: Request, task_id: TaskId, step_id: StepId) -> Response:
    """Record the step from its form (answers and photos), through the inspection service; then the next step."""
    return await act(request, lambda rq, who, fields, files: _record(rq, who, task_id, step_id, fields, files))


def _completion_fields(rows: list[int]) -> dict[str, str]:
    fields = {"/reason": "reason", "/findings": "findings"}
    for n, row in enumerate(rows):
        fields[f"/findings/{n}"] = f"finding-{row}"
        fields |= {f"/findings/{n}/{k}": f"finding-{row}-{k}" for k in ("type", "line", "container", "declared", "found", "note")}
    return fields


def _complete(request: Request, who: Principal, task_id: int, fields: dict[str, str]) -> Response:
    body, rows = field_forms.findings_body(fields)
    try:
        with runtime(request).write() as s:
            inspection.complete_and_proceed(s, task_id=task_id, body=body, principal=who, now=utcnow())
    except ValidationFailed as exc:
        by_field, top = field_forms.at_fields(exc.problems, _completion_fields(rows), language(request))
        return _again(request, who, task_id, exc, values=fields, errors=by_field, top=top, open_findings=bool(rows))
    except inspection.StepOutOfOrder as exc:
        return _again(request, who, task_id, exc, top=[field_forms.problem_text(language(request), p) for p in exc.problems])
    except SmartCustomsError as exc:
        return field_problem(request, who, exc)
    return RedirectResponse(f"/tasks/{task_id}/inspection", status_code=303)


@router.post("/tasks/{task_id}/inspection/completion", response_class=HTMLResponse)
async def complete(request: Request, task_id: TaskId) -> Response:
    """Complete the inspection: no findings with a reason, or the findings; a discrepancy holds the declaration."""
    return await act(request, lambda rq, who, fields, _: _complete(rq, who, task_id, fields))
