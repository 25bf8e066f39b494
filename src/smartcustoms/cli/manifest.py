"""`smartcustoms manifest`: lodge a manifest as a carrier, show the write-off."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartcustoms.cli.common import console, emit_json, err_console, handled, make_runtime, principal_named, read_json
from smartcustoms.kit.clock import utcnow
from smartcustoms.manifest import service

app = typer.Typer(help="Manifests: lodge, write-off.", no_args_is_help=True)
AsOpt = Annotated[str, typer.Option("--as", help="Name of the user to act as")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("lodge")
def lodge(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Manifest JSON")],
    as_user: AsOpt,
    json_output: JsonOpt = False,
) -> None:
    """Lodge a manifest from a JSON file as a carrier user; exit 2 with every problem if it is refused."""
    rt = make_runtime()
    now = utcnow()
    with handled(json_output):
        data = service.parse(read_json(file))
        who = principal_named(rt, as_user)
        with rt.write() as s:
            out = service.read(s, manifest=service.lodge(s, data=data, principal=who, now=now), principal=who)
    rt.stop()
    if json_output:
        emit_json(out.model_dump(mode="json"))
    else:
        console.print(
            f"lodged manifest [bold]{out.id}[/bold]: {out.vessel or out.flight} {out.voyage or ''} to {out.port}, {len(out.lines)} line(s)"
        )


@app.command("write-off")
def write_off(
    manifest_id: Annotated[int, typer.Argument(min=1, help="Manifest id")],
    as_user: Annotated[str, typer.Option("--as", help="Name of the user to act as")] = "",
    json_output: JsonOpt = False,
) -> None:
    """The write-off rate and every open line with its age; overdue lines are alerts (exit 0; 2 on errors)."""
    rt = make_runtime()
    with handled(json_output), rt.read() as s:
        if as_user:
            found = service.get_for(s, manifest_id=manifest_id, principal=principal_named(rt, as_user))
        else:
            found = service.get_as_operator(s, manifest_id=manifest_id)
        out = service.write_off(s, manifest=found, today=utcnow().date(), open_days=rt.settings.manifest_open_days)
    rt.stop()
    if json_output:
        emit_json(out.model_dump(mode="json"))
        return
    console.print(f"manifest {out.manifest}: {out.written_off} of {out.lines} line(s) written off, rate {out.rate}")
    for o in out.open:
        flag = " [red]overdue[/red]" if o.overdue else ""
        console.print(f"  {o.bill_of_lading:<20} {o.match:<8} {o.age_days:>4} day(s) since {o.since}  {', '.join(o.declarations)}{flag}")
    for a in out.alerts:
        err_console.print(f"[red]{a['code']}[/red] {a['message']}")
