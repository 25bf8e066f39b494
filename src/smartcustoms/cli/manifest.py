"""`smartcustoms manifest`: lodge a manifest as a carrier, show the write-off."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartcustoms.cli.common import AsOpt, JsonOpt, console, emit, err_console, principal_named, read_json, runtime
from smartcustoms.kit.clock import utcnow
from smartcustoms.manifest import service
from smartcustoms.manifest.schemas import WriteOff

app = typer.Typer(help="Manifests: lodge, write-off.", no_args_is_help=True)


@app.command("lodge")
def lodge(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Manifest JSON")],
    as_user: AsOpt,
    json_output: JsonOpt = False,
) -> None:
    """Lodge a manifest from a JSON file as a carrier user; exit 2 with every problem if it is refused."""
    now = utcnow()
    with runtime(json_output) as rt:
        data = service.parse(read_json(file))
        who = principal_named(rt, as_user)
        with rt.write() as s:
            out = service.read(s, manifest=service.lodge(s, data=data, principal=who, now=now), principal=who)
    lodged = f"lodged manifest [bold]{out.id}[/bold]: {out.vessel or out.flight} {out.voyage or ''} to {out.port}, {len(out.lines)} line(s)"
    emit(out.model_dump(mode="json"), json_output, lodged)


@app.command("write-off")
def write_off(
    manifest_id: Annotated[int, typer.Argument(min=1, help="Manifest id")],
    as_user: Annotated[str, typer.Option("--as", help="Name of the user to act as")] = "",
    json_output: JsonOpt = False,
) -> None:
    """The write-off rate and every open line with its age; overdue lines are alerts (exit 0; 2 on errors)."""
    with runtime(json_output) as rt, rt.read() as s:
        if as_user:
            found = service.get_for(s, manifest_id=manifest_id, principal=principal_named(rt, as_user))
        else:
            found = service.get_as_operator(s, manifest_id=manifest_id)
        out = service.write_off(s, manifest=found, today=utcnow().date(), open_days=rt.settings.manifest_open_days)
    emit(out.model_dump(mode="json"), json_output, lambda: _written_off(out))


def _written_off(out: WriteOff) -> None:
    console.print(f"manifest {out.manifest}: {out.written_off} of {out.lines} line(s) written off, rate {out.rate}")
    for o in out.open:
        flag = " [red]overdue[/red]" if o.overdue else ""
        console.print(f"  {o.bill_of_lading:<20} {o.match:<8} {o.age_days:>4} day(s) since {o.since}  {', '.join(o.declarations)}{flag}")
    for a in out.alerts:
        err_console.print(f"[red]{a['code']}[/red] {a['message']}")
