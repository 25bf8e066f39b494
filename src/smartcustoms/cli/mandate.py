"""`smartcustoms mandate`: grant, list and revoke electronic mandates (the operator acting for the importer)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from smartcustoms.cli.common import OPERATOR, JsonOpt, emit, parse_date, runtime
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.mandate import service
from smartcustoms.mandate.schemas import ProcedureName

app = typer.Typer(help="Electronic mandates: an importer authorises a broker to declare in its name.", no_args_is_help=True)
PROCEDURES: tuple[str, ...] = ProcedureName.__args__  # type: ignore[attr-defined]


def _date(text: str | None, ptr: str) -> date | None:
    return None if text is None else parse_date(text, ptr)


@app.command("grant")
def grant(
    importer: Annotated[str, typer.Option(help="USCC of the importer granting the mandate")],
    broker: Annotated[str, typer.Option(help="USCC of the broker it authorises")],
    valid_from: Annotated[Optional[str], typer.Option(help="First day (YYYY-MM-DD); default today")] = None,
    valid_to: Annotated[Optional[str], typer.Option(help="First day it no longer applies (YYYY-MM-DD); default: until revoked")] = None,
    procedure: Annotated[Optional[list[str]], typer.Option(help="Only this procedure (repeat for more)")] = None,
    office: Annotated[Optional[list[str]], typer.Option(help="Only at this customs office (repeat for more)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Record a mandate an importer granted a broker (journaled as the CLI operator)."""
    now = utcnow()
    with runtime(json_output) as rt:
        bad = [
            Problem("MND-GRT-006", f"/procedures/{i}", f"{p!r} is not a procedure ({', '.join(PROCEDURES)}).")
            for i, p in enumerate(procedure or [])
            if p not in PROCEDURES
        ]
        if bad:
            raise ValidationFailed("The mandate cannot be granted.", bad)
        start = _date(valid_from, "/valid_from") or now.date()
        with rt.write() as s:
            found = service.grant(
                s,
                importer_uscc=importer,
                broker_uscc=broker,
                valid_from=start,
                valid_to=_date(valid_to, "/valid_to"),
                procedures=procedure or None,
                offices=office or None,
                actor=OPERATOR,
                now=now,
            )
            out = service.read(found, today=now.date()).model_dump(mode="json")
    emit(out, json_output, f"mandate {out['id']}: {out['importer']} authorises {out['broker']} from {out['valid_from']} ({out['status']})")


@app.command("list")
def list_(
    uscc: Annotated[Optional[str], typer.Option(help="Only mandates this enterprise granted or received")] = None,
    json_output: JsonOpt = False,
) -> None:
    """List mandates, newest first, with their status today."""
    today = utcnow().date()
    with runtime(json_output) as rt, rt.read() as s:
        rows = [service.read(m, today=today).model_dump(mode="json") for m in service.list_all(s, uscc=uscc)]
    emit(rows, json_output, lambda: _mandates_table(rows))


def _mandates_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("id", "importer", "broker", "from", "to", "procedures", "offices", "status")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["importer"],
            r["broker"],
            r["valid_from"],
            r["valid_to"] or "",
            ", ".join(r["procedures"] or ["all"]),
            ", ".join(r["offices"] or ["all"]),
            r["status"],
        )
    return table


@app.command("revoke")
def revoke(
    mandate_id: Annotated[int, typer.Argument(metavar="ID", help="The mandate's id")],
    reason: Annotated[Optional[str], typer.Option(help="Why it is revoked")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Revoke a mandate at once (journaled as the CLI operator); declarations already lodged stay."""
    now = utcnow()
    with runtime(json_output) as rt, rt.write() as s:
        found = service.revoke(s, mandate_id=mandate_id, reason=reason, principal=None, actor=OPERATOR, now=now)
        out = service.read(found, today=now.date()).model_dump(mode="json")
    emit(out, json_output, f"mandate {mandate_id} revoked")
