"""The revenue page: duties and taxes by HS chapter, origin, office and month over a date range, as
server-rendered SVG bar charts (no script, no inline style), and the same figures as CSV.

Who may read it is `auth.roles.REVENUE_READERS`; a user bound to an office sees that office's revenue.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from smartcustoms.auth.roles import REVENUE_READERS
from smartcustoms.auth.service import Principal
from smartcustoms.duty import report
from smartcustoms.errors import Forbidden, Problem, SmartCustomsError, Unauthorized, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.web.deps import authenticate, runtime
from smartcustoms.web.i18n import N_
from smartcustoms.web.pages import problem, templates

router = APIRouter(include_in_schema=False)
DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
BAR_HEIGHT, GAP, LABEL_WIDTH, BAR_WIDTH = 18, 6, 150, 330  # the charts' geometry, in SVG user units
TITLES = {
    "chapter": N_("Revenue by HS chapter"),
    "origin": N_("Revenue by origin"),
    "office": N_("Revenue by customs office"),
    "period": N_("Revenue by month"),
}
DateText = Annotated[str | None, Query(max_length=10)]


def _who(request: Request) -> Principal | None:
    try:
        return authenticate(request)
    except Unauthorized:
        return None


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label, amount (CNY) and geometry."""

    label: str
    amount: Decimal
    y: int
    width: int


def window(start: str | None, end: str | None, *, today: date) -> tuple[date, date]:
    """The date range asked for (default: the last 90 days to today); 422 with a pointer for a bad or reversed one."""
    problems: list[Problem] = []

    def day(raw: str | None, pointer: str, default: date) -> date:
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            problems.append(Problem("DUT-REV-001", pointer, f"{raw!r} is not a date; write it as YYYY-MM-DD."))
            return default

    hi = day(end, "/to", today)
    lo = day(start, "/from", hi - timedelta(days=DEFAULT_DAYS))
    if not problems and lo > hi:
        problems.append(Problem("DUT-REV-002", "/from", "The first day comes after the last day."))
    elif not problems and (hi - lo).days > MAX_DAYS:
        problems.append(Problem("DUT-REV-003", "/to", f"A range is at most {MAX_DAYS} days; choose a shorter one."))
    if problems:
        raise ValidationFailed("The revenue cannot be shown for that range.", problems)
    return lo, hi


def chart(pairs: list[tuple[str, Decimal]]) -> dict[str, Any]:
    """Bars scaled to the largest amount, with the SVG's height."""
    top = max((v for _, v in pairs), default=Decimal(0))
    bars = [
        Bar(label, amount, i * (BAR_HEIGHT + GAP), int(BAR_WIDTH * amount / top) if top > 0 else 0)
        for i, (label, amount) in enumerate(pairs)
    ]
    return {"bars": bars, "height": max(1, len(bars)) * (BAR_HEIGHT + GAP), "label_width": LABEL_WIDTH, "bar_height": BAR_HEIGHT}


def _figures(request: Request, who: Principal, start: str | None, end: str | None) -> tuple[date, date, dict[str, Any]]:
    if who.role not in REVENUE_READERS:
        raise Forbidden("Only customs officers, analysts, supervisors and administrators read the revenue.")
    lo, hi = window(start, end, today=utcnow().date())
    with runtime(request).read() as s:
        out = report.revenue(s, start=lo, end=hi, office=who.office or None)
    return lo, hi, out


@router.get("/revenue", response_class=HTMLResponse)
def revenue_page(
    request: Request, start: Annotated[DateText, Query(alias="from")] = None, end: Annotated[DateText, Query(alias="to")] = None
) -> Response:
    """Revenue over a date range: totals, recovered and refunds due, and a bar chart for each dimension."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    try:
        lo, hi, out = _figures(request, who, start, end)
    except SmartCustomsError as exc:
        return problem(request, who, exc)
    charts = [{"dimension": d, "title": TITLES[d], **chart(report.totals_by(out["rows"], d))} for d in report.DIMENSIONS]
    ctx = {"who": who, "start": lo.isoformat(), "end": hi.isoformat(), "r": out, "charts": charts, "office": who.office}
    return templates.TemplateResponse(request, "revenue.html", ctx)


@router.get("/revenue.csv")
def revenue_csv(
    request: Request, start: Annotated[DateText, Query(alias="from")] = None, end: Annotated[DateText, Query(alias="to")] = None
) -> Response:
    """The revenue rows (month, office, chapter, origin, items, duty, consumption tax, VAT, total) as CSV."""
    who = _who(request)
    if who is None:
        return Response(status_code=401)
    try:
        lo, hi, out = _figures(request, who, start, end)
    except SmartCustomsError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=report.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(out["rows"])
    name = f"revenue-{lo.isoformat()}-{hi.isoformat()}.csv"
    return Response(
        buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
