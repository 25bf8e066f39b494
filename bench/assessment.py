"""Single assessment inside lodging: rules, model score, TreeSHAP explanation, random draw, decision.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.assessment [--db sqlite|postgresql|both] [--lodgings 1000] [--json]

For each database: a temporary database (SQLite: a file; PostgreSQL: a schema of its own in the
`test` database, dropped at the end), migrated, with the built-in reference data; simulated
labelled history (`risk.simulator`, seed 3: 6,000 declarations over the 240 days before today,
imported with docs/examples/simulated-history.toml); reference prices learned from it; the
simulated brokers and importers registered with their credit ratings and one enterprise user
each; the demo's four rules (an analyst proposes, a supervisor approves); a consignor on the
watch list and a licence requirement; a selectivity setting; a LightGBM model trained on the
history and activated as champion.

Then the declarations the simulator made for the last two weeks (not in the imported history)
are lodged one after another, each under a new client reference, by their importer's user,
through `risk.selectivity.service.lodge` inside `Runtime.write()`, the way the API lodges them.
`selectivity.assess` is wrapped where lodging calls it: the assessment is timed and its SQL
statements counted (`before_cursor_execute`), with a breakdown of its parts. Its row is written
at commit with the lodging's other rows (the declaration's update, its events, journal entries
and outbox messages), so the insert is in the commit's figures, not the assessment's. The whole
`lodge` call and its commit are timed too, with the thread's CPU time and statement count. The first lodgings warm the caches (model,
history snapshot, rules, knowledge) and are reported apart; so is what rebuilding each cache
costs, since a long-running server pays it inside some lodging every time a cache expires.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and LightGBM are imported

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.assessment_probe import Probe, Sample, instrumented
from bench.common import DEFAULT_PG_URL, loadavg, machine, percentile, temporary_database

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "docs" / "examples" / "simulated-history.toml"
TARGET_P99_MS = 10.0
RECENT_DAYS = 14  # the simulator's last two weeks are lodged, the rest is history


# --- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    """What the lodgings need: the runtime, who lodges what, and what the setup built."""

    rt: Any
    lodgings: list[tuple[dict[str, Any], Any]]  # (payload, principal)
    facts: dict[str, Any]


def build(url: str, workdir: Path, *, seed: int, history: int, today: date, step: Callable[[str], None]) -> World:
    """Migrate, load reference data, history, parties, rules, knowledge, setting, and a champion model."""
    from smartcustoms import schema
    from smartcustoms.audit.service import Actor
    from smartcustoms.auth import service as auth_service
    from smartcustoms.auth.models import Role
    from smartcustoms.config import Settings
    from smartcustoms.demo.risk import DEMO_RULES
    from smartcustoms.kit.clock import utcnow
    from smartcustoms.party import service as party_service
    from smartcustoms.party.models import CreditRating
    from smartcustoms.party.schemas import EnterpriseCreate
    from smartcustoms.reference import service as reference_service
    from smartcustoms.risk.history import service as history_service
    from smartcustoms.risk.knowledge import service as knowledge
    from smartcustoms.risk.model import service as models
    from smartcustoms.risk.parameter import service as rules
    from smartcustoms.risk.parameter.schemas import RuleCreate
    from smartcustoms.risk.selectivity import service as selectivity
    from smartcustoms.risk.simulator import Simulator, write_history_csv
    from smartcustoms.runtime import Runtime

    operator = Actor(id=None, name="bench-operator", role="admin")
    now = utcnow()
    rt = Runtime(Settings(database_url=url, storage_dir=workdir / "files"))
    step("migrating, reference data")
    schema.upgrade(rt.engine)
    with rt.write() as s:
        reference_service.load_builtin(s, actor=operator, now=now)

    step(f"simulating {history:,} declarations, importing the history")
    start = today - timedelta(days=240)
    sim = Simulator(seed=seed, start_on=start, days=240, importers=60)
    sims = sim.declarations(history)
    cutoff = today - timedelta(days=RECENT_DAYS)
    past = [d for d in sims if d.declared_on < cutoff]
    recent = [d for d in sims if d.declared_on >= cutoff]
    csv_path = workdir / "history.csv"
    rows = write_history_csv(csv_path, past)
    with rt.write() as s:
        report = history_service.import_history(s, path=csv_path, mapping_path=MAPPING, actor=operator, now=now)
    if report.rejected:
        raise RuntimeError(f"history rows rejected: {report.rejected[:3]}")
    with rt.write() as s:
        frame = history_service.frame(s, date_from=start, date_to=cutoff, knowledge=False)
        prices = knowledge.refresh_reference_prices(s, frame=frame, basis_from=start, basis_to=cutoff, actor=operator, now=now)

    step("registering enterprises and users")
    credit = {e.uscc: e.credit for e in sim.enterprises}
    with rt.write() as s:
        for i, uscc in enumerate(sorted({*sim.brokers, *credit})):
            party_service.add(
                s,
                data=EnterpriseCreate(uscc=uscc, name=f"Simulated enterprise {i}", credit=CreditRating(credit.get(uscc, "general"))),
                actor=operator,
                now=now,
            )
        analyst, _ = auth_service.add_user(s, name="bench-analyst", role=Role.analyst, actor=operator, now=now)
        supervisor, _ = auth_service.add_user(s, name="bench-supervisor", role=Role.supervisor, actor=operator, now=now)
        users = {
            uscc: auth_service.add_user(s, name=f"bench-{uscc}", role=Role.enterprise, enterprise_uscc=uscc, actor=operator, now=now)[0]
            for uscc in sorted({d.importer for d in recent})
        }
        s.flush()
        principals = {uscc: auth_service.principal_of(s, u) for uscc, u in users.items()}
        analyst_p, supervisor_p = auth_service.principal_of(s, analyst), auth_service.principal_of(s, supervisor)

    step("rules, watch list, licence requirement, selectivity setting")
    suspect = sorted(sim.suspect_consignors)[:1] or [recent[0].consignor]
    with rt.write() as s:
        for consignor in suspect:
            knowledge.add_watch(
                s,
                list_name="intelligence",
                party_kind="consignor",
                identifier=consignor,
                reason="Benchmark: a consignor behind earlier seizures.",
                valid_from=start,
                valid_to=None,
                actor=analyst_p.actor(),
                now=now,
            )
        knowledge.add_restricted(
            s,
            hs_prefix="3004",
            licence="drug import licence",
            prohibited=False,
            reason="Benchmark: medicaments need a licence.",
            valid_from=start,
            actor=analyst_p.actor(),
            now=now,
        )
        for r in DEMO_RULES:
            rule = rules.propose(s, data=RuleCreate(valid_from=start, **r), principal=analyst_p, now=now)
            rules.approve(s, code=rule.code, version=rule.version, note="Benchmark.", principal=supervisor_p, now=now)
        selectivity.set_setting(
            s,
            office="*",
            red_rate=0.03,
            yellow_rate=0.07,
            random_rate=0.02,
            valid_from=start,
            reason="Benchmark targets.",
            actor=analyst_p.actor(),
            now=now,
        )

    step("training the model, activating it as champion")
    t0 = time.perf_counter()
    with rt.write() as s:
        model = models.train(s, name="bench", train_until=cutoff, actor=analyst_p.actor(), now=now)
        models.activate(s, name=model.name, version=model.version, role="champion", actor=analyst_p.actor(), now=now)
        label, train_rows, positives = f"{model.name}/v{model.version}", model.rows, model.positives
    train_s = time.perf_counter() - t0
    selectivity.invalidate_all()
    # Each importer lodges its own declarations (declarant and importer: no mandate needed).
    lodgings = [({**d.payload(), "declarant": {"uscc": d.importer, "name": "Importer"}}, principals[d.importer]) for d in recent]
    return World(
        rt=rt,
        lodgings=lodgings,
        facts={
            "history_declarations": len(past),
            "history_rows": rows,
            "recent_declarations": len(recent),
            "reference_prices": prices,
            "rules": len(DEMO_RULES),
            "watchlisted_consignors": suspect,
            "model": label,
            "model_train_rows": train_rows,
            "model_train_positives": positives,
            "train_s": round(train_s, 2),
        },
    )


# --- the measurement ------------------------------------------------------------------------------


def _stats(values: list[float]) -> dict[str, float]:
    v = sorted(values)
    return {
        "p50": round(percentile(v, 50), 3),
        "p90": round(percentile(v, 90), 3),
        "p99": round(percentile(v, 99), 3),
        "max": round(v[-1], 3) if v else float("nan"),
        "mean": round(sum(v) / len(v), 3) if v else float("nan"),
    }


def lodge_all(world: World, probe: Probe, *, n: int, warmup: int, progress: Progress, label: str) -> tuple[list[Sample], list[Sample]]:
    """Lodge `warmup` + `n` declarations one after another; (warm-up samples, measured samples)."""
    from smartcustoms.kit.clock import utcnow
    from smartcustoms.risk.selectivity import service as selectivity

    rt = world.rt
    run = os.getpid()
    task = progress.add_task(label, total=warmup + n)
    warm: list[Sample] = []
    measured: list[Sample] = []
    for i in range(warmup + n):
        payload, who = world.lodgings[i % len(world.lodgings)]
        raw = {**payload, "client_reference": f"BENCH-{run}-{i:07d}"}
        n0, c0, t0 = probe.statements, time.thread_time(), time.perf_counter()
        with rt.write() as s:
            selectivity.lodge(s, raw=raw, principal=who, now=utcnow())
            t1 = time.perf_counter()
        t2 = time.perf_counter()
        sample: Sample = probe.last  # type: ignore[attr-defined]
        sample.lodge_ms, sample.commit_ms = (t1 - t0) * 1000, (t2 - t1) * 1000
        sample.lodge_cpu_ms, sample.lodge_sql = (time.thread_time() - c0) * 1000, probe.statements - n0
        (warm if i < warmup else measured).append(sample)
        progress.update(task, advance=1)
    return warm, measured


def rebuild_costs(world: World) -> dict[str, float]:
    """What rebuilding each cache costs, in ms (paid inside a lodging whenever the cache has expired)."""
    from smartcustoms.kit.clock import utcnow
    from smartcustoms.risk.identification import service as identification
    from smartcustoms.risk.knowledge import service as knowledge
    from smartcustoms.risk.model import service as models
    from smartcustoms.risk.parameter import service as parameters
    from smartcustoms.risk.selectivity import service as selectivity
    from smartcustoms.risk.selectivity import thresholds

    today = utcnow().date()
    out: dict[str, float] = {}
    with world.rt.read() as s:
        champion = models.for_procedure(s, procedure="general")[0]
        model = champion.label if champion is not None else ""
        steps: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
            ("knowledge context (every 30 s)", knowledge.invalidate, lambda: knowledge.context(s, on=today)),
            (
                "selectivity setting (every 30 s)",
                selectivity.invalidate,
                lambda: selectivity.setting_for(s, office="2248", on=today, now=utcnow()),
            ),
            ("rules in force (each day, or when a rule changes)", parameters.invalidate, lambda: parameters.active(s, on=today)),
            ("history snapshot (every 10 min)", models.invalidate, lambda: models.snapshot(s, until=today)),
            ("model load (when a model is activated)", models.invalidate, lambda: models.for_procedure(s, procedure="general")),
        ]
        setting = selectivity.setting_for(s, office="2248", on=today, now=utcnow())
        steps.append(
            (
                "the office's recent scores (every 5 s per office)",
                thresholds.invalidate,
                lambda: thresholds.current(s, office="2248", model=model, setting=setting, seed=[]),
            )
        )
        steps.append(("HS identification classifier (first use only)", identification.invalidate, lambda: identification.classifier(s)))
        for label, clear, call in steps:
            clear()
            t0 = time.perf_counter()
            call()
            out[label] = round((time.perf_counter() - t0) * 1000, 1)
    # leave every cache warm again
    with world.rt.read() as s:
        models.for_procedure(s, procedure="general")
        models.snapshot(s, until=today)
        identification.classifier(s)
    return out


def summarize(measured: list[Sample], warm: list[Sample]) -> dict[str, Any]:
    parts = sorted({p for x in measured for p in x.parts_ms}, key=lambda p: -sum(x.parts_ms.get(p, 0.0) for x in measured))
    lanes: dict[str, int] = {}
    for x in measured:
        lanes[x.lane] = lanes.get(x.lane, 0) + 1
    sql = sorted(x.assess_sql for x in measured)
    assess = _stats([x.assess_ms for x in measured])
    return {
        "lodgings": len(measured),
        "assessment_ms": assess,
        "assessment_cpu_ms": _stats([x.assess_cpu_ms for x in measured]),
        "assessment_sql": {"min": sql[0], "max": sql[-1], "mean": round(sum(sql) / len(sql), 2)},
        "parts": {
            p: {
                **_stats([x.parts_ms.get(p, 0.0) for x in measured]),
                "sql_per_call": round(sum(x.parts_sql.get(p, 0) for x in measured) / len(measured), 2),
            }
            for p in parts
        },
        "lodge_call_ms": _stats([x.lodge_ms for x in measured]),
        "commit_ms": _stats([x.commit_ms for x in measured]),
        "lodge_with_commit_ms": _stats([x.lodge_ms + x.commit_ms for x in measured]),
        "lodge_with_commit_cpu_ms": _stats([x.lodge_cpu_ms for x in measured]),
        "lodge_sql": round(statistics.mean(x.lodge_sql for x in measured), 2) if measured else 0,
        "first_lodging": {"assessment_ms": round(warm[0].assess_ms, 1), "lodge_ms": round(warm[0].lodge_ms, 1)} if warm else None,
        "lanes": dict(sorted(lanes.items())),
        "with_rule_hits": sum(1 for x in measured if x.hits),
        "with_explanation": sum(1 for x in measured if x.contributions),
        "target_p99_ms": TARGET_P99_MS,
        "target_met": assess["p99"] < TARGET_P99_MS,
    }


def bench_one(db: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    from smartcustoms.kit.clock import utcnow

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with temporary_database(db, args.pg_url, name="assessment") as (url, workdir), Progress(*columns, console=console) as progress:
        setup = progress.add_task(f"{db:<10} setup", total=6)

        def step(what: str) -> None:
            progress.update(setup, advance=1, description=f"{db:<10} setup: {what}")

        t0 = time.perf_counter()
        world = build(url, workdir, seed=args.seed, history=args.history, today=utcnow().date(), step=step)
        progress.update(setup, completed=6, description=f"{db:<10} setup done in {time.perf_counter() - t0:.0f} s")
        try:
            engines = list({id(e): e for e in (world.rt.engine, world.rt.read_engine)}.values())
            with instrumented(engines) as probe:
                load0 = loadavg()
                warm, measured = lodge_all(world, probe, n=args.lodgings, warmup=args.warmup, progress=progress, label=f"{db:<10} lodging")
                load1 = loadavg()
            rebuilds = rebuild_costs(world)
        finally:
            world.rt.stop()
    return {
        "db": db,
        "setup": world.facts,
        "loadavg": {"before": load0, "after": load1},
        **summarize(measured, warm),
        "rebuilds_ms": rebuilds,
    }


def render(results: list[dict[str, Any]], meta: dict[str, Any], console: Console) -> None:
    for r in results:
        f = r["setup"]
        table = Table(
            title=f"Single assessment inside lodging — {r['db']}, {r['lodgings']} lodgings "
            f"(model {f['model']}, {f['history_rows']:,} history rows, {f['rules']} rules)"
        )
        for col in ("part", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms", "SQL/call"):
            table.add_column(col, justify="left" if col == "part" else "right")

        def row(name: str, s: dict[str, Any], sql: str = "", style: str | None = None, table: Table = table) -> None:
            table.add_row(name, *(f"{s[k]:.2f}" for k in ("p50", "p90", "p99", "max", "mean")), sql, style=style)

        row("assessment (everything below)", r["assessment_ms"], f"{r['assessment_sql']['mean']:.1f}", style="bold")
        row("  its CPU time (thread)", r["assessment_cpu_ms"])
        for name, s in r["parts"].items():
            row(f"  {name}", s, f"{s['sql_per_call']:.1f}")
        table.add_section()
        row("whole lodging call (selectivity.lodge)", r["lodge_call_ms"])
        row("commit", r["commit_ms"])
        row("lodging + commit", r["lodge_with_commit_ms"], style="bold")
        row(f"lodging + commit, CPU time of the thread ({r['lodge_sql']} SQL statements)", r["lodge_with_commit_cpu_ms"])
        console.print(table)
        ok = "[green]met[/]" if r["target_met"] else "[red]NOT met[/]"
        console.print(
            f"{r['db']}: assessment p99 = [bold]{r['assessment_ms']['p99']:.2f} ms[/] (target < {TARGET_P99_MS:g} ms: {ok}); "
            f"SQL statements per assessment {r['assessment_sql']['min']}–{r['assessment_sql']['max']}; lanes {r['lanes']}; "
            f"{r['with_rule_hits']} with rule hits, {r['with_explanation']} with an explanation"
        )
        if r["first_lodging"]:
            console.print(
                f"  first (cold) lodging: assessment {r['first_lodging']['assessment_ms']} ms, lodging {r['first_lodging']['lodge_ms']} ms; "
                "rebuilding a cache inside a lodging costs (ms): " + ", ".join(f"{k} {v}" for k, v in r["rebuilds_ms"].items())
            )
        console.print(f"  load average before / after the lodgings: {r['loadavg']['before']} / {r['loadavg']['after']}")
    m = meta["machine"]
    console.print(
        f"[dim]{m['date']} · {m['nproc']} CPU ({m['cpu']}) · Python {m['python']} · SQLite {m['sqlite']} · "
        f"PostgreSQL {m['postgresql']} · OMP_NUM_THREADS={m['omp_num_threads']} · load average at the start {m['loadavg_start']}[/]"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.assessment", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--lodgings", type=int, default=1000, help="measured lodgings (default 1000)")
    parser.add_argument("--warmup", type=int, default=20, help="lodgings before measuring, reported apart (default 20)")
    parser.add_argument("--history", type=int, default=6000, help="simulated declarations over 240 days (default 6000)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("SMARTCUSTOMS_BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout (progress goes to stderr)")
    args = parser.parse_args(argv)
    if not (1 <= args.lodgings <= 100_000 and 1 <= args.warmup <= 1000 and 1000 <= args.history <= 200_000):
        parser.error("out of bounds: 1..100000 lodgings, 1..1000 warm-up, 1000..200000 history declarations")
    console = Console(stderr=args.json, width=None if sys.stderr.isatty() else 160)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    meta = {
        "command": "python -m bench.assessment " + " ".join(argv if argv is not None else sys.argv[1:]),
        "lodgings": args.lodgings,
        "warmup": args.warmup,
        "history": args.history,
        "seed": args.seed,
        "machine": machine(args.pg_url if "postgresql" in dbs else None),
    }
    results = [bench_one(db, args, console) for db in dbs]
    render(results, meta, console)
    if args.json:
        print(json.dumps({**meta, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
