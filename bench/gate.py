"""The port gate: decision latency in the service with N releases stored, and gate checks over HTTP against an empty endpoint.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.gate [--db sqlite|postgresql|both] [--releases 1000000] [--checks 2000]
        [--seconds 10] [--clients 8] [--rate 100] [--json]

For each database: a fresh prepared database (bench.server's), one declaration lodged and released
through the services (the template), then `--releases` more releases bulk-inserted beside it without
the services: declarations and releases by one INSERT ... SELECT over a generated series, their
release lines (one container each, a valid ISO 6346 number, one seal) by executemany (SQLite) or
COPY (PostgreSQL); then ANALYZE. Then:

- service: `--checks` gate checks through `gate.service.check` in `Runtime.write()`, as the API
  makes them: four in five a stored container with its seal (a pass: the gate-out and the journal
  entry written), one in five a container no release names or one already gone (a hold). Timed:
  the decision alone (`gate.service.evaluate`, the reads; wall and the thread's CPU time, the
  steadier figure on a busy machine), the check (decision, gate-out, journal, flushed) and the
  whole unit with its commit.
- HTTP: the server (`bench.server.serve`, uvicorn, one worker) answers `--clients` closed-loop
  clients for `--seconds` each on the empty endpoint (`POST /_bench/bare`, one row written, no
  sign-in) and on `POST /api/v1/gate/checks` (a gate user's token, a stored container each: passes);
  the ratio of the two throughputs is the figure (issue 12 asks at least 0.5). Then open loop at
  `--rate` requests a second for `--seconds` on gate checks: latency p50/p99.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from typing import Any

import httpx
from stdnum import iso6346

from bench.common import DEFAULT_PG_URL, loadavg, machine, percentile
from bench.server import EXAMPLE, fresh_database, serve


def container(i: int) -> str:
    """The i-th bulk container number (valid ISO 6346): owner BNA, BNB ... by million, category U, serial, check digit."""
    body = f"BN{chr(ord('A') + i // 1_000_000)}U{i % 1_000_000:06d}"
    return body + iso6346.calc_check_digit(body)


def _ms(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {"mean": round(statistics.fmean(s), 3), "p50": round(percentile(s, 50), 3), "p99": round(percentile(s, 99), 3), "n": len(s)}


def bulk_insert(rt: Any, n: int) -> float:
    """N declarations, releases and release lines beside the template, without the services; seconds taken."""
    from sqlalchemy import text

    from smartcustoms.declaration.models import Declaration

    t0 = time.perf_counter()
    pg = rt.engine.dialect.name == "postgresql"
    cols = [c.name for c in Declaration.__table__.columns if c.name != "id"]
    exprs = []
    for c in cols:
        if c == "number":
            exprs.append("'9999' || " + ("lpad(i::text, 14, '0')" if pg else "printf('%014d', i)"))
        elif c == "client_reference":
            exprs.append("'BULK-' || i")
        elif c == "payload":
            exprs.append("'{}'")  # the gate never reads the content: a million copies of the example's would be gigabytes
        else:
            exprs.append(f"t.{c}")
    series = (
        "generate_series(1, :n) AS g(i)"
        if pg
        else "(WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) SELECT i FROM g)"
    )
    seq = "substr(d.client_reference, 6)"
    number = f"'99992026R' || lpad({seq}, 9, '0')" if pg else f"'99992026R' || printf('%09d', CAST({seq} AS INTEGER))"
    with rt.engine.begin() as c:
        tmpl = c.execute(text("SELECT min(id) FROM declaration")).scalar_one()
        c.execute(
            text(f"INSERT INTO declaration ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM declaration t, {series} WHERE t.id = :t"),
            {"n": n, "t": tmpl},
        )
        c.execute(
            text(
                "INSERT INTO release (number, declaration_id, released_at, actor, token) "
                f"SELECT {number}, "
                "d.id, t.released_at, 'bench', 'bench-' || d.id FROM declaration d, release t "
                "WHERE d.client_reference LIKE 'BULK-%' AND t.id = (SELECT min(id) FROM release)"
            )
        )
        made = c.execute(
            text(
                "SELECT r.id, r.number, d.number, d.office, r.released_at FROM release r JOIN declaration d ON d.id = r.declaration_id "
                "WHERE r.actor = 'bench' ORDER BY r.id"
            )
        ).all()
        rows = [(*r[:4], r[4], container(i), json.dumps([f"BS{i:08d}"])) for i, r in enumerate(made, start=1)]
        line_cols = "release_id, release_number, declaration_number, office, released_at, container, seals"
        raw = c.connection.dbapi_connection
        assert raw is not None
        if pg:
            with raw.cursor() as cur, cur.copy(f"COPY release_container ({line_cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cur = raw.cursor()
            cur.executemany(f"INSERT INTO release_container ({line_cols}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            cur.close()
        c.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def bench_service(rt: Any, who: Any, n_releases: int, checks: int, rng: random.Random, gone: list[int]) -> dict[str, Any]:
    """Gate checks through the service: decision, check and unit-with-commit latencies."""
    from smartcustoms.gate import service
    from smartcustoms.gate.domain import Ask
    from smartcustoms.kit.clock import utcnow

    picks = rng.sample(range(1, n_releases + 1), checks)
    decision_ms, decision_cpu, check_ms, unit_ms, outcomes = [], [], [], [], {"pass": 0, "hold": 0}
    for k, i in enumerate(picks):
        kind = k % 5
        if kind == 4:  # a hold: one already gone, or no release at all
            ask = Ask(container=container(gone[-1]) if gone and k % 10 == 4 else container(n_releases + 1 + k))
        else:
            ask = Ask(container=container(i), seal=f"BS{i:08d}")
        t0 = time.perf_counter()
        with rt.write() as s:
            t1, c1 = time.perf_counter(), time.thread_time()
            service.evaluate(s, ask, office=who.office)
            t2, c2 = time.perf_counter(), time.thread_time()
            outcome = service.check(s, ask=ask, principal=who, now=utcnow())
            s.flush()
            t3 = time.perf_counter()
        t4 = time.perf_counter()
        outcomes[outcome.decision] += 1
        if outcome.passed:
            gone.append(i)
        if k >= 20:  # the first twenty warm up
            decision_ms.append((t2 - t1) * 1000)
            decision_cpu.append((c2 - c1) * 1000)
            check_ms.append((t3 - t2) * 1000)
            unit_ms.append((t4 - t0) * 1000)
    return {
        "decision_ms": _ms(decision_ms),
        "decision_cpu_ms": _ms(decision_cpu),
        "check_ms": _ms(check_ms),
        "unit_with_commit_ms": _ms(unit_ms),
        "outcomes": outcomes,
    }


async def _closed(url: str, make: Any, headers: dict[str, str], clients: int, seconds: float) -> dict[str, Any]:
    done, errors = 0, 0
    stop = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done, errors
        while time.monotonic() < stop:
            r = await client.post(url, json=make(), headers=headers)
            if r.status_code in (200, 201):
                done += 1
            else:
                errors += 1

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=clients)) as client:
        t0 = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.monotonic() - t0
    return {"per_second": round(done / elapsed, 1), "ok": done, "errors": errors, "seconds": round(elapsed, 2)}


async def _open(url: str, make: Any, headers: dict[str, str], rate: float, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:

        async def one() -> None:
            nonlocal errors
            t0 = time.perf_counter()
            r = await client.post(url, json=make(), headers=headers)
            if r.status_code == 200:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1

        tasks = []
        start = time.perf_counter()
        for k in range(int(rate * seconds)):  # sent on schedule, whatever the answers' pace (open loop)
            delay = start + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return {"rate": rate, "latency_ms": _ms(latencies), "errors": errors}


def bench_http(prepared: Any, gate_token: str, free: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """Empty endpoint against gate checks, closed loop; gate checks at a fixed rate, open loop."""
    queue = iter(free)

    def gate_body() -> dict[str, str]:
        i = next(queue)
        return {"container": container(i), "seal": f"BS{i:08d}"}

    headers = {"Authorization": f"Bearer {gate_token}"}
    with serve(prepared) as server:
        base = server.base_url
        asyncio.run(_closed(f"{base}/_bench/bare", dict, {}, args.clients, 2))  # warm up
        bare = asyncio.run(_closed(f"{base}/_bench/bare", dict, {}, args.clients, args.seconds))
        gate = asyncio.run(_closed(f"{base}/api/v1/gate/checks", gate_body, headers, args.clients, args.seconds))
        opened = asyncio.run(_open(f"{base}/api/v1/gate/checks", gate_body, headers, args.rate, args.seconds))
    return {"bare": bare, "gate": gate, "ratio": round(gate["per_second"] / bare["per_second"], 2), "open_loop": opened}


def bench_one(db: str, args: argparse.Namespace) -> dict[str, Any]:
    from smartcustoms.audit.service import Actor
    from smartcustoms.auth import service as auth_service
    from smartcustoms.auth.models import Role
    from smartcustoms.config import Settings
    from smartcustoms.declaration.models import Declaration
    from smartcustoms.kit.clock import utcnow
    from smartcustoms.release import service as release_service
    from smartcustoms.risk.selectivity import service as selectivity
    from smartcustoms.runtime import Runtime

    rng = random.Random(12)
    with fresh_database(db, args.pg_url) as prepared:
        rt = Runtime(Settings(database_url=prepared.url, storage_dir=prepared.workdir / "files"))
        try:
            with rt.read() as s:
                broker = auth_service.authenticate_token(s, token=prepared.token)
            with rt.write() as s:
                receipt, _ = selectivity.lodge(s, raw=json.loads(EXAMPLE.read_text()), principal=broker, now=utcnow())
                decl = next(o for o in s.identity_map.values() if isinstance(o, Declaration) and o.number == receipt["number"])
                release_service.issue(s, declaration=decl, actor=Actor.system("clearance"), now=utcnow())
                _, gate_token = auth_service.add_user(
                    s, name="bench-gate", role=Role.gate, office="2248", actor=Actor.system("bench"), now=utcnow()
                )
            seconds = bulk_insert(rt, args.releases)
            with rt.read() as s:
                who = auth_service.authenticate_token(s, token=gate_token)
            gone: list[int] = []
            service = bench_service(rt, who, args.releases, args.checks, rng, gone)
        finally:
            rt.stop()
        used = set(gone)  # containers the service part let out: the HTTP part takes others
        free = [i for i in rng.sample(range(1, args.releases + 1), min(args.releases, 200_000)) if i not in used]
        http = bench_http(prepared, gate_token, free, args)
    return {"db": db, "releases": args.releases, "bulk_insert_seconds": round(seconds, 1), "service": service, "http": http}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    p.add_argument("--releases", type=int, default=1_000_000)
    p.add_argument("--checks", type=int, default=2000)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--rate", type=float, default=10.0)
    p.add_argument("--pg-url", default=os.environ.get("SMARTCUSTOMS_BENCH_PG_URL", DEFAULT_PG_URL))
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    meta = machine(args.pg_url if "postgresql" in dbs else None)
    results = []
    for db in dbs:
        results.append(bench_one(db, args))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)  # each database's figures as soon as they are known
    meta["loadavg_end"] = loadavg()
    out = {"meta": meta, "results": results}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for r in results:
            svc, http = r["service"], r["http"]
            print(f"{r['db']}: {r['releases']:,} releases bulk-inserted in {r['bulk_insert_seconds']} s")
            print(
                f"  service: decision p50 {svc['decision_ms']['p50']} ms p99 {svc['decision_ms']['p99']} ms; "
                f"check p99 {svc['check_ms']['p99']} ms; with commit p99 {svc['unit_with_commit_ms']['p99']} ms; {svc['outcomes']}"
            )
            print(
                f"  http: bare {http['bare']['per_second']}/s, gate {http['gate']['per_second']}/s, ratio {http['ratio']}; "
                f"open loop {http['open_loop']['rate']}/s: p50 {http['open_loop']['latency_ms']['p50']} ms p99 {http['open_loop']['latency_ms']['p99']} ms"
            )
        print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
