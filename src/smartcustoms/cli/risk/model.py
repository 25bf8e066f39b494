"""Labelled history and the model library: import history, train, evaluate, list, activate, retire, drift, retrain."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from smartcustoms.cli.common import OPERATOR, JsonOpt, console, emit, parse_date, progress_bar, runtime, show_error
from smartcustoms.cli.risk.shared import KS, FromOpt, ToOpt, dates, pct
from smartcustoms.kit.clock import utcnow

ModelOpt = Annotated[str, typer.Option("--model", help="Model name")]
NewestOpt = Annotated[Optional[int], typer.Option(help="Version (default: newest)")]
VersionOpt = Annotated[int, typer.Option(help="Version")]


def import_history(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="History CSV")],
    mapping: Annotated[Path, typer.Option("--mapping", exists=True, dir_okay=False, help="TOML mapping of the CSV's columns")],
    json_output: JsonOpt = False,
) -> None:
    """Import labelled history from CSV; reports rows read, rejected (summed up by reason, with the first lines), stored and skipped."""
    from smartcustoms.risk.history import service as history

    with runtime(json_output) as rt, progress_bar(quiet=json_output) as progress, rt.write() as s:
        task = progress.add_task("History rows", total=None)
        report = history.import_history(
            s,
            path=file,
            mapping_path=mapping,
            actor=OPERATOR,
            now=utcnow(),
            progress=lambda d, t: progress.update(task, completed=d, total=t),
        )
    emit(report.as_dict(), json_output, lambda: _import_report(report))


def _import_report(report: Any) -> None:
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

    with runtime(json_output) as rt:
        until = parse_date(train_until, "/train_until")
        start = parse_date(train_from, "/train_from") if train_from else None
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
    emit(out, json_output, lambda: _trained(out))


def _trained(out: dict[str, Any]) -> None:
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
                *(pct(src[m][k]) for m in ("precision_at", "recall_at", "revenue_at")),
                end_section=who == "random",
            )
    auc = " / ".join(f"{v:.3f}" if v is not None else "—" for v in (r["auc"], rules["auc"], 0.5))
    table.caption = f"AUC model / rules / random: {auc}"
    return table


def evaluate(model: ModelOpt, date_from: FromOpt, date_to: ToOpt, version: NewestOpt = None, json_output: JsonOpt = False) -> None:
    """Score the history of a period as if it arrived then; precision, recall, revenue at 1, 2, 5, 10 %, AUC, beside baselines."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from smartcustoms.risk.model import service as models

    with runtime(json_output) as rt:
        start, end = dates(date_from, date_to)
        with rt.read() as s:
            result = models.evaluate(s, model_name=model, version=version, date_from=start, date_to=end)
    emit(result, json_output, lambda: _evaluation(result))


def _evaluation(result: dict[str, Any]) -> None:
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
            table.add_row(p, str(v["rows"]), pct(v["model"]), pct(v["rules"]), pct(v["random"]))
        console.print(table)


def models_list(json_output: JsonOpt = False) -> None:
    """The model registry: every version with its role, data range and validation AUC."""
    from smartcustoms.risk.model import service as models

    with runtime(json_output) as rt, rt.read() as s:
        rows = [models.describe(m) for m in models.listing(s)]
    emit(rows, json_output, lambda: _models_table(rows))


def _models_table(rows: list[dict[str, Any]]) -> Table:
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
    return table


def activate(
    model: ModelOpt,
    version: VersionOpt,
    role: Annotated[str, typer.Option(help="champion (decides) or challenger (scores in shadow)")],
    procedure: Annotated[str, typer.Option(help="Procedure, or * for all")] = "*",
    json_output: JsonOpt = False,
) -> None:
    """Make a model version the champion or the challenger of a procedure."""
    from smartcustoms.risk.model import service as models

    with runtime(json_output) as rt, rt.write() as s:
        row = models.activate(s, name=model, version=version, role=role, procedure=procedure, actor=OPERATOR, now=utcnow())
        out = models.describe(row)
    emit(out, json_output, f"{out['name']}/v{out['version']} is now {out['role']} for {out['procedure']}")


def retire(model: ModelOpt, version: VersionOpt, reason: Annotated[str, typer.Option(help="Why")]) -> None:
    """Retire a model version for good (it stays in the registry)."""
    from smartcustoms.risk.model import service as models

    with runtime() as rt, rt.write() as s:
        models.retire(s, name=model, version=version, reason=reason, actor=OPERATOR, now=utcnow())
    console.print(f"{model}/v{version} retired")


def drift(model: ModelOpt, date_from: FromOpt, date_to: ToOpt, version: NewestOpt = None, json_output: JsonOpt = False) -> None:
    """Score drift of a period against the model's training (population stability index)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from smartcustoms.risk.model import service as models

    with runtime(json_output) as rt:
        start, end = dates(date_from, date_to)
        with rt.read() as s:
            out = models.drift(s, name=model, version=version, date_from=start, date_to=end)
    emit(
        out,
        json_output,
        lambda: (
            f"{model}/v{out['model']['version']} on {out['rows']} rows: PSI {out['psi']:.3f} ({out['status']}); "
            f"mean score {out['recent_mean']:.4f} against {out['training_mean']:.4f} in training"
        ),
    )


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
            *(pct(m["precision_at"][k]) for k in KS),
            pct(m["revenue_at"]["5"]),
            f"{m['rules_auc']:.4f}" if m["rules_auc"] is not None else "—",
        )
    return table


def _retrained(report: dict[str, Any], *, refused: bool) -> None:
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
    elif not refused:
        console.print(f"{m['name']}/v{m['version']} is registered, not activated (use --activate to promote it)")


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

    with runtime(json_output) as rt:
        until = parse_date(train_until, "/train_until") if train_until else utcnow().date()
        refused: models.NotBetter | None = None
        with progress_bar(quiet=json_output) as progress:
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
    emit(report, json_output, lambda: _retrained(report, refused=refused is not None))
    if refused is not None:
        show_error(refused, json_output)
        raise typer.Exit(1)
