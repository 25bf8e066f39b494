"""Selectivity settings and lane shares, an enterprise's risk profile, and the outcomes of checks."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from smartcustoms.cli.common import AsOpt, JsonOpt, console, emit, principal_named, runtime
from smartcustoms.cli.risk.shared import noted_day, pct, staff, together
from smartcustoms.errors import Problem
from smartcustoms.kit.clock import utcnow

selectivity_app = typer.Typer(
    help="Selectivity: each office's target lane rates and random share, and how the lanes actually fell.", no_args_is_help=True
)


@selectivity_app.command("set")
def selectivity_set(
    office: Annotated[str, typer.Option(help="4-digit customs office code, or * for every office without its own")],
    red: Annotated[float, typer.Option(help="Target share of declarations inspected (red), 0 to 1")],
    yellow: Annotated[float, typer.Option(help="Target share sent to document review (yellow), 0 to 1")],
    random_rate: Annotated[float, typer.Option("--random", help="Share selected at random, 0 to 1")],
    reason: Annotated[str, typer.Option(help="Why the setting changes; journaled")],
    as_user: AsOpt,
    aeo_factor: Annotated[
        Optional[float], typer.Option("--aeo-factor", help="Rates of AEO enterprises are multiplied by this (default: as in force)")
    ] = None,
    low_factor: Annotated[
        Optional[float], typer.Option("--low-factor", help="Rates of low-credit enterprises are multiplied by this (default: as in force)")
    ] = None,
    valid_from: Annotated[Optional[str], typer.Option("--from", help="First day in force (YYYY-MM-DD; default today)")] = None,
    window: Annotated[
        Optional[int], typer.Option("--window", help="The office's last N model scores its lanes follow (default: as in force)")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """A new selectivity setting for an office, with a new secret random seed; only its fingerprint (seed_ref) is shown."""
    from smartcustoms.risk.selectivity import service as selectivity

    with runtime(json_output) as rt:
        problems: list[Problem] = []
        why = reason.strip()
        if not why:  # the service says so too, but only once the rates are right
            problems.append(Problem("RSK-SEL-006", "/reason", "Say why the setting changes."))
        start = noted_day(valid_from, "/valid_from", problems) or utcnow().date()
        who = staff(rt, as_user)
        with rt.write() as s, together(problems):
            history = selectivity.settings(s)  # newest first: the first of the office's own, else of "*", is in force
            current = next((x for key in (office, "*") for x in history if x.office == key and x.valid_from <= start), None)
            setting = selectivity.set_setting(
                s,
                office=office,
                red_rate=red,
                yellow_rate=yellow,
                random_rate=random_rate,
                aeo_factor=aeo_factor
                if aeo_factor is not None
                else (current.aeo_factor if current else selectivity.DEFAULTS["aeo_factor"]),
                low_credit_factor=low_factor
                if low_factor is not None
                else (current.low_credit_factor if current else selectivity.DEFAULTS["low_credit_factor"]),
                score_window=window if window is not None else (current.score_window if current else selectivity.SCORE_WINDOW),
                valid_from=start,
                reason=why,
                actor=who.actor(),
                now=utcnow(),
            )
            out = setting.public()
    emit(
        out,
        json_output,
        lambda: (
            f"office {out['office']} from {out['valid_from']}: red {pct(out['red_rate'])}, yellow {pct(out['yellow_rate'])}, "
            f"random {pct(out['random_rate'])}, AEO x{out['aeo_factor']:g}, low credit x{out['low_credit_factor']:g}, "
            f"window {out['score_window']}; seed {out['seed_ref']}"
        ),
    )


@selectivity_app.command("show")
def selectivity_show(
    office: Annotated[Optional[str], typer.Option(help="An office code (default: every office)")] = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="Lane shares over this many last days")] = 30,
    json_output: JsonOpt = False,
) -> None:
    """The settings (the seed never shown, only its fingerprint seed_ref) and the lane shares of the last days against the targets."""
    from smartcustoms.risk.selectivity import service as selectivity

    one = office if office not in (None, "*") else None
    with runtime(json_output) as rt, rt.read() as s:
        settings = [x.public() for x in selectivity.settings(s) if office is None or x.office in (office, "*")]
        shares = selectivity.lane_shares(s, office=one, now=utcnow(), days=days)
    out = {"office": office or "*", "in_force": shares["targets"], "settings": settings, "lane_shares": shares}
    emit(out, json_output, lambda: _show_settings(settings, shares, days))


def _show_settings(settings: list[dict[str, Any]], shares: dict[str, Any], days: int) -> None:
    table = Table(
        "id",
        "office",
        "from",
        "red",
        "yellow",
        "random",
        "AEO x",
        "low x",
        "window",
        "seed_ref",
        title="Selectivity settings, newest first",
    )
    for x in settings:
        table.add_row(
            str(x["id"]),
            x["office"],
            x["valid_from"],
            pct(x["red_rate"]),
            pct(x["yellow_rate"]),
            pct(x["random_rate"]),
            f"{x['aeo_factor']:g}",
            f"{x['low_credit_factor']:g}",
            str(x["score_window"]),
            x["seed_ref"],
        )
    console.print(table)
    t = shares["targets"] or {}
    target = {"red": t.get("red_rate"), "yellow": t.get("yellow_rate")}
    lanes = Table(
        "lane",
        "assessments",
        "share",
        "target",
        title=f"Lanes at {shares['office']} over the last {days} days: {shares['assessments']} assessments",
    )
    for lane, n in shares["counts"].items():
        lanes.add_row(lane, str(n), pct(shares["shares"][lane]), pct(target.get(lane)) if lane in target else "")
    random_share = shares["random_selected"] / shares["assessments"] if shares["assessments"] else 0.0
    lanes.add_row("(random)", str(shares["random_selected"]), pct(random_share), pct(t.get("random_rate")))
    console.print(lanes)
    causes = Table(
        "cause",
        "red",
        "red share",
        "red alone",
        "yellow",
        "yellow share",
        "yellow alone",
        title="What asked for the lanes (a declaration two causes asked for counts under both; 'alone': only this cause)",
    )
    for cause, c in shares["by_cause"].items():
        causes.add_row(
            cause.replace("_", " "),
            str(c["counts"]["red"]),
            pct(c["shares"]["red"]),
            str(c["alone"]["red"]),
            str(c["counts"]["yellow"]),
            pct(c["shares"]["yellow"]),
            str(c["alone"]["yellow"]),
        )
    console.print(causes)


def enterprise_profile(
    uscc: Annotated[str, typer.Argument(help="The enterprise's USCC")],
    days: Annotated[int, typer.Option(min=1, max=3660, help="Period in days, up to today")] = 365,
    json_output: JsonOpt = False,
) -> None:
    """An enterprise's risk profile: credit, watch lists, declarations, lanes, rule hits, checks and revenue recovered."""
    from smartcustoms.risk.selectivity import service as selectivity

    with runtime(json_output) as rt, rt.read() as s:
        p = selectivity.profile(s, uscc=uscc, now=utcnow(), days=days)
    emit(p, json_output, lambda: _show_profile(p))


