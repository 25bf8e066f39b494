"""`smartcustoms tariff`, `smartcustoms guarantee` and `smartcustoms report revenue`."""

from __future__ import annotations

import csv
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from smartcustoms.clearance import service as clearance
from smartcustoms.cli.common import OPERATOR, JsonOpt, console, emit, emit_json, runtime
from smartcustoms.duty import payments, report
from smartcustoms.errors import NotFound
from smartcustoms.kit.clock import utcnow
from smartcustoms.tariff import service as tariff_service

tariff_app = typer.Typer(help="The national tariff: schedules and preferential rates.", no_args_is_help=True)
guarantee_app = typer.Typer(help="Enterprises' guarantees against which duties are secured.", no_args_is_help=True)
report_app = typer.Typer(help="Reports.", no_args_is_help=True)


def _read(path: Path) -> str:
    if not path.is_file():
        raise NotFound(f"No file {path}.", code="file_not_found")
    return path.read_text(encoding="utf-8-sig")


def _load(kind: str, path: Path, json_output: bool) -> None:
    with runtime(json_output) as rt, rt.write() as s:
        loader = tariff_service.load_schedule if kind == "schedule" else tariff_service.load_preferences
        out = loader(s, text=_read(path), source=str(path), actor=OPERATOR, now=utcnow())
    summary = {"rows": out.rows, "added": out.added, "replaced": out.replaced, "closed": out.closed, "sha256": out.sha256}
    emit(summary, json_output, f"{kind}: {out.rows} rows, {out.added} added, {out.replaced} replaced, {out.closed} earlier period(s) ended")


@tariff_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="CSV: code, description, mfn_rate, ... valid_from, valid_to")], json_output: JsonOpt = False
) -> None:
    """Load a tariff schedule; a bad row (reported with its line number) loads nothing."""
    _load("schedule", file, json_output)


@tariff_app.command("load-preferences")
def load_preferences(
    file: Annotated[Path, typer.Argument(help="CSV: code, agreement, origins, rate, valid_from, valid_to")], json_output: JsonOpt = False
) -> None:
    """Load preferential rates by agreement and origin; a bad row loads nothing."""
    _load("preferences", file, json_output)


@tariff_app.command("load-sample")
def load_sample(json_output: JsonOpt = False) -> None:
    """Load the SAMPLE schedule and preferences shipped with the product (illustrative rates for the demo's goods, not the law)."""
    with runtime(json_output) as rt, rt.write() as s:
        lines, prefs = tariff_service.load_sample(s, actor=OPERATOR, now=utcnow())
    out = {"lines": lines.rows, "preferences": prefs.rows, "sample": True}
    emit(out, json_output, f"sample data loaded: {lines.rows} tariff lines, {prefs.rows} preferential rates")


@guarantee_app.command("add")
def add(
    uscc: Annotated[str, typer.Option(help="USCC of the enterprise")],
    amount: Annotated[str, typer.Option(help="CNY, e.g. 500000.00")],
    expires: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="Last day in force (YYYY-MM-DD)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Register a guarantee; releases against it debit the balance, payments restore it; waiting declarations it covers are released."""
    with runtime(json_output) as rt, rt.write() as s:
        row = clearance.add_guarantee(
            s, uscc=uscc, amount=amount, expires=expires.date() if expires else None, actor=OPERATOR, now=utcnow()
        )
        out = payments.read_guarantee(row)
    emit(out, json_output, f"guarantee {out['id']} for {uscc}: {out['amount']} CNY")


@guarantee_app.command("list")
def list_(uscc: Annotated[Optional[str], typer.Option(help="Only this enterprise")] = None, json_output: JsonOpt = False) -> None:
    """Guarantees with their balances."""
    with runtime(json_output) as rt, rt.read() as s:
        rows = [payments.read_guarantee(g) for g in payments.guarantees(s, uscc=uscc)]
    emit(rows, json_output, lambda: _guarantees_table(rows))


def _guarantees_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("id", "uscc", "amount", "balance", "expires", title=f"{len(rows)} guarantee(s)")
    for g in rows:
        table.add_row(str(g["id"]), str(g["uscc"]), str(g["amount"]), str(g["balance"]), str(g["expires"] or ""))
    return table


@report_app.command("revenue")
def revenue(
    start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (YYYY-MM-DD)")],
    end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day (YYYY-MM-DD)")],
    json_output: JsonOpt = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
) -> None:
    """Revenue (duty, consumption tax, VAT) by month, office, HS chapter and origin."""
    with runtime(json_output) as rt, rt.read() as s:
        out = report.revenue(s, start=date.fromordinal(start.toordinal()), end=date.fromordinal(end.toordinal()))
    if json_output:
        emit_json(out)
    elif csv_output:
        writer = csv.DictWriter(sys.stdout, fieldnames=report.COLUMNS)
        writer.writeheader()
        writer.writerows(out["rows"])
    else:
        table = Table(
            *report.COLUMNS,
            title=f"revenue {out['from']} to {out['to']}: {out['total']} CNY, recovered {out['recovered']}, refunds due {out['refunds_due']}",
        )
        for r in out["rows"]:
            table.add_row(*(str(r[c]) for c in report.COLUMNS))
        console.print(table)
