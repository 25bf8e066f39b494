"""`smartcustoms risk`: labelled history, the model library (train, evaluate, register, retrain, drift),
the parameter library (rules, with a second person's approval), the knowledge base (watch lists,
restricted goods), selectivity settings and the outcomes of checks."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.cli.common import OPERATOR, console, emit_json, err_console, handled, make_runtime, principal_named
from smartcustoms.declaration.validation import label, pointer
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.risk.parameter.models import RuleStatus
from smartcustoms.runtime import Runtime

app = typer.Typer(
    help="Risk: labelled history, models (train, evaluate, activate, retrain, drift), rules, watch lists, restricted goods, "
    "selectivity, outcomes, reference prices.",
    no_args_is_help=True,
)
rule_app = typer.Typer(
    help="Risk rules: propose, approve or reject (by a second person), retire, list, show, test against history.", no_args_is_help=True
)
watch_app = typer.Typer(help="Watch lists: parties to look at more closely, with a reason and a validity.", no_args_is_help=True)
restrict_app = typer.Typer(help="Restricted goods: HS prefixes that need a licence or are prohibited.", no_args_is_help=True)
selectivity_app = typer.Typer(
    help="Selectivity: each office's target lane rates and random share, and how the lanes actually fell.", no_args_is_help=True
)
app.add_typer(rule_app, name="rule")
app.add_typer(watch_app, name="watch")
app.add_typer(restrict_app, name="restrict")
app.add_typer(selectivity_app, name="selectivity")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsOpt = Annotated[str, typer.Option("--as", help="Name of the user to act as")]
FromOpt = Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")]
ToOpt = Annotated[str, typer.Option("--to", help="Day after the period (YYYY-MM-DD, exclusive).")]
KS = ("1", "2", "5", "10")


def _date(text: str, ptr: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed("Bad date.", [Problem("CLI-DATE-001", ptr, f"{text!r} is not a date written YYYY-MM-DD.")]) from exc


def _progress(*, quiet: bool = False) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console, disable=quiet
    )


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * float(v):.1f} %"


@app.command("import-history")
def import_history(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="History CSV")],
    mapping: Annotated[Path, typer.Option("--mapping", exists=True, dir_okay=False, help="TOML mapping of the CSV's columns")],
    json_output: JsonOpt = False,
) -> None:
    """Import labelled history from CSV; reports rows read, rejected (summed up by reason, with the first lines), stored and skipped."""
    from smartcustoms.risk.history import service as history

    rt = make_runtime()
    with handled(json_output), _progress(quiet=json_output) as progress, rt.write() as s:
        task = progress.add_task("History rows", total=None)
        report = history.import_history(
            s,
            path=file,
            mapping_path=mapping,
            actor=OPERATOR,
            now=utcnow(),
            progress=lambda d, t: progress.update(task, completed=d, total=t),
        )
    rt.stop()
    if json_output:
        emit_json(report.as_dict())
        return
    console.print(
        f"source [bold]{report.source}[/bold]: read {report.read}, rejected {len(report.rejected)}, stored {report.stored}, "
        f"skipped {report.skipped} (already imported)"
    )
    for r in report.summary():
        lines = ", ".join(str(n) for n in r["lines"]) + (", ..." if r["rows"] > len(r["lines"]) else "")
        console.print(f"  {r['rows']} rows: {r['reason']} (lines {lines})")
    if report.rejected:
        first_line, first_reason = report.rejected[0]
        console.print(f"  first rejected: line {first_line}: {first_reason} (--json lists every row)")


@app.command("train")
def train(
    name: Annotated[str, typer.Option(help="Model name; each training adds a version")],
    train_until: Annotated[str, typer.Option("--train-until", help="Train on history before this day (YYYY-MM-DD)")],
    train_from: Annotated[
        Optional[str], typer.Option("--train-from", help="First day of training rows (default: 2nd month of history)")
    ] = None,
    procedure: Annotated[str, typer.Option(help="Procedure the model is for, or * for all")] = "*",
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", help="Extra column never to use as a feature (repeatable)")] = None,
    tune: Annotated[
        bool, typer.Option("--tune", help="Choose hyper-parameters by search on the last 15 % of the training window (a few minutes)")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Train a LightGBM fraud model on the history before --train-until and register it."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from smartcustoms.risk.model import service as models

    rt = make_runtime()
    with handled(json_output):
        until = _date(train_until, "/train_until")
        start = _date(train_from, "/train_from") if train_from else None
        with rt.write() as s:
            row = models.train(
                s,
                name=name,
                train_until=until,
                train_from=start,
                procedure=procedure,
                exclude=exclude or (),
                tune=tune,
                actor=OPERATOR,
                now=utcnow(),
            )
            out = {**models.describe(row), "metrics": row.metrics}
    rt.stop()
    if json_output:
        emit_json(out)
        return
    v = out["metrics"]["validation"]
    console.print(
        f"trained [bold]{out['name']}/v{out['version']}[/bold] on {out['rows']} rows ({out['positives']} frauds) "
        f"from {out['train_from']} to {out['train_until']}; {out['metrics']['rounds']} trees, "
        f"validation AUC {v['auc'] if v['auc'] is not None else '—'}"
    )
    params = ", ".join(f"{k} {v}" for k, v in out["params"].items())
    tuning = out["metrics"].get("tuning")
    how = f"chosen among {len(tuning['trials'])} trials in {tuning['seconds']:.0f} s" if tuning else "defaults"
    console.print(f"parameters ({how}): {params}")


def _quality_table(r: dict[str, Any]) -> Table:
    rules, rnd = r["baselines"]["rules"], r["baselines"]["random"]
    table = Table(
        title=f"{r['model']['name']}/v{r['model']['version']}: {r['rows']} rows from {r['from']} to {r['to']}, {r['positives']} frauds"
    )
    for col in ("checked", "by", "precision", "recall", "revenue"):
        table.add_column(col, justify="right")
    for k in KS:
        for who, src in (("model", r), ("rules", rules), ("random", rnd)):
            table.add_row(
                f"top {k} %" if who == "model" else "",
                who,
                *(_pct(src[m][k]) for m in ("precision_at", "recall_at", "revenue_at")),
                end_section=who == "random",
            )
    auc = " / ".join(f"{v:.3f}" if v is not None else "—" for v in (r["auc"], rules["auc"], 0.5))
    table.caption = f"AUC model / rules / random: {auc}"
    return table


@app.command("evaluate")
def evaluate(
    model: Annotated[str, typer.Option("--model", help="Model name")],
    date_from: FromOpt,
    date_to: ToOpt,
    version: Annotated[Optional[int], typer.Option(help="Version (default: newest)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Score the history of a period as if it arrived then; precision, recall, revenue at 1, 2, 5, 10 %, AUC, beside baselines."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from smartcustoms.risk.model import service as models

    rt = make_runtime()
    with handled(json_output):
        start, end = _date(date_from, "/from"), _date(date_to, "/to")
        with rt.read() as s:
            result = models.evaluate(s, model_name=model, version=version, date_from=start, date_to=end)
    rt.stop()
    if json_output:
        emit_json(result)
        return
    console.print(_quality_table(result))
    rules = result["baselines"]["rules"]
    console.print(f"rules baseline: {rules['source']}; {rules['rows_with_errors']} rows where a rule could not be evaluated")
    for sk in rules.get("skipped", []):
        console.print(f"  skipped {sk['code']}: {sk['reason']}")
    if result.get("patterns"):
        table = Table(title=f"Caught at a {result['patterns_at']} % inspection rate, per pattern")
        for col in ("pattern", "rows", "model", "rules", "random"):
            table.add_column(col, justify="right")
        for p, v in result["patterns"].items():
            table.add_row(p, str(v["rows"]), _pct(v["model"]), _pct(v["rules"]), _pct(v["random"]))
        console.print(table)


@app.command("models")
def models_list(json_output: JsonOpt = False) -> None:
    """The model registry: every version with its role, data range and validation AUC."""
    from smartcustoms.risk.model import service as models

    rt = make_runtime()
    with rt.read() as s:
        rows = [models.describe(m) for m in models.listing(s)]
    rt.stop()
    if json_output:
        emit_json(rows)
        return
    table = Table("name", "version", "role", "procedure", "trained on", "rows", "frauds", "validation AUC", "parameters", "created")
    for r in rows:
        table.add_row(
            r["name"],
            str(r["version"]),
            r["role"],
            r["procedure"],
            f"{r['train_from']} – {r['train_until']}",
            str(r["rows"]),
            str(r["positives"]),
            f"{r['validation_auc']:.3f}" if r["validation_auc"] is not None else "—",
            ("tuned: " if r["tuned"] else "") + " ".join(f"{k}={v}" for k, v in r["params"].items() if v is not None),
            r["created_at"][:16],
        )
    console.print(table)


@app.command("activate")
def activate(
    model: Annotated[str, typer.Option("--model", help="Model name")],
    version: Annotated[int, typer.Option(help="Version")],
    role: Annotated[str, typer.Option(help="champion (decides) or challenger (scores in shadow)")],
    procedure: Annotated[str, typer.Option(help="Procedure, or * for all")] = "*",
    json_output: JsonOpt = False,
) -> None:
    """Make a model version the champion or the challenger of a procedure."""
    from smartcustoms.risk.model import service as models

    rt = make_runtime()
    with handled(json_output), rt.write() as s:
        row = models.activate(s, name=model, version=version, role=role, procedure=procedure, actor=OPERATOR, now=utcnow())
        out = models.describe(row)
    rt.stop()
    emit_json(out) if json_output else console.print(f"{out['name']}/v{out['version']} is now {out['role']} for {out['procedure']}")


@app.command("retire")
def retire(
    model: Annotated[str, typer.Option("--model", help="Model name")],
    version: Annotated[int, typer.Option(help="Version")],
    reason: Annotated[str, typer.Option(help="Why")],
) -> None:
    """Retire a model version for good (it stays in the registry)."""
    from smartcustoms.risk.model import service as models

    rt = make_runtime()
    with handled(), rt.write() as s:
        models.retire(s, name=model, version=version, reason=reason, actor=OPERATOR, now=utcnow())
    rt.stop()
    console.print(f"{model}/v{version} retired")


@app.command("drift")
def drift(
    model: Annotated[str, typer.Option("--model", help="Model name")],
    date_from: FromOpt,
    date_to: ToOpt,
    version: Annotated[Optional[int], typer.Option(help="Version (default: newest)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Score drift of a period against the model's training (population stability index)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from smartcustoms.risk.model import service as models

    rt = make_runtime()
    with handled(json_output):
        start, end = _date(date_from, "/from"), _date(date_to, "/to")
        with rt.read() as s:
            out = models.drift(s, name=model, version=version, date_from=start, date_to=end)
    rt.stop()
    if json_output:
        emit_json(out)
        return
    console.print(
        f"{model}/v{out['model']['version']} on {out['rows']} rows: PSI {out['psi']:.3f} ({out['status']}); "
        f"mean score {out['recent_mean']:.4f} against {out['training_mean']:.4f} in training"
    )


@app.command("refresh-prices")
def refresh_prices(date_from: FromOpt, date_to: ToOpt, json_output: JsonOpt = False) -> None:
    """Learn reference unit prices from the honest history of a period into the knowledge base."""
    from smartcustoms.risk.history import service as history
    from smartcustoms.risk.knowledge import service as knowledge

    rt = make_runtime()
    with handled(json_output):
        start, end = _date(date_from, "/from"), _date(date_to, "/to")
        with rt.write() as s:
            frame = history.frame(s, date_from=start, date_to=end, knowledge=False)
            n = knowledge.refresh_reference_prices(s, frame=frame, basis_from=start, basis_to=end, actor=OPERATOR, now=utcnow())
    rt.stop()
    out = {"prices": n, "rows": len(frame), "from": start.isoformat(), "to": end.isoformat()}
    emit_json(out) if json_output else console.print(f"{n} reference prices learned from {len(frame)} history rows")


@app.command("profile")
def enterprise_profile(
    uscc: Annotated[str, typer.Argument(help="The enterprise's USCC")],
    days: Annotated[int, typer.Option(min=1, max=3660, help="Period in days, up to today")] = 365,
    json_output: JsonOpt = False,
) -> None:
    """An enterprise's risk profile: credit, watch lists, declarations, lanes, rule hits, checks and revenue recovered."""
    from smartcustoms.risk.selectivity import service as selectivity

    rt = make_runtime()
    with handled(json_output), rt.read() as s:
        p = selectivity.profile(s, uscc=uscc, now=utcnow(), days=days)
    rt.stop()
    if json_output:
        emit_json(p)
        return
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


