"""The officer work-queue page with 10,000 open tasks in the office, on SQLite and PostgreSQL.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.queue [--db sqlite|postgresql|both] [--tasks 10000] [--requests 40] [--json]

For each database: a fresh prepared database (bench.server's), one declaration lodged, a
supervisor and an officer of office 2248, and `--tasks` tasks of that office inserted in bulk (nine
in ten open, the rest waiting or done; four kinds; each held by the officer); PostgreSQL is
ANALYZEd afterwards, as autovacuum does on a live database. Then `GET /tasks` is asked
`--requests` times per view through the application in process (Starlette's test client: the
time is the server's handling plus the in-process client, so an upper bound of the server time; and
the process's CPU time per request, the steadier figure on a busy machine, which leaves out
PostgreSQL's own CPU):
the supervisor's first page, a deep page (offset 5,000), a kind filter and the last page; the
officer's first and last page. Before timing, the caches are warmed and the long-lived heap frozen
(`Runtime.warm`, `runtime.freeze_long_lived`), as the server's worker does once started: without it
a full garbage collection over the whole heap lands in one request in fifty (about 270 ms of CPU).
Target (issue 11): under 200 ms.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, text

from bench.common import DEFAULT_PG_URL, loadavg, machine, percentile
from bench.server import EXAMPLE, fresh_database

TARGET_MS = 200.0
OFFICE = "2248"
KINDS = ("review", "inspection", "image_review", "audit")


def _ms(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {
        "p50": round(percentile(s, 50), 2),
        "p99": round(percentile(s, 99), 2),
        "max": round(s[-1], 2),
        "mean": round(statistics.fmean(s), 2),
    }


def _fill(rt: Any, who: Any, n: int) -> dict[str, str]:
    """One declaration, a supervisor and an officer, n tasks on it held by the officer; the two users' tokens."""
    from smartcustoms.audit.service import Actor
    from smartcustoms.auth import service as auth_service
    from smartcustoms.auth.models import Role
    from smartcustoms.kit.clock import utcnow
    from smartcustoms.risk.selectivity import service as selectivity
    from smartcustoms.roster.models import Assignment
    from smartcustoms.task.models import Task

    operator = Actor(id=None, name="bench-operator", role="admin")
    now = utcnow()
    tokens = {}
    with rt.write() as s:
        receipt, _ = selectivity.lodge(
            s, raw={**json.loads(EXAMPLE.read_text()), "client_reference": "BENCH-QUEUE"}, principal=who, now=now
        )
        for name, role in (("bench-supervisor", Role.supervisor), ("bench-officer", Role.officer)):
            _, tokens[name] = auth_service.add_user(s, name=name, role=role, office=OFFICE, actor=operator, now=now)
    with rt.write() as s:
        decl_id = s.scalar(text("SELECT id FROM declaration WHERE number = :n"), {"n": receipt["number"]})
        officer_id = s.scalar(text("SELECT id FROM app_user WHERE name = 'bench-officer'"))
        rows = []
        for i in range(n):
            status = "open" if i % 10 else ("waiting" if i % 20 else "done")
            at = now - timedelta(minutes=n - i)
            rows.append(
                {
                    "kind": KINDS[i % 4],
                    "declaration_id": decl_id,
                    "office": OFFICE,
                    "status": status,
                    "k": 1,
                    "assigned_at": at,
                    "due_at": at + timedelta(hours=24),
                    "steps": [],
                    "created_at": at,
                    "done_at": at if status == "done" else None,
                    "row_version": 1,
                }
            )
        s.execute(insert(Task), rows)
        done = dict(s.execute(select(Task.id, Task.done_at).where(Task.office == OFFICE)).all())
        s.execute(
            insert(Assignment),
            [
                {"user_id": officer_id, "task_ref": f"task:{tid}", "office": OFFICE, "assigned_at": now, "released_at": done_at}
                for tid, done_at in done.items()
            ],
        )
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.begin() as c:
            c.execute(text("ANALYZE"))
    return tokens


def bench_one(db: str, n: int, requests: int, pg_url: str) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from smartcustoms.auth import service as auth_service
    from smartcustoms.config import Settings
    from smartcustoms.runtime import Runtime, freeze_long_lived
    from smartcustoms.web.app import create_app

    with fresh_database(db, pg_url) as prepared:
        rt = Runtime(Settings(database_url=prepared.url, storage_dir=prepared.workdir / "files"))
        try:
            with rt.read() as s:
                who = auth_service.authenticate_token(s, token=prepared.token)
            tokens = _fill(rt, who, n)
            last = -(-n // 50)
            views = {
                "supervisor: first page": ("bench-supervisor", "/tasks"),
                "supervisor: page 100 (offset 4,950)": ("bench-supervisor", "/tasks?page=100"),
                "supervisor: kind=inspection": ("bench-supervisor", "/tasks?kind=inspection"),
                "supervisor: last page": ("bench-supervisor", f"/tasks?page={last}"),
                "officer: first page": ("bench-officer", "/tasks"),
                "officer: last page": ("bench-officer", f"/tasks?page={last}"),
            }
            out: dict[str, Any] = {}
            with TestClient(create_app(rt.settings, runtime=rt, start_workers=False)) as client:
                rt.warm()  # what the server's worker does once started: warm caches, then the long-lived heap frozen
                freeze_long_lived()
                for label, (user, path) in views.items():
                    headers = {"Authorization": f"Bearer {tokens[user]}"}
                    for _ in range(3):  # warm up
                        first = client.get(path, headers=headers)
                        assert first.status_code == 200 and first.text.count("<tr>") == 51, first.text[:300]  # a full page
                    times, cpu = [], []
                    for _ in range(requests):
                        t0, c0 = time.perf_counter(), time.process_time()
                        r = client.get(path, headers=headers)
                        times.append((time.perf_counter() - t0) * 1000)
                        cpu.append((time.process_time() - c0) * 1000)
                        assert r.status_code == 200
                    out[label] = {**_ms(times), "cpu_p50": round(percentile(sorted(cpu), 50), 2), "cpu_max": round(max(cpu), 2)}
        finally:
            rt.stop()
    worst = max(v["p99"] for v in out.values())
    return {
        "db": db,
        "tasks": n,
        "requests": requests,
        "views": out,
        "worst_p99_ms": worst,
        "target_ms": TARGET_MS,
        "met": worst < TARGET_MS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--pg-url", default=os.environ.get("SMARTCUSTOMS_BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [bench_one(db, args.tasks, args.requests, args.pg_url) for db in dbs]
    out = {"machine": machine(args.pg_url if "postgresql" in dbs else None), "loadavg_after": loadavg(), "results": results}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for r in results:
            print(f"{r['db']}: {r['tasks']} tasks in the office, {r['requests']} requests per view (ms):")
            for label, v in r["views"].items():
                print(
                    f"  {label:40s} p50 {v['p50']:7.2f}  p99 {v['p99']:7.2f}  max {v['max']:7.2f}  cpu p50 {v['cpu_p50']:7.2f}  max {v['cpu_max']:7.2f}"
                )
            print(f"  worst p99 {r['worst_p99_ms']} ms: target {r['target_ms']} ms {'met' if r['met'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
