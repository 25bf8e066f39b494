"""Release: what `release.service.issue` adds to a lodging, in the service, on SQLite and PostgreSQL.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.release [--db sqlite|postgresql|both] [--declarations 200] [--json]

For each database: a fresh prepared database (bench.server's: reference data, the example's
enterprises, the mandate, a broker). `--declarations` copies of the example are lodged one after
another, each in its own `Runtime.write()` as a request would, alternately through
`selectivity.lodge` alone and through `selectivity.lodge` then `release.service.issue` in the same
unit of work (as the green lane does: lock, transition, number, Ed25519 signature, row, journal,
outbox), each unit timed with its commit (wall and the thread's CPU time: on a busy machine the CPU time
is the steadier figure), and `issue` on its own inside it. The answer: lodging
alone against lodging and releasing, i.e. the throughput of "lodge and release in one request"
as a fraction of lodging alone (issue 11 asks for at least 0.8 on the green lane).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import statistics
import sys
import time
from typing import Any

from bench.common import DEFAULT_PG_URL, loadavg, machine, percentile
from bench.server import EXAMPLE, fresh_database


def _ms(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {"mean": round(statistics.fmean(s), 2), "p50": round(percentile(s, 50), 2), "p99": round(percentile(s, 99), 2)}


def bench_one(db: str, n: int, pg_url: str) -> dict[str, Any]:
    from smartcustoms.audit.service import Actor
    from smartcustoms.auth import service as auth_service
    from smartcustoms.config import Settings
    from smartcustoms.declaration.models import Declaration
    from smartcustoms.kit.clock import utcnow
    from smartcustoms.release import service
    from smartcustoms.risk.selectivity import service as selectivity
    from smartcustoms.runtime import Runtime

    with fresh_database(db, pg_url) as prepared:
        rt = Runtime(Settings(database_url=prepared.url, storage_dir=prepared.workdir / "files"))
        try:
            with rt.read() as s:
                who = auth_service.authenticate_token(s, token=prepared.token)
            rt.warm()
            doc = json.loads(EXAMPLE.read_text())
            actor = Actor.system("clearance")
            lodge_ms: list[float] = []
            both_ms: list[float] = []
            issue_ms: list[float] = []
            lodge_cpu: list[float] = []
            both_cpu: list[float] = []
            for i in range(2 * (n + 5)):  # alternately lodge alone, and lodge and release; the first ten warm up
                release_too = i % 2 == 1
                t0, c0 = time.perf_counter(), time.thread_time()
                with rt.write() as s:
                    receipt, _ = selectivity.lodge(s, raw={**doc, "client_reference": f"BENCH-REL-{i:06d}"}, principal=who, now=utcnow())
                    if release_too:
                        t1 = time.perf_counter()
                        # clearance holds the lodged declaration; so does the session's identity map
                        decl = next(o for o in s.identity_map.values() if isinstance(o, Declaration) and o.number == receipt["number"])
                        service.issue(s, declaration=decl, actor=actor, now=utcnow())
                        s.flush()
                        t2 = time.perf_counter()
                elapsed, cpu = (time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000
                if i >= 10:
                    (both_ms if release_too else lodge_ms).append(elapsed)
                    (both_cpu if release_too else lodge_cpu).append(cpu)
                    if release_too:
                        issue_ms.append((t2 - t1) * 1000)
        finally:
            rt.stop()
    return {
        "db": db,
        "declarations": n,
        "lodge_ms": _ms(lodge_ms),
        "lodge_and_release_ms": _ms(both_ms),
        "issue_in_unit_ms": _ms(issue_ms),
        "lodge_cpu_ms": _ms(lodge_cpu),
        "lodge_and_release_cpu_ms": _ms(both_cpu),
        "lodge_and_release_vs_lodge": round(statistics.fmean(lodge_ms) / statistics.fmean(both_ms), 3),
        "by_cpu_time": round(statistics.fmean(lodge_cpu) / statistics.fmean(both_cpu), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--declarations", type=int, default=200)
    parser.add_argument("--pg-url", default=os.environ.get("SMARTCUSTOMS_TEST_DATABASE_URL", DEFAULT_PG_URL))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [bench_one(db, args.declarations, args.pg_url) for db in dbs]
    out = {"machine": machine(args.pg_url if "postgresql" in dbs else None), "loadavg_after": loadavg(), "results": results}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for r in results:
            print(
                f"{r['db']}: lodge {r['lodge_ms']} ms, lodge+release {r['lodge_and_release_ms']} ms "
                f"(issue inside the unit {r['issue_in_unit_ms']} ms); "
                f"lodge+release throughput = {r['lodge_and_release_vs_lodge']} of lodging alone (by CPU time {r['by_cpu_time']})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
