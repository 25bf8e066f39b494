"""The knowledge base: watch lists, restricted goods and reference prices."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from smartcustoms.cli.common import OPERATOR, AsOpt, JsonOpt, emit, parse_date, runtime
from smartcustoms.cli.risk.shared import FromOpt, ToOpt, dates, noted_day, noted_reason, staff, together
from smartcustoms.errors import Problem
from smartcustoms.kit.clock import utcnow

watch_app = typer.Typer(help="Watch lists: parties to look at more closely, with a reason and a validity.", no_args_is_help=True)
restrict_app = typer.Typer(help="Restricted goods: HS prefixes that need a licence or are prohibited.", no_args_is_help=True)


def _entry(r: Any, **own: Any) -> dict[str, Any]:
    """A watch-list entry or a restriction: its id, its own fields, then why, when it stands and who added it."""
    return {
        "id": r.id,
        **own,
        "reason": r.reason,
        "valid_from": r.valid_from.isoformat(),
        "valid_to": r.valid_to.isoformat() if r.valid_to else None,
        "added_by": r.added_by,
        "added_at": r.added_at.isoformat(),
    }


def _watch_out(e: Any) -> dict[str, Any]:
    return _entry(e, list=e.list_name, kind=e.party_kind, identifier=e.identifier)


def _restricted_out(r: Any) -> dict[str, Any]:
    return _entry(r, hs_prefix=r.hs_prefix, licence=r.licence, prohibited=r.prohibited)


def _in_force(
    on: str | None, json_output: bool, listing: Callable[..., Iterable[Any]], shape: Callable[[Any], dict[str, Any]]
) -> tuple[date, list[dict[str, Any]]]:
    """The day (--on, default today) and the rows `listing` finds in force on it, shaped for output."""
    with runtime(json_output) as rt:
        day = parse_date(on, "/on") if on else utcnow().date()
        with rt.read() as s:
            return day, [shape(x) for x in listing(s, on=day)]


@watch_app.command("add")
def watch_add(
    list_name: Annotated[str, typer.Option("--list", help="Name of the watch list (rules test it with on_list)")],
    kind: Annotated[str, typer.Option("--kind", help="consignor, importer, declarant or carrier")],
    identifier: Annotated[str, typer.Option("--id", help="USCC, or the consignor's name")],
    reason: Annotated[str, typer.Option(help="Why; journaled")],
    as_user: AsOpt,
    valid_from: Annotated[Optional[str], typer.Option("--from", help="First day in force (YYYY-MM-DD; default today)")] = None,
    valid_to: Annotated[Optional[str], typer.Option("--to", help="Day it ends (YYYY-MM-DD, exclusive; default open)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Put a party on a watch list, with a reason and a validity."""
    from smartcustoms.risk.knowledge import service as knowledge

    with runtime(json_output) as rt:
        problems: list[Problem] = []
        why = noted_reason(reason, "/reason", problems)
        start = noted_day(valid_from, "/valid_from", problems) or (date.min if valid_from else utcnow().date())
        end = noted_day(valid_to, "/valid_to", problems)
        who = staff(rt, as_user)
        with rt.write() as s, together(problems):
            entry = knowledge.add_watch(
                s,
                list_name=list_name,
                party_kind=kind,
                identifier=identifier,
                reason=why,
                valid_from=start,
                valid_to=end,
                actor=who.actor(),
                now=utcnow(),
            )
            out = _watch_out(entry)
    emit(out, json_output, f"watch-list entry {out['id']}: {out['kind']} {out['identifier']} on {out['list']}")


