"""Sunshine dispatch: a draw among 500 officers, in the service with the database and as the pure draw.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.dispatch [--db sqlite|postgresql|both] [--officers 500] [--draws 1000] [--json]

For each database: a temporary database (SQLite: a file; PostgreSQL: a schema of its own in the
`test` database, dropped at the end), migrated; `--officers` officers at office 2248 (seed 11: each
qualified for one to three ranges of HS chapters, a cap of 5 to 30, one in ten off duty) already
holding open assignments up to 80 % of their cap, so spare capacities differ (PostgreSQL: ANALYZE
afterwards, as autovacuum does on a live database; without statistics its planner joins the
fresh tables by nested loops, 30 ms a draw). Then `--draws` tasks
are drawn one after another, each in its own `Runtime.write()` as a request would, for one to
three chapters from those the officers mostly cover, one inspection in five drawing two
officers; `roster.service.assign` is timed (wall and the thread's CPU time, SQL statements
counted), and so is the whole unit of work with its commit (the assignment rows and the journal
entry holding the draw record). The pure `roster.domain.draw` over the same candidates is timed
on its own.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import event, text

from bench.common import DEFAULT_PG_URL, loadavg, machine, percentile, temporary_database

TARGET_P99_MS = 5.0
OFFICE = "2248"
COMMON = [39, 40, 61, 62, 64, 73, 84, 85, 87, 90, 94, 95]  # the chapters most tasks need


def _stats(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {
        "p50": round(percentile(s, 50), 3),
        "p90": round(percentile(s, 90), 3),
        "p99": round(percentile(s, 99), 3),
        "max": round(s[-1], 3),
        "mean": round(statistics.fmean(s), 3),
    }


def _spec(rng: random.Random) -> str:
    """One to three ordered, non-overlapping chapter ranges (one officer in five takes every chapter)."""
    if rng.random() < 0.2:
        return "01-97"
    starts = sorted(rng.sample(range(1, 95, 3), rng.randint(1, 3)))
    parts, last = [], 0
    for lo in starts:
        lo = max(lo, last + 1)
        hi = min(lo + rng.randint(0, 12), 97)
        if lo > 97:
            break
        parts.append(f"{lo:02d}" if lo == hi else f"{lo:02d}-{hi:02d}")
        last = hi
    return ",".join(parts)


def build(url: str, *, officers: int, seed: int) -> Any:
    from smartcustoms import schema
    from smartcustoms.audit.service import Actor
    from smartcustoms.auth.models import Role, User
    from smartcustoms.config import Settings
    from smartcustoms.kit.clock import utcnow
    from smartcustoms.roster import repository, service
    from smartcustoms.runtime import Runtime

    rng = random.Random(seed)
    operator = Actor(id=None, name="bench-operator", role="admin")
    now = utcnow()
    rt = Runtime(Settings(database_url=url))
    schema.upgrade(rt.engine)
    with rt.write() as s:
        users = [User(name=f"officer{i:04d}", role=Role.officer, office_code=OFFICE, created_at=now) for i in range(officers)]
        s.add_all(users)
        s.flush()
        for u in users:
            cap = rng.randint(5, 30)
            service.set_officer(
                s, name=u.name, chapters=_spec(rng), capacity=cap, duty="off" if rng.random() < 0.1 else "on", actor=operator, now=now
            )
            held = [
                {"user_id": u.id, "task_ref": f"old-{u.id}-{j}", "office": OFFICE, "assigned_at": now}
                for j in range(rng.randint(0, int(cap * 0.8)))
            ]
            if held:
                repository.add_assignments(s, held)
    if rt.engine.dialect.name == "postgresql":  # statistics, as autovacuum keeps them on a live database
        with rt.engine.connect() as c:
            c.execute(text("ANALYZE"))
            c.commit()
    return rt


def bench_one(db: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    from smartcustoms.kit.clock import utcnow
    from smartcustoms.roster import domain, repository, service
    from smartcustoms.roster.models import ROSTER_ROLES

    rng = random.Random(args.seed + 1)
    with temporary_database(db, args.pg_url, name="dispatch") as (url, _workdir):
        console.print(f"{db}: {args.officers} officers, their open tasks")
        rt = build(url, officers=args.officers, seed=args.seed)
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        event.listen(rt.engine, "before_cursor_execute", count)
        tasks = [(sorted(rng.sample(COMMON, rng.randint(1, 3))), 2 if rng.random() < 0.2 else 1) for _ in range(args.draws + args.warmup)]
        call_ms, call_cpu_ms, unit_ms, sql, pool_sizes, none = [], [], [], [], [], 0
        last_pool: list[Any] = []
        try:
            for i, (chapters, k) in enumerate(tasks):
                t0 = time.perf_counter()
                with rt.write() as s:
                    statements[0] = 0
                    t1, c1 = time.perf_counter(), time.thread_time()
                    rec = service.assign(s, office=OFFICE, chapters=chapters, task_ref=f"T{i}", k=k, now=utcnow())
                    t2, c2 = time.perf_counter(), time.thread_time()
                    n_sql = statements[0]
                t3 = time.perf_counter()
                if i < args.warmup:
                    continue
                call_ms.append((t2 - t1) * 1000)
                call_cpu_ms.append((c2 - c1) * 1000)
                unit_ms.append((t3 - t0) * 1000)
                sql.append(n_sql)
                if rec is None:
                    none += 1
                else:
                    pool_sizes.append(len(rec["candidates"]))
                    if len(rec["candidates"]) > len(last_pool):
                        last_pool = rec["candidates"]
            server_ms: list[float] = []
            if db == "postgresql":  # what the pool statement costs the server, whatever the scheduling of the client
                with rt.read() as s:
                    bound = repository._POOL.params(
                        office=OFFICE, roles=[r.value for r in ROSTER_ROLES], mask=domain.mask_pattern(COMMON[:2])
                    )
                    sql_text = "EXPLAIN (ANALYZE, FORMAT JSON) " + str(bound.compile(rt.engine, compile_kwargs={"literal_binds": True}))
                    for _ in range(50):
                        plan = s.connection().exec_driver_sql(sql_text).scalar_one()
                        server_ms.append(float(plan[0]["Execution Time"]))
            # the pure draw over the largest pool seen, and over every officer with spare capacity
            with rt.read() as s:
                everyone = [
                    domain.Candidate(r.name, r.capacity - r.load)
                    for r in repository.pool(s, office=OFFICE, roles=ROSTER_ROLES)
                    if r.load < r.capacity
                ]
        finally:
            event.remove(rt.engine, "before_cursor_execute", count)
            rt.stop()

    def pure(cands: list[Any], n: int) -> list[float]:
        secret = domain.seed_bytes(42)
        out = []
        for j in range(n):
            t = time.perf_counter()
            domain.draw(cands, f"P{j}/0", secret=secret, k=1 + j % 2)
            out.append((time.perf_counter() - t) * 1000)
        return out

    largest = [domain.Candidate(c["name"], c["weight"]) for c in last_pool]
    return {
        "db": db,
        "officers": args.officers,
        "draws": len(call_ms),
        "queued (no free qualified officer)": none,
        "candidates": {"mean": round(statistics.fmean(pool_sizes), 1), "max": max(pool_sizes)} if pool_sizes else None,
        "assign_ms": _stats(call_ms),
        "assign_cpu_ms": _stats(call_cpu_ms),
        "assign_sql": {"min": min(sql), "max": max(sql)},
        "unit_with_commit_ms": _stats(unit_ms),
        "pool_statement_server_ms": _stats(server_ms) if server_ms else None,
        "pure_draw_largest_pool_ms": _stats(pure(largest, 5000)),
        "pure_draw_all_free_ms": {"candidates": len(everyone), **_stats(pure(everyone, 5000))},
        "loadavg_after": loadavg(),
        "target_p99_ms": TARGET_P99_MS,
        "target_met": percentile(sorted(call_ms), 99) < TARGET_P99_MS,
    }


def render(results: list[dict[str, Any]], meta: dict[str, Any], console: Console) -> None:
    for r in results:
        table = Table(title=f"Sunshine dispatch — {r['db']}, {r['officers']} officers, {r['draws']} draws")
        for col in ("part", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms"):
            table.add_column(col, justify="left" if col == "part" else "right")

        def row(name: str, s: dict[str, Any], style: str | None = None, table: Table = table) -> None:
            table.add_row(name, *(f"{s[k]:.3f}" for k in ("p50", "p90", "p99", "max", "mean")), style=style)

        row(f"roster.service.assign ({r['assign_sql']['min']}-{r['assign_sql']['max']} SQL)", r["assign_ms"], style="bold")
        row("  its CPU time (thread)", r["assign_cpu_ms"])
        row("unit of work with commit", r["unit_with_commit_ms"])
        if r["pool_statement_server_ms"]:
            row("  pool statement, server execution (EXPLAIN ANALYZE, 50 runs)", r["pool_statement_server_ms"])
        row("pure draw, largest pool drawn", r["pure_draw_largest_pool_ms"])
        row(f"pure draw, all {r['pure_draw_all_free_ms']['candidates']} free officers", r["pure_draw_all_free_ms"])
        console.print(table)
        ok = "[green]met[/]" if r["target_met"] else "[red]NOT met[/]"
        console.print(
            f"{r['db']}: assign p99 = [bold]{r['assign_ms']['p99']:.2f} ms[/] (target < {TARGET_P99_MS:g} ms: {ok}); "
            f"candidates per draw {r['candidates']}; queued {r['queued (no free qualified officer)']}; load average after {r['loadavg_after']}"
        )
    m = meta["machine"]
    console.print(
        f"[dim]{m['date']} · {m['nproc']} CPU ({m['cpu']}) · Python {m['python']} · SQLite {m['sqlite']} · "
        f"PostgreSQL {m['postgresql']} · load average at the start {m['loadavg_start']}[/]"
    )


def main(argv: list[str] | None = None) -> int:
    doc: Callable[[], str] = lambda: __doc__.split("\n\n")[0] if __doc__ else ""  # noqa: E731
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch", description=doc())
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--officers", type=int, default=500)
    parser.add_argument("--draws", type=int, default=1000, help="measured draws (default 1000)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--pg-url", default=os.environ.get("SMARTCUSTOMS_BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout (progress goes to stderr)")
    args = parser.parse_args(argv)
    if not (1 <= args.officers <= 20_000 and 1 <= args.draws <= 100_000 and 0 <= args.warmup <= 1000):
        parser.error("out of bounds: 1..20000 officers, 1..100000 draws, 0..1000 warm-up")
    console = Console(stderr=args.json, width=None if sys.stderr.isatty() else 160)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    meta = {
        "command": "python -m bench.dispatch " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(args.pg_url if "postgresql" in dbs else None),
    }
    results = [bench_one(db, args, console) for db in dbs]
    render(results, meta, console)
    if args.json:
        print(json.dumps({**meta, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
