"""`smartcustoms gate check|sync`: the gate operator's commands (a check, online or from the local copy; refresh and reconcile)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from smartcustoms.auth.service import Principal
from smartcustoms.cli.common import JsonOpt, console, emit, emit_json, make_runtime, principal_named, runtime
from smartcustoms.errors import NotFound
from smartcustoms.gate import service
from smartcustoms.gate.schemas import CheckRead
from smartcustoms.gate.station import principal_of, unreachable
from smartcustoms.kit.clock import utcnow
from smartcustoms.runtime import Runtime

app = typer.Typer(
    help="The port gate: check a truck's container, refresh the local copy and reconcile offline checks.", no_args_is_help=True
)


def _gate_user(rt: Runtime, name: str) -> Principal:
    """The named gate user, from the database or, while it is unreachable, from the local copy."""
    try:
        return principal_named(rt, name)
    except Exception as exc:
        if not unreachable(exc):
            raise
        known = rt.station.copy.user_named(name)
        if known is None:
            raise NotFound(
                f"The database is unreachable and the gate's local copy knows no gate user {name!r}.", code="user_not_found"
            ) from exc
        return principal_of(known)


@app.command("check")
def check(
    as_user: Annotated[str, typer.Option("--as", help="The gate user checking (the operator speaks for them)")],
    container: Annotated[str | None, typer.Option(help="Container number (ISO 6346)")] = None,
    plate: Annotated[str | None, typer.Option(help="The truck's registration plate")] = None,
    release: Annotated[str | None, typer.Option(help="Release number, e.g. 22482026R000000001")] = None,
    seal: Annotated[str | None, typer.Option(help="The seal number found on the container")] = None,
    json_output: JsonOpt = False,
) -> None:
    """May this truck leave? Exit 0 on pass (its gate-out is recorded), 1 on hold (with every reason), 2 on bad input."""
    with runtime(json_output) as rt:
        who = _gate_user(rt, as_user)
        service.require_gate(who)
        ask = service.ask_of({k: v for k, v in {"container": container, "plate": plate, "release": release, "seal": seal}.items() if v})
        done = rt.station.check(rt.write, ask=ask, principal=who, now=utcnow())
    view = CheckRead.of(done.outcome, offline=done.offline, ref=done.ref)
    emit(view.model_dump(), json_output, lambda: _decided(view, offline=done.offline))
    if not done.outcome.passed:
        raise typer.Exit(1)


def _decided(view: CheckRead, *, offline: bool) -> None:
    where = " (offline: from the local copy)" if offline else ""
    rel: dict[str, Any] = view.release.model_dump() if view.release else {}
    console.print(f"{view.decision.upper()}{where}" + (f": release {rel['number']}, container {rel['container'] or '-'}" if rel else ""))
    for r in view.reasons:
        console.print(f"  {r.code} {r.message}")


@app.command("sync")
def sync(json_output: JsonOpt = False) -> None:
    """Reconcile the checks made offline into the database (once each), then refresh the local copy; exit 1 if any conflict."""
    rt = make_runtime()
    try:
        report = rt.sync_gate()
    except Exception as exc:
        if not unreachable(exc):
            raise
        console.print("[red]the database is unreachable[/red]: nothing reconciled; the gate keeps deciding from its local copy")
        raise typer.Exit(2) from exc
    finally:
        rt.stop()
    if json_output:
        emit_json(report.as_dict())
    else:
        console.print(f"reconciled {report.reconciled} offline check(s); {report.releases} new release(s) in the local copy")
        for c in report.conflicts:
            console.print(
                f"  [red]conflict[/red] {c['container']} (release {c['release']}): passed offline at {c['at']}, but it had left already"
            )
    if report.conflicts:
        raise typer.Exit(1)