@watch_app.command("list")
def watch_list(
    on: Annotated[Optional[str], typer.Option(help="Entries in force on this day (YYYY-MM-DD; default today)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """The watch-list entries in force."""
    from smartcustoms.risk.knowledge import service as knowledge

    day, rows = _in_force(on, json_output, knowledge.watchlist, _watch_out)
    emit(rows, json_output, lambda: _watch_table(rows, day))


def _watch_table(rows: list[dict[str, Any]], day: date) -> Table:
    table = Table("id", "list", "kind", "identifier", "valid", "reason", "added by", title=f"{len(rows)} entry(ies) in force on {day}")
    for r in rows:
        table.add_row(
            str(r["id"]), r["list"], r["kind"], r["identifier"], f"{r['valid_from']} – {r['valid_to'] or ''}", r["reason"], r["added_by"]
        )
    return table


@watch_app.command("end")
def watch_end(
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="The entry's id (see watch list)")],
    reason: Annotated[str, typer.Option(help="Why; journaled")],
    as_user: AsOpt,
    json_output: JsonOpt = False,
) -> None:
    """End a watch-list entry from today (it stays in the history)."""
    from smartcustoms.risk.knowledge import service as knowledge

    with runtime(json_output) as rt:
        problems: list[Problem] = []
        why = noted_reason(reason, "/reason", problems)
        who = staff(rt, as_user)
        with rt.write() as s, together(problems):
            now = utcnow()
            out = _watch_out(knowledge.end_watch(s, entry_id=entry_id, on=now.date(), reason=why, actor=who.actor(), now=now))
    emit(out, json_output, f"watch-list entry {out['id']} ends on {out['valid_to']}")


@restrict_app.command("add")
def restrict_add(
    hs: Annotated[str, typer.Option("--hs", help="HS prefix, 2 to 10 digits")],
    reason: Annotated[str, typer.Option(help="Why; journaled")],
    as_user: AsOpt,
    licence: Annotated[Optional[str], typer.Option(help="The licence the goods need")] = None,
    prohibited: Annotated[bool, typer.Option("--prohibited", help="The goods are prohibited")] = False,
    valid_from: Annotated[Optional[str], typer.Option("--from", help="First day in force (YYYY-MM-DD; default today)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Record that goods under an HS prefix need a licence (--licence) or are prohibited (--prohibited)."""
    from smartcustoms.risk.knowledge import service as knowledge

    with runtime(json_output) as rt:
        problems: list[Problem] = []
        if licence is not None and prohibited:
            problems.append(
                Problem("CLI-OPT-001", "/prohibited", "--licence and --prohibited exclude each other: prohibited goods need no licence.")
            )
        why = noted_reason(reason, "/reason", problems)
        start = noted_day(valid_from, "/valid_from", problems) or utcnow().date()
        who = staff(rt, as_user)
        with rt.write() as s, together(problems):
            row = knowledge.add_restricted(
                s, hs_prefix=hs, licence=licence, prohibited=prohibited, reason=why, valid_from=start, actor=who.actor(), now=utcnow()
            )
            out = _restricted_out(row)
    what = "prohibited" if out["prohibited"] else f"need {out['licence']}"
    emit(out, json_output, f"goods under {out['hs_prefix']} {what} from {out['valid_from']}")


@restrict_app.command("list")
def restrict_list(
    on: Annotated[Optional[str], typer.Option(help="Restrictions in force on this day (YYYY-MM-DD; default today)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """The restrictions in force, by HS prefix."""
    from smartcustoms.risk.knowledge import service as knowledge

    day, rows = _in_force(on, json_output, knowledge.restricted, _restricted_out)
    emit(rows, json_output, lambda: _restricted_table(rows, day))


def _restricted_table(rows: list[dict[str, Any]], day: date) -> Table:
    table = Table("HS prefix", "licence", "prohibited", "from", "reason", "added by", title=f"{len(rows)} restriction(s) in force on {day}")
    for r in rows:
        table.add_row(r["hs_prefix"], r["licence"] or "", "yes" if r["prohibited"] else "", r["valid_from"], r["reason"], r["added_by"])
    return table


def refresh_prices(date_from: FromOpt, date_to: ToOpt, json_output: JsonOpt = False) -> None:
    """Learn reference unit prices from the honest history of a period into the knowledge base."""
    from smartcustoms.risk.history import service as history
    from smartcustoms.risk.knowledge import service as knowledge

    with runtime(json_output) as rt:
        start, end = dates(date_from, date_to)
        with rt.write() as s:
            frame = history.frame(s, date_from=start, date_to=end, knowledge=False)
            n = knowledge.refresh_reference_prices(s, frame=frame, basis_from=start, basis_to=end, actor=OPERATOR, now=utcnow())
    out = {"prices": n, "rows": len(frame), "from": start.isoformat(), "to": end.isoformat()}
    emit(out, json_output, f"{n} reference prices learned from {len(frame)} history rows")