# --- shared by the commands below ------------------------------------------------------------------

RISK_STAFF = (Role.analyst, Role.supervisor, Role.admin)  # who changes the knowledge base and selectivity
M = TypeVar("M", bound=BaseModel)


def _read_json(path: Path) -> Any:
    """The file's JSON content; a file that is not JSON is refused like a body that is not (REQ-008)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"{path.name} is not valid JSON.", [Problem("REQ-008", "/file", f"{path.name}: {exc}")]) from exc


def _parse(model: type[M], raw: Any, what: str) -> M:
    """A request body checked as the API checks it: every problem, coded REQ-001/002/003."""
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            loc = tuple(e["loc"])
            code = {"missing": "REQ-001", "extra_forbidden": "REQ-002"}.get(e["type"], "REQ-003")
            problems.append(Problem(code, pointer(*loc), f"{label(loc) if loc else what}: {e['msg']}."))
        raise ValidationFailed(f"The {what} has {len(problems)} problem(s).", problems) from exc


def _blank(text: str, ptr: str, problems: list[Problem]) -> str:
    """A reason, noting REQ-001 when it is blank."""
    if not text.strip():
        problems.append(Problem("REQ-001", ptr, "A reason is required and cannot be blank."))
    return text.strip()


def _day(text: str | None, ptr: str, problems: list[Problem]) -> date | None:
    """A date option, noting CLI-DATE-001 when it is not YYYY-MM-DD (None then, or when not given)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(Problem("CLI-DATE-001", ptr, f"{text!r} is not a date written YYYY-MM-DD."))
        return None


