"""The officers' desk: the work queue, a task with its declaration and the review decision, and reassignment.

Each page calls the services the API calls (task, review, clearance); who may see and do what is
theirs and auth/roles.py's: another officer's task answers 404 here as it does through the API.
Forms carry the session's CSRF token (as the portal's do).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from smartcustoms.auth.roles import REVENUE_READERS, SUPERVISORS, TASK_WORKERS
from smartcustoms.auth.service import Principal
from smartcustoms.clearance import service as clearance
from smartcustoms.declaration import repository
from smartcustoms.declaration.models import Declaration
from smartcustoms.errors import Conflict, SmartCustomsError, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.review import service as review
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.roster.service import ROSTER_KEEPERS
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind, TaskStatus
from smartcustoms.web import i18n
from smartcustoms.web.deps import DB_BIGINT_MAX, DB_INT_MAX, runtime
from smartcustoms.web.i18n import N_, labels
from smartcustoms.web.pages import _who, csrf_refused, language, problem, templates
from smartcustoms.web.portal import _csrf_ok, problem_text

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Page = Annotated[int, Query(ge=1, le=DB_INT_MAX // PAGE_SIZE)]
# Where each kind of task is worked (the inspection and X-ray pages are web/field_pages.py's).
WORK_PAGES = {"inspection": "/tasks/{id}/inspection", "image_review": "/tasks/{id}/xray"}
CONFLICT = N_(
    "Someone else acted on this task at the same time, or it is no longer open; your decision was not recorded. The page shows the task as it is now."
)
DONE = {
    "decision": N_("Your decision is recorded."),
    "reassigned": N_("The task was reassigned by a new draw."),
}
AGE = N_("%(days)s d %(hours)s h")


def desk_links(who: Principal | None) -> list[tuple[str, str]]:
    """The desk's links the header shows this user (by the role rules): the work queue, the roster, revenue."""
    if who is None:
        return []
    links = []
    if who.role in TASK_WORKERS:
        links.append(("/tasks", N_("My tasks")))
    elif who.role in SUPERVISORS:
        links.append(("/tasks", N_("Office tasks")))
    if who.role in ROSTER_KEEPERS:
        links.append(("/roster", N_("Roster")))
    if who.role in REVENUE_READERS:
        links.append(("/revenue", N_("Revenue")))
    return links


