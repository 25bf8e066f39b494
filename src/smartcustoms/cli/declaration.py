"""`smartcustoms declaration`: lodge, show, list, amend and withdraw, acting as a registered user."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from smartcustoms.clearance import service as clearance
from smartcustoms.cli.common import AsOpt, JsonOpt, console, emit, principal_named, read_json, runtime
from smartcustoms.declaration import repository, service
from smartcustoms.declaration.models import Status
from smartcustoms.errors import ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.risk.selectivity import service as selectivity

app = typer.Typer(help="Declarations: lodge, show, list, amend, withdraw.", no_args_is_help=True)


@app.command("lodge")
def lodge(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Declaration JSON")],
    as_user: AsOpt,
    json_output: JsonOpt = False,
) -> None:
    """Lodge a declaration from a JSON file; exit 2 with every problem if it is refused."""
    now = utcnow()
    with runtime(json_output) as rt:
        raw = read_json(file)
        who = principal_named(rt, as_user)
        try:
            with rt.write() as s:
                receipt, replayed = clearance.lodge(s, raw=raw, principal=who, now=now)
        except ValidationFailed as exc:
            with rt.write() as s:
                service.record_rejection(s, raw=raw, principal=who, problems=exc.problems, now=now)
            raise
    emit({**receipt, "replayed": replayed}, json_output, lambda: _lodged(receipt, replayed))


def _lodged(receipt: dict[str, Any], replayed: bool) -> None:
    console.print(f"{'already lodged' if replayed else 'lodged'}: [bold]{receipt['number']}[/bold] {receipt['status']}")
    lane = receipt.get("assessment")
    if lane:
        console.print(f"lane {lane['lane']}: {lane['message']}")


@app.command("show")
def show(number: str, as_user: AsOpt, json_output: JsonOpt = False) -> None:
    """Show a declaration's state and history."""
    with runtime(json_output) as rt:
        who = principal_named(rt, as_user)
        with rt.read() as s:
            d = service.get_visible(s, number=number, principal=who)
            events = [
                {"event": e.event, "to": e.to_status, "at": e.at.isoformat(), "actor": e.actor_name, "reason": e.reason}
                for e in repository.events(s, declaration_id=d.id)
            ]
            out: dict[str, Any] = {
                "number": d.number,
                "status": d.status.value,
                "version": d.version,
                "client_reference": d.client_reference,
                "declaration": d.payload,
                "events": events,
            }
            assessed = selectivity.latest(s, declaration_id=d.id)
            out["assessment"] = selectivity.view(assessed, principal=who, decl=d) if assessed is not None else None
    emit(out, json_output, lambda: _shown(out))


def _shown(out: dict[str, Any]) -> None:
    console.print(f"[bold]{out['number']}[/bold] {out['status']} (version {out['version']}, ref {out['client_reference']})")
    for e in out["events"]:
        console.print(f"  {str(e['at'])[:19]}  {e['event']:<32} {e['actor']:<14} {e['reason'] or ''}")
    a: dict[str, Any] | None = out["assessment"]
    if a:
        console.print(f"  lane: [bold]{a['lane']}[/bold]  " + (a.get("basis") or a.get("message") or ""))
        for h in a.get("hits", []):
            console.print(f"    hit {h['code']} (line {h['line']}): {h['reason']} — {h['instructions']}")
        for w in a.get("why", []):
            console.print(f"    {w}")


@app.command("list")
def list_(
    as_user: AsOpt,
    status: Annotated[Optional[Status], typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_output: JsonOpt = False,
) -> None:
    """List the declarations the user may see, newest first."""
    with runtime(json_output) as rt:
        who = principal_named(rt, as_user)
        enterprise_id, office = service.scope(who)
        with rt.read() as s:
            rows, total = repository.page(
                s,
                enterprise_id=enterprise_id,
                office=office,
                status=status,
                kind=None,
                lodged_from=None,
                lodged_to=None,
                limit=limit,
                offset=0,
            )
            out = [
                {
                    "number": d.number,
                    "status": d.status.value,
                    "client_reference": d.client_reference,
                    "value": f"{d.currency} {d.total_value}",
                    "lodged_at": d.lodged_at.isoformat(),
                }
                for d in rows
            ]
    emit({"total": total, "items": out}, json_output, lambda: _listed(out, total))


def _listed(out: list[dict[str, Any]], total: int) -> Table:
    table = Table("number", "status", "client reference", "value", "lodged", title=f"{total} declaration(s)")
    for r in out:
        table.add_row(r["number"], r["status"], r["client_reference"], r["value"], r["lodged_at"][:16])
    return table


@app.command("amend")
def amend(
    number: str,
    patch_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON merge patch")],
    reason: Annotated[str, typer.Option()],
    as_user: AsOpt,
    json_output: JsonOpt = False,
) -> None:
    """Amend a declaration with a JSON merge patch and a reason."""
    with runtime(json_output) as rt:
        patch = read_json(patch_file)
        who = principal_named(rt, as_user)
        with rt.write() as s:
            d = clearance.amend(s, number=number, patch=patch, reason=reason, principal=who, now=utcnow())
            out = {"number": d.number, "status": d.status.value, "version": d.version}
    emit(out, json_output, f"{number} amended: version {out['version']}")


@app.command("withdraw")
def withdraw(number: str, reason: Annotated[str, typer.Option()], as_user: AsOpt, json_output: JsonOpt = False) -> None:
    """Withdraw a declaration, with a reason."""
    with runtime(json_output) as rt:
        who = principal_named(rt, as_user)
        with rt.write() as s:
            d = service.withdraw(s, number=number, reason=reason, principal=who, now=utcnow())
            out = {"number": d.number, "status": d.status.value}
    emit(out, json_output, f"{number} {out['status']}")