@contextmanager
def _together(problems: list[Problem]) -> Iterator[None]:
    """Refuse with the command line's problems and the service's together, each once, so every problem shows at once.

    Used inside the write transaction: when only the command line found problems, raising here rolls the change back.
    """
    try:
        yield
    except ValidationFailed as exc:
        if problems:
            raise ValidationFailed(exc.detail, [*problems, *(p for p in exc.problems if p not in problems)]) from exc
        raise
    if problems:
        raise ValidationFailed(f"The command has {len(problems)} problem(s); nothing was changed.", problems)


def _staff(rt: Runtime, name: str) -> Principal:
    """The named user, who must be an analyst, a supervisor or an admin."""
    who = principal_named(rt, name)
    who.require(*RISK_STAFF)
    return who


def _period(date_from: str, date_to: str) -> tuple[date, date]:
    start, end = _date(date_from, "/from"), _date(date_to, "/to")
    if end <= start:
        raise ValidationFailed("Empty period.", [Problem("CLI-PERIOD-001", "/to", f"--to {end} must be after --from {start}.")])
    return start, end


# --- rules -------------------------------------------------------------------------------------------------


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

    rt = make_runtime()
    with handled(json_output):
        data = _parse(RuleCreate, _read_json(file), "rule")
        who = principal_named(rt, as_user)
        with rt.write() as s:
            out = _rule_out(parameters.propose(s, data=data, principal=who, now=utcnow()))
    rt.stop()
    emit_json(out) if json_output else console.print(f"proposed {_rule_line(out)}; another analyst or a supervisor approves it")