def _show_profile(p: dict[str, Any]) -> None:
    console.print(f"[bold]{p['name']}[/bold] ({p['uscc']}), credit {p['credit']}")
    d = p["declarations"]
    console.print(f"declarations: {d['as_trader']} as trader, {d['as_declarant']} as declarant, first {d['first_lodged_at'] or '-'}")
    console.print(f"last {p['period_days']} days, lanes: " + ", ".join(f"{k} {v}" for k, v in p["lanes"].items()))
    c = p["checks"]
    console.print(f"checks recorded {c['recorded']}, found something {c['found_something']}, revenue recovered {p['revenue_recovered']}")
    for code, n in p["rule_hits"].items():
        console.print(f"  hit {code}: {n}")
    for w in p["watch_lists"]:
        console.print(f"  on watch list {w['list']} as {w['as']} since {w['since']}: {w['reason']}")


def outcome(
    number: Annotated[str, typer.Argument(help="Declaration number")],
    source: Annotated[str, typer.Option(help="review, inspection or audit")],
    hit: Annotated[bool, typer.Option("--hit/--no-hit", help="Whether the check found a discrepancy")],
    as_user: AsOpt,
    critical: Annotated[int, typer.Option(help="0 none, 1 serious (revenue), 2 critical (prohibited goods)")] = 0,
    revenue: Annotated[str, typer.Option(help="Revenue recovered, a decimal number")] = "0",
    finding: Annotated[Optional[str], typer.Option(help="What was found; journaled")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Record what a review, inspection or audit found; journaled, and copied into the labelled history the model learns from."""
    from sqlalchemy import func, select

    from smartcustoms.declaration import service as declarations
    from smartcustoms.risk.history.models import HistoryRecord
    from smartcustoms.risk.selectivity import service as selectivity

    with runtime(json_output) as rt:
        problems: list[Problem] = []
        try:
            recovered = Decimal(revenue)
        except InvalidOperation:
            recovered = Decimal("NaN")
        if not recovered.is_finite():
            problems.append(Problem("REQ-003", "/revenue_recovered", f"Revenue recovered {revenue!r} is not a decimal number."))
            recovered = Decimal(0)
        who = principal_named(rt, as_user)
        with rt.write() as s, together(problems):
            decl = declarations.get_visible(s, number=number, principal=who)
            row = selectivity.record_outcome(
                s,
                decl=decl,
                source=source,
                hit=hit,
                critical=critical,
                revenue_recovered=recovered,
                finding=finding,
                principal=who,
                now=utcnow(),
            )
            rows = s.scalar(
                select(func.count())
                .select_from(HistoryRecord)
                .where(HistoryRecord.source == "outcome", HistoryRecord.declaration_id.startswith(f"{decl.number}/", autoescape=True))
            )
            out = {
                "id": row.id,
                "number": row.number,
                "source": row.source,
                "hit": row.hit,
                "critical": row.critical,
                "revenue_recovered": str(row.revenue_recovered),
                "finding": row.finding,
                "recorded_by": row.recorded_by,
                "recorded_at": row.recorded_at.isoformat(),
                "history_rows": int(rows or 0),
            }
    found = f"a discrepancy (critical {out['critical']}, revenue {out['revenue_recovered']})" if out["hit"] else "nothing"
    emit(out, json_output, f"{out['number']}: {out['source']} found {found}; {out['history_rows']} labelled history row(s) for learning")
