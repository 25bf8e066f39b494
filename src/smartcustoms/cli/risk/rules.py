"""The parameter library: rules proposed by one person and approved or rejected by another, listed, shown and tested against history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from smartcustoms.cli.common import AsOpt, JsonOpt, console, emit, principal_named, read_json, runtime
from smartcustoms.cli.risk.shared import FromOpt, ToOpt, parse_body, pct, period
from smartcustoms.kit.clock import utcnow
from smartcustoms.risk.parameter.models import RuleStatus

rule_app = typer.Typer(
    help="Risk rules: propose, approve or reject (by a second person), retire, list, show, test against history.", no_args_is_help=True
)


def _rule_out(rule: Any) -> dict[str, Any]:
    from smartcustoms.risk.parameter.schemas import RuleRead

    return RuleRead.model_validate(rule).model_dump(mode="json")


def _rule_line(r: dict[str, Any]) -> str:
    return f"[bold]{r['code']}[/bold] v{r['version']} {r['status']}: {r['name']}"


@rule_app.command("propose")
def rule_propose(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Rule JSON (code, name, reason, instructions, condition, ...)")],
    as_user: AsOpt,
    json_output: JsonOpt = False,
) -> None:
    """Propose a rule, or a new version of a code, from a JSON file; it takes effect once another person approves it."""
    from smartcustoms.risk.parameter import service as parameters
    from smartcustoms.risk.parameter.schemas import RuleCreate

    with runtime(json_output) as rt:
        data = parse_body(RuleCreate, read_json(file), "rule")
        who = principal_named(rt, as_user)
        with rt.write() as s:
            out = _rule_out(parameters.propose(s, data=data, principal=who, now=utcnow()))
    emit(out, json_output, f"proposed {_rule_line(out)}; another analyst or a supervisor approves it")


def _decide(action: str, code: str, version: int | None, note: str, as_user: str, json_output: bool) -> None:
    from smartcustoms.risk.parameter import service as parameters
    from smartcustoms.risk.parameter.schemas import Decision

    with runtime(json_output) as rt:
        decision = parse_body(Decision, {"note": note.strip()}, "decision")
        who = principal_named(rt, as_user)
        with rt.write() as s:
            now = utcnow()
            if action == "retire":
                rule = parameters.retire(s, code=code, note=decision.note, principal=who, now=now)
            else:
                assert version is not None
                decide = parameters.approve if action == "approve" else parameters.reject
                rule = decide(s, code=code, version=version, note=decision.note, principal=who, now=now)
            out = _rule_out(rule)
    emit(out, json_output, f"{_rule_line(out)} (by {who.name})")


VersionOpt = Annotated[int, typer.Option("--version", min=1, help="The proposed version")]
NoteOpt = Annotated[str, typer.Option("--note", help="Why (3 to 500 characters); journaled")]


@rule_app.command("approve")
def rule_approve(code: str, version: VersionOpt, note: NoteOpt, as_user: AsOpt, json_output: JsonOpt = False) -> None:
    """Approve a proposed version: it replaces the version in force. The person who wrote it cannot approve it."""
    _decide("approve", code, version, note, as_user, json_output)


@rule_app.command("reject")
def rule_reject(code: str, version: VersionOpt, note: NoteOpt, as_user: AsOpt, json_output: JsonOpt = False) -> None:
    """Reject a proposed version, with a note."""
    _decide("reject", code, version, note, as_user, json_output)


@rule_app.command("retire")
def rule_retire(code: str, note: NoteOpt, as_user: AsOpt, json_output: JsonOpt = False) -> None:
    """Take the version in force out of use (it stays in the history)."""
    _decide("retire", code, None, note, as_user, json_output)


@rule_app.command("list")
def rule_list(
    status: Annotated[Optional[RuleStatus], typer.Option(help="Only versions in this status")] = None, json_output: JsonOpt = False
) -> None:
    """Every rule version, by code, newest version first."""
    from smartcustoms.risk.parameter import service as parameters

    with runtime(json_output) as rt, rt.read() as s:
        rows = [_rule_out(r) for r in parameters.listing(s, status=status)]
    emit(rows, json_output, lambda: _rules_table(rows))


def _rules_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        "code", "version", "status", "name", "lane", "weight", "valid", "written by", "decided by", title=f"{len(rows)} rule version(s)"
    )
    for r in rows:
        table.add_row(
            r["code"],
            str(r["version"]),
            r["status"],
            r["name"],
            r["lane"] or "",
            f"{r['weight']:g}",
            f"{r['valid_from']} – {r['valid_to'] or ''}",
            r["created_by"],
            r["decided_by"] or "",
        )
    return table


@rule_app.command("show")
def rule_show(code: str, json_output: JsonOpt = False) -> None:
    """Every version of a rule, oldest first, with its condition and decisions."""
    from smartcustoms.risk.parameter import service as parameters

    with runtime(json_output) as rt, rt.read() as s:
        rows = [_rule_out(r) for r in parameters.versions(s, code=code)]
    emit(rows, json_output, lambda: _show_versions(rows))


def _show_versions(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        console.print(_rule_line(r))
        console.print(f"  lane {r['lane'] or '—'}, weight {r['weight']:g}, offices {', '.join(r['offices'] or ['all'])}")
        console.print(f"  valid {r['valid_from']} – {r['valid_to'] or 'open'}; legal reference {r['legal_reference'] or '—'}")
        console.print(f"  reason: {r['reason']}")
        console.print(f"  instructions: {r['instructions']}")
        console.print(f"  condition: {json.dumps(r['condition'], ensure_ascii=False)}")
        console.print(f"  written by {r['created_by']} at {r['created_at'][:16]}", end="")
        console.print(f"; {r['decided_by']} decided at {str(r['decided_at'])[:16]}: {r['decision_note']}" if r["decided_by"] else "")


@rule_app.command("test")
def rule_test(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Condition JSON (or a rule JSON: its condition is used)")],
    date_from: FromOpt,
    date_to: ToOpt,
    json_output: JsonOpt = False,
) -> None:
    """Try a condition on the labelled history of a period: hits, true hits, precision, recall and revenue."""
    from smartcustoms.risk.history import service as history
    from smartcustoms.risk.knowledge import service as knowledge
    from smartcustoms.risk.parameter import service as parameters

    with runtime(json_output) as rt:
        raw = read_json(file)
        condition = raw["condition"] if isinstance(raw, dict) and "condition" in raw else raw
        start, end = period(date_from, date_to)
        with rt.read() as s:
            frame = history.frame(s, date_from=start, date_to=end)
            out = parameters.test_condition(condition, frame, lists=knowledge.named_lists(s, on=utcnow().date()))
    out = {"from": start.isoformat(), "to": end.isoformat(), **out}
    emit(out, json_output, lambda: _tested(out))


def _tested(out: dict[str, Any]) -> None:
    console.print(
        f"{out['rows']} history rows from {out['from']} to {out['to']}: {out['hits']} hits ({pct(out['hit_share'])}), "
        f"{out['true_hits']} true hits, precision {pct(out['precision'])}, recall {pct(out['recall'])}, "
        f"revenue {out['revenue']:,.2f}, {out['errors']} rows could not be evaluated"
    )
    if out["sample"]:
        console.print("  e.g. " + ", ".join(out["sample"]))