def _decide(action: str, code: str, version: int | None, note: str, as_user: str, json_output: bool) -> None:
    from smartcustoms.risk.parameter import service as parameters
    from smartcustoms.risk.parameter.schemas import Decision

    rt = make_runtime()
    with handled(json_output):
        decision = _parse(Decision, {"note": note.strip()}, "decision")
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
    rt.stop()
    emit_json(out) if json_output else console.print(f"{_rule_line(out)} (by {who.name})")


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

    rt = make_runtime()
    with rt.read() as s:
        rows = [_rule_out(r) for r in parameters.listing(s, status=status)]
    rt.stop()
    if json_output:
        emit_json(rows)
        return
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
    console.print(table)


@rule_app.command("show")
def rule_show(code: str, json_output: JsonOpt = False) -> None:
    """Every version of a rule, oldest first, with its condition and decisions."""
    from smartcustoms.risk.parameter import service as parameters

    rt = make_runtime()
    with handled(json_output), rt.read() as s:
        rows = [_rule_out(r) for r in parameters.versions(s, code=code)]
    rt.stop()
    if json_output:
        emit_json(rows)
        return
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

    rt = make_runtime()
    with handled(json_output):
        raw = _read_json(file)
        condition = raw["condition"] if isinstance(raw, dict) and "condition" in raw else raw
        start, end = _period(date_from, date_to)
        with rt.read() as s:
            frame = history.frame(s, date_from=start, date_to=end)
            out = parameters.test_condition(condition, frame, lists=knowledge.named_lists(s, on=utcnow().date()))
    rt.stop()
    out = {"from": start.isoformat(), "to": end.isoformat(), **out}
    if json_output:
        emit_json(out)
        return
    console.print(
        f"{out['rows']} history rows from {out['from']} to {out['to']}: {out['hits']} hits ({_pct(out['hit_share'])}), "
        f"{out['true_hits']} true hits, precision {_pct(out['precision'])}, recall {_pct(out['recall'])}, "
        f"revenue {out['revenue']:,.2f}, {out['errors']} rows could not be evaluated"
    )
    if out["sample"]:
        console.print("  e.g. " + ", ".join(out["sample"]))