def age(since: datetime | None, now: datetime) -> dict[str, int]:
    """Days and hours since a time (0 for none or the future)."""
    hours = max(int((now - since).total_seconds() // 3600), 0) if since is not None else 0
    return {"days": hours // 24, "hours": hours % 24}


def work_page(task: Task) -> str:
    """The page a task is worked on."""
    return WORK_PAGES.get(task.kind.value, "/tasks/{id}").format(id=task.id)


templates.env.globals["desk_links"] = desk_links
templates.env.globals["work_page"] = work_page


def _choice(value: str | None, choices: type[TaskKind] | type[TaskStatus]) -> Any:
    return choices(value) if value is not None and value in choices.__members__ else None


def _queue(request: Request, who: Principal, kind: str | None, status: str | None, page: int) -> dict[str, Any]:
    k, st = _choice(kind, TaskKind), _choice(status, TaskStatus)
    with runtime(request).read() as s:
        rows, total = tasks.queue(s, principal=who, status=st, kind=k, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    lang, now = language(request), utcnow()
    ages = {r.task.id: i18n.gettext(lang, AGE) % age(r.task.created_at, now) for r in rows}
    return {
        "rows": rows,
        "ages": ages,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "kind": k.value if k else None,
        "status": st.value if st else None,
        "kinds": [x.value for x in TaskKind],
        "statuses": [x.value for x in TaskStatus],
        "office_view": who.role in SUPERVISORS,
    }


@router.get("/tasks", response_class=HTMLResponse)
def queue(request: Request, kind: str | None = None, status: str | None = None, page: Page = 1) -> Response:
    """The work queue: the officer's tasks (a supervisor: the office's, with holder and age), open first, a page at a time."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    try:
        ctx = _queue(request, who, kind or None, status or None, page)
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    return templates.TemplateResponse(request, "tasks.html", {"who": who, **ctx})


TaskId = Annotated[int, Path(ge=1, le=DB_BIGINT_MAX)]


def _task_context(request: Request, who: Principal, task_id: int) -> dict[str, Any]:
    """Everything the task page shows; 404 (NotFound) unless the task is the caller's or their office's."""
    rt = runtime(request)
    with rt.read() as s:
        task = tasks.get_for(s, task_id=task_id, principal=who)
        d = s.get(Declaration, task.declaration_id)
        assert d is not None
        latest = selectivity.latest(s, declaration_id=d.id)
        ctx = {
            "task": task,
            "d": d,
            "p": d.payload,
            "a": selectivity.view(latest, principal=who, decl=d) if latest is not None else None,
            "docs": repository.documents(s, declaration_id=d.id),
            "queries": review.queries_of(s, declaration_id=d.id),
            "holders": tasks.assignees(s, task=task),
            "holds": tasks.holds(s, task=task, principal=who),
            "supervises": tasks.supervises(who, task),
        }
    if who.role in TASK_WORKERS:  # an officer's reading of the declaration is journaled
        with rt.write() as s:
            tasks.journal_read(s, principal=who, declaration=d, now=utcnow())
    ctx["draw"] = task.draw if ctx["supervises"] else None
    ctx["decides"] = ctx["holds"] and task.kind is TaskKind.review and task.status is TaskStatus.open
    ctx["age"] = i18n.gettext(language(request), AGE) % age(task.created_at, utcnow())
    return ctx


def _task_page(request: Request, who: Principal, task_id: int, *, extra: dict[str, Any] | None = None, status: int = 200) -> Response:
    try:
        ctx = _task_context(request, who, task_id)
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    ctx |= {"who": who, "decisions": list(labels.DECISIONS), **(extra or {})}
    return templates.TemplateResponse(request, "task.html", ctx, status_code=status)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: TaskId, done: str | None = None) -> Response:
    """One task: its declaration, the risk reasons, documents, queries and answers; the decision form for its holder;
    the draw and the reassignment form for a supervisor of its office."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    notice = i18n.gettext(language(request), DONE[done]) if done in DONE else None
    return _task_page(request, who, task_id, extra={"notice": notice})


def _refused(request: Request, who: Principal, task_id: int, exc: SmartCustomsError, form: str, values: dict[str, str]) -> Response:
    """The task page again with why the form was refused: its problems at their fields, or the conflict in plain words."""
    lang = language(request)
    if isinstance(exc, ValidationFailed):
        errors: dict[str, list[str]] = {}
        for p in exc.problems:
            errors.setdefault(p.pointer.lstrip("/") or "form", []).append(problem_text(lang, p))
        return _task_page(request, who, task_id, extra={"errors": {form: errors}, "values": values}, status=422)
    if isinstance(exc, Conflict):
        return _task_page(request, who, task_id, extra={"conflict": i18n.gettext(lang, CONFLICT), "values": values}, status=409)
    return problem(request, who, exc)


async def _officer_form(request: Request) -> tuple[Principal | None, dict[str, str], Response | None]:
    """The signed-in user and the form they sent with a valid CSRF token, or the page to answer instead."""
    who = await run_in_threadpool(_who, request)
    if who is None:
        return None, {}, RedirectResponse("/login", status_code=303)
    data = await request.form()
    values = {k: v for k, v in data.items() if isinstance(v, str)}
    if not _csrf_ok(request, values.get("csrf", "")):
        return who, values, csrf_refused(request, who)
    return who, values, None


async def signed_form_action(request: Request, action: Callable[..., Response], *args: Any) -> Response:
    """Run `action(request, who, *args, values)` in a worker thread for a signed-in user's form with a valid CSRF token."""
    who, values, refused = await _officer_form(request)
    if refused is not None or who is None:
        return refused or RedirectResponse("/login", status_code=303)
    return await run_in_threadpool(action, request, who, *args, values)


def _decide(request: Request, who: Principal, task_id: int, values: dict[str, str]) -> Response:
    decision, reason, question = values.get("decision", ""), values.get("reason", ""), values.get("question", "").strip() or None
    try:
        with runtime(request).write() as s:
            clearance.decide(s, task_id=task_id, decision=decision, reason=reason, question=question, principal=who, now=utcnow())
    except SmartCustomsError as exc:
        return _refused(request, who, task_id, exc, "decision", values)
    return RedirectResponse(f"/tasks/{task_id}?done=decision", status_code=303)


@router.post("/tasks/{task_id}/decision", response_class=HTMLResponse)
async def decide(request: Request, task_id: TaskId) -> Response:
    """The holder's review decision (accept, query with a question, inspect, reject; a reason always), as the API takes it."""
    return await signed_form_action(request, _decide, task_id)


def _reassign(request: Request, who: Principal, task_id: int, values: dict[str, str]) -> Response:
    try:
        with runtime(request).write() as s:
            task = tasks.get_for(s, task_id=task_id, principal=who)
            tasks.reassign(s, task=task, reason=values.get("reason", ""), principal=who, now=utcnow())
    except SmartCustomsError as exc:
        return _refused(request, who, task_id, exc, "reassignment", values)
    return RedirectResponse(f"/tasks/{task_id}?done=reassigned", status_code=303)


@router.post("/tasks/{task_id}/reassignment", response_class=HTMLResponse)
async def reassign(request: Request, task_id: TaskId) -> Response:
    """A supervisor of the office gives the task to others by a new draw that excludes its holders (a reason required)."""
    return await signed_form_action(request, _reassign, task_id)
