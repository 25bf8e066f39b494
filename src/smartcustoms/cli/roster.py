"""`smartcustoms officer`: put officers, inspectors and image analysts on the roster, and list it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from smartcustoms.cli.common import OPERATOR, JsonOpt, emit, runtime
from smartcustoms.kit.clock import utcnow
from smartcustoms.roster import service
from smartcustoms.roster.schemas import OfficerRead
from smartcustoms.task import service as tasks

app = typer.Typer(help="The roster: officers' HS chapters, workload caps and duty.", no_args_is_help=True)


def _line(o: OfficerRead) -> str:
    if o.duty is None:
        return f"{o.name} ({o.role.value}, office {o.office or '-'}): not on the roster"
    return (
        f"{o.name} ({o.role.value}, office {o.office}): chapters {o.chapters}, cap {o.capacity}, "
        f"duty {o.duty.value}, {o.load} open, {o.spare} spare"
    )


@app.command("set")
def set_(
    name: Annotated[str, typer.Argument(help="User name of the officer, inspector or image analyst")],
    chapters: Annotated[Optional[str], typer.Option(help="HS chapters they may take, e.g. 84-85,90")] = None,
    capacity: Annotated[Optional[int], typer.Option(help="Open tasks at most (1-1000)")] = None,
    duty: Annotated[Optional[str], typer.Option(help="on or off")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Set an officer's chapters, cap or duty; the first time puts them on the roster (every chapter, cap 10, on duty)."""
    with runtime(json_output) as rt, rt.write() as s:
        # as the API and the roster page do: a freed officer draws the office's queued tasks at once
        out = tasks.set_officer(s, name=name, chapters=chapters, capacity=capacity, duty=duty, within=None, actor=OPERATOR, now=utcnow())
    emit(out.model_dump(mode="json"), json_output, _line(out))


@app.command("list")
def list_(
    office: Annotated[Optional[str], typer.Option(help="Only this customs office (code)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """List officers, inspectors and image analysts with their chapters, caps, duty and open tasks."""
    with runtime(json_output) as rt, rt.read() as s:
        rows = service.list_officers(s, office=office)
    emit([o.model_dump(mode="json") for o in rows], json_output, lambda: _officers_table(rows))


def _officers_table(rows: list[OfficerRead]) -> Table:
    table = Table("name", "role", "office", "chapters", "cap", "duty", "open", "spare", title=f"{len(rows)} officer(s)")
    for o in rows:
        table.add_row(
            o.name,
            o.role.value,
            o.office or "",
            o.chapters or "",
            "" if o.capacity is None else str(o.capacity),
            o.duty.value if o.duty else "not on roster",
            str(o.load),
            str(o.spare),
        )
    return table