# --- watch lists and restricted goods ---------------------------------------------------------------------


def _watch_out(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "list": e.list_name,
        "kind": e.party_kind,
        "identifier": e.identifier,
        "reason": e.reason,
        "valid_from": e.valid_from.isoformat(),
        "valid_to": e.valid_to.isoformat() if e.valid_to else None,
        "added_by": e.added_by,
        "added_at": e.added_at.isoformat(),
    }


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

    rt = make_runtime()
    with handled(json_output):
        problems: list[Problem] = []
        why = _blank(reason, "/reason", problems)
        start = _day(valid_from, "/valid_from", problems) or (date.min if valid_from else utcnow().date())
        end = _day(valid_to, "/valid_to", problems)
        who = _staff(rt, as_user)
        with rt.write() as s, _together(problems):
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
    rt.stop()
    emit_json(out) if json_output else console.print(f"watch-list entry {out['id']}: {out['kind']} {out['identifier']} on {out['list']}")


@watch_app.command("list")
def watch_list(
    on: Annotated[Optional[str], typer.Option(help="Entries in force on this day (YYYY-MM-DD; default today)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """The watch-list entries in force."""
    from smartcustoms.risk.knowledge import service as knowledge

    rt = make_runtime()
    with handled(json_output):
        day = _date(on, "/on") if on else utcnow().date()
        with rt.read() as s:
            rows = [_watch_out(e) for e in knowledge.watchlist(s, on=day)]
    rt.stop()
    if json_output:
        emit_json(rows)
        return
    table = Table("id", "list", "kind", "identifier", "valid", "reason", "added by", title=f"{len(rows)} entry(ies) in force on {day}")
    for r in rows:
        table.add_row(
            str(r["id"]), r["list"], r["kind"], r["identifier"], f"{r['valid_from']} – {r['valid_to'] or ''}", r["reason"], r["added_by"]
        )
    console.print(table)


@watch_app.command("end")
def watch_end(
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="The entry's id (see watch list)")],
    reason: Annotated[str, typer.Option(help="Why; journaled")],
    as_user: AsOpt,
    json_output: JsonOpt = False,
) -> None:
    """End a watch-list entry from today (it stays in the history)."""
    from smartcustoms.risk.knowledge import service as knowledge

    rt = make_runtime()
    with handled(json_output):
        problems: list[Problem] = []
        why = _blank(reason, "/reason", problems)
        who = _staff(rt, as_user)
        with rt.write() as s, _together(problems):
            now = utcnow()
            out = _watch_out(knowledge.end_watch(s, entry_id=entry_id, on=now.date(), reason=why, actor=who.actor(), now=now))
    rt.stop()
    emit_json(out) if json_output else console.print(f"watch-list entry {out['id']} ends on {out['valid_to']}")


def _restricted_out(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "hs_prefix": r.hs_prefix,
        "licence": r.licence,
        "prohibited": r.prohibited,
        "reason": r.reason,
        "valid_from": r.valid_from.isoformat(),
        "valid_to": r.valid_to.isoformat() if r.valid_to else None,
        "added_by": r.added_by,
        "added_at": r.added_at.isoformat(),
    }


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

    rt = make_runtime()
    with handled(json_output):
        problems: list[Problem] = []
        if licence is not None and prohibited:
            problems.append(
                Problem("CLI-OPT-001", "/prohibited", "--licence and --prohibited exclude each other: prohibited goods need no licence.")
            )
        why = _blank(reason, "/reason", problems)
        start = _day(valid_from, "/valid_from", problems) or utcnow().date()
        who = _staff(rt, as_user)
        with rt.write() as s, _together(problems):
            row = knowledge.add_restricted(
                s, hs_prefix=hs, licence=licence, prohibited=prohibited, reason=why, valid_from=start, actor=who.actor(), now=utcnow()
            )
            out = _restricted_out(row)
    rt.stop()
    what = "prohibited" if out["prohibited"] else f"need {out['licence']}"
    emit_json(out) if json_output else console.print(f"goods under {out['hs_prefix']} {what} from {out['valid_from']}")


@restrict_app.command("list")
def restrict_list(
    on: Annotated[Optional[str], typer.Option(help="Restrictions in force on this day (YYYY-MM-DD; default today)")] = None,
    json_output: JsonOpt = False,
) -> None:
    """The restrictions in force, by HS prefix."""
    from smartcustoms.risk.knowledge import service as knowledge

    rt = make_runtime()
    with handled(json_output):
        day = _date(on, "/on") if on else utcnow().date()
        with rt.read() as s:
            rows = [_restricted_out(r) for r in knowledge.restricted(s, on=day)]
    rt.stop()
    if json_output:
        emit_json(rows)
        return
    table = Table("HS prefix", "licence", "prohibited", "from", "reason", "added by", title=f"{len(rows)} restriction(s) in force on {day}")
    for r in rows:
        table.add_row(r["hs_prefix"], r["licence"] or "", "yes" if r["prohibited"] else "", r["valid_from"], r["reason"], r["added_by"])
    console.print(table)


# --- selectivity ---------------------------------------------------------------------------------------------


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

    rt = make_runtime()
    with handled(json_output):
        problems: list[Problem] = []
        why = reason.strip()
        if not why:  # the service says so too, but only once the rates are right
            problems.append(Problem("RSK-SEL-006", "/reason", "Say why the setting changes."))
        start = _day(valid_from, "/valid_from", problems) or utcnow().date()
        who = _staff(rt, as_user)
        with rt.write() as s, _together(problems):
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
    rt.stop()
    if json_output:
        emit_json(out)
        return
    console.print(
        f"office {out['office']} from {out['valid_from']}: red {_pct(out['red_rate'])}, yellow {_pct(out['yellow_rate'])}, "
        f"random {_pct(out['random_rate'])}, AEO x{out['aeo_factor']:g}, low credit x{out['low_credit_factor']:g}, "
        f"window {out['score_window']}; seed {out['seed_ref']}"
    )


@selectivity_app.command("show")
def selectivity_show(
    office: Annotated[Optional[str], typer.Option(help="An office code (default: every office)")] = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="Lane shares over this many last days")] = 30,
    json_output: JsonOpt = False,
) -> None:
    """The settings (the seed never shown, only its fingerprint seed_ref) and the lane shares of the last days against the targets."""
    from smartcustoms.risk.selectivity import service as selectivity

    rt = make_runtime()
    now = utcnow()
    one = office if office not in (None, "*") else None
    with rt.read() as s:
        settings = [x.public() for x in selectivity.settings(s) if office is None or x.office in (office, "*")]
        shares = selectivity.lane_shares(s, office=one, now=now, days=days)
    rt.stop()
    out = {"office": office or "*", "in_force": shares["targets"], "settings": settings, "lane_shares": shares}
    if json_output:
        emit_json(out)
        return
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
            _pct(x["red_rate"]),
            _pct(x["yellow_rate"]),
            _pct(x["random_rate"]),
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
        lanes.add_row(lane, str(n), _pct(shares["shares"][lane]), _pct(target.get(lane)) if lane in target else "")
    random_share = shares["random_selected"] / shares["assessments"] if shares["assessments"] else 0.0
    lanes.add_row("(random)", str(shares["random_selected"]), _pct(random_share), _pct(t.get("random_rate")))
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
            _pct(c["shares"]["red"]),
            str(c["alone"]["red"]),
            str(c["counts"]["yellow"]),
            _pct(c["shares"]["yellow"]),
            str(c["alone"]["yellow"]),
        )
    console.print(causes)


# --- outcomes and retraining ----------------------------------------------------------------------------------


@app.command("outcome")
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

    rt = make_runtime()
    with handled(json_output):
        problems: list[Problem] = []
        try:
            recovered = Decimal(revenue)
        except InvalidOperation:
            recovered = Decimal("NaN")
        if not recovered.is_finite():
            problems.append(Problem("REQ-003", "/revenue_recovered", f"Revenue recovered {revenue!r} is not a decimal number."))
            recovered = Decimal(0)
        who = principal_named(rt, as_user)
        with rt.write() as s, _together(problems):
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
    rt.stop()
    if json_output:
        emit_json(out)
        return
    found = f"a discrepancy (critical {out['critical']}, revenue {out['revenue_recovered']})" if out["hit"] else "nothing"
    console.print(f"{out['number']}: {out['source']} found {found}; {out['history_rows']} labelled history row(s) for learning")


def _comparison_table(r: dict[str, Any]) -> Table:
    e = r["evaluation"]
    table = Table(title=f"On {e['from']} – {e['to']} ({r['new']['rows']} rows, {r['new']['positives']} frauds)")
    for col in ("model", "AUC", *(f"precision top {k} %" for k in KS), "revenue top 5 %", "rules AUC"):
        table.add_column(col, justify="right")
    for who, m in (("new", r["new"]), ("champion", r["champion"])):
        if m is None:
            continue
        table.add_row(
            f"{m['model']['name']}/v{m['model']['version']} ({who})",
            f"{m['auc']:.4f}" if m["auc"] is not None else "—",
            *(_pct(m["precision_at"][k]) for k in KS),
            _pct(m["revenue_at"]["5"]),
            f"{m['rules_auc']:.4f}" if m["rules_auc"] is not None else "—",
        )
    return table


@app.command("retrain")
def retrain(
    name: Annotated[str, typer.Option(help="Model name; a new version is trained")],
    train_until: Annotated[
        Optional[str], typer.Option("--train-until", help="Learn from history declared before this day (YYYY-MM-DD; default today)")
    ] = None,
    activate: Annotated[
        bool,
        typer.Option(
            "--activate", help="Make the new version champion if its AUC is at least the champion's; else exit 1, storing nothing"
        ),
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Train a new version on all labelled history (imported and outcomes) and compare it with the champion on the most recent month."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from smartcustoms.risk.model import service as models

    rt = make_runtime()
    with handled(json_output):
        until = _date(train_until, "/train_until") if train_until else utcnow().date()
        refused: models.NotBetter | None = None
        with _progress(quiet=json_output) as progress:
            task = progress.add_task("Retraining", total=None)
            steps = [0]

            def step(text: str) -> None:
                progress.update(task, description=text, completed=steps[0])
                steps[0] += 1

            try:
                with rt.write() as s:
                    report = models.retrain(s, name=name, train_until=until, promote=activate, actor=OPERATOR, now=utcnow(), progress=step)
            except models.NotBetter as exc:
                refused, report = exc, exc.report
            progress.update(task, description="Done" if refused is None else "Not activated", total=steps[0], completed=steps[0])
    rt.stop()
    if json_output:
        emit_json(report)
    else:
        m = report["model"]
        console.print(
            f"{m['name']}/v{m['version']} trained on {m['rows']} rows ({m['positives']} frauds) from {m['train_from']} to {m['train_until']}; "
            f"history holds {report['history']['outcome_rows']} outcome row(s) and {report['history']['imported_rows']} imported"
        )
        console.print(_comparison_table(report))
        console.print(report["verdict"])
        for c in report["caveats"]:
            console.print(f"  [yellow]note:[/yellow] {c}")
        if report["activated"]:
            console.print(f"{m['name']}/v{m['version']} is now champion for {report['procedure']}")
        elif refused is None:
            console.print(f"{m['name']}/v{m['version']} is registered, not activated (use --activate to promote it)")
    if refused is not None:
        if json_output:
            print(json.dumps(refused.body(), indent=2), file=sys.stderr)
        else:
            err_console.print(f"[red]{refused.code}[/red]: {refused.detail}")
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    app()
