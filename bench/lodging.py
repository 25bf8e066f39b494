"""Lodging benchmark: the example declaration over HTTP, against a bare one-row insert, same run.

    .venv/bin/python -m bench.lodging [--db sqlite|postgresql|both] [--clients 32] [--seconds 15] [--json]

For each database: a fresh database (SQLite: a temporary file; PostgreSQL: a schema of its own in
the `test` database, dropped at the end), migrated, with the built-in reference data, the two
enterprises of the example and an enterprise user for the declarant. A real uvicorn server (one
worker, like `smartcustoms serve`) serves `bench.app:create_bench_app` on 127.0.0.1; this process
drives it with N concurrent keep-alive clients for a fixed time per phase, alternating
`POST /_bench/bare` (one INSERT, no auth) and `POST /api/v1/declarations` (bearer token, the
canonical declaration under a new client_reference every time: 202 expected).

Before each measured phase the outbox relay (which runs inside the server) is allowed to drain,
so the relay work a lodging phase causes is not charged to the bare phase after it; the backlog
left at the end of each lodging phase and the time it took to drain are reported.

Everything is bounded: each phase stops at its deadline (requests time out after 30 s), waits are
capped, only 127.0.0.1 is contacted, and the server is stopped at the end.

The clients are a closed loop (each sends its next request when the last one is answered), so at
saturation the mean latency is clients / throughput (Little's law): with 32 clients, a p99 under
100 ms needs well over 320 requests/s. Run with `--clients 1` (or 4) to see the latency of a
request that does not queue behind others.

The load generator shares the machine with the server: the table shows the cores each used, and
"other cores" is what every other process on the machine used meanwhile (a noisy neighbour
makes the figures, and the ratio, unreliable). Where the time goes: `--profile DIR` (see
bench/profiling.py); what a suggested change would be worth: `--experiments` (bench/experiments.py).
Neither is ever used for the recorded figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import profiling as profiling_mod
from bench.common import DEFAULT_PG_URL, loadavg, machine
from bench.load import Load, run_loop
from bench.measure import summarize
from bench.server import fresh_database, serve

TARGET_RATIO = 0.3
TARGET_P99_MS = 100.0


def bench_one(db: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    with (
        fresh_database(db, args.pg_url) as prepared,
        serve(
            prepared, experiments=args.experiments, profile_clock=args.profile_clock if args.profile else "", workers=args.workers
        ) as server,
    ):
        load = Load(server, prepared, clients=args.clients, console=console, profile_dir=args.profile, rate=args.rate)
        try:
            phases = run_loop(load.run(rounds=args.rounds, seconds=args.seconds, warmup=args.warmup))
        finally:
            load.close()
        with contextlib.suppress(OSError):
            tail = server.log.read_text()[-2000:]
            if tail.strip():
                console.print(f"[dim]server log tail ({db}):\n{tail}[/]")
    bare = summarize([p for p in phases if p.kind == "bare"])
    lodge = summarize([p for p in phases if p.kind == "lodge"])
    ratio = lodge["throughput_rps"] / bare["throughput_rps"] if bare["throughput_rps"] else 0.0
    per_round = [
        round(lo.throughput / ba.throughput, 3) if ba.throughput else None
        for ba, lo in zip([p for p in phases if p.kind == "bare"], [p for p in phases if p.kind == "lodge"], strict=True)
    ]
    return {
        "db": db,
        "loadavg_end": loadavg(),
        "bare": bare,
        "lodge": lodge,
        "ratio": round(ratio, 3),
        "ratio_per_round": per_round,
        "targets": {
            "ratio_min": TARGET_RATIO,
            "p99_max_ms": TARGET_P99_MS,
            "ratio_met": ratio >= TARGET_RATIO,
            "p99_met": lodge["p99_ms"] < TARGET_P99_MS and lodge["errors"] == 0,
        },
        "phases": [{k: v for k, v in asdict(p).items() if k != "latencies_ms"} for p in phases],
        "profiles": load.profiles,
    }


def render(results: list[dict[str, Any]], meta: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"Lodging over HTTP — {meta['clients']} clients, {meta['workers']} server process(es), "
        + (f"open loop at {meta['rate']:g} req/s, " if meta["rate"] else "")
        + f"{meta['rounds']}x{meta['seconds']:g} s per endpoint"
    )
    cols = (
        "db",
        "endpoint",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "srv mean ms",
        "errors",
        "srv CPU ms/req",
        "srv cores",
        "pg cores",
        "other cores",
    )
    for col in cols:
        table.add_column(col, justify="left" if col in ("db", "endpoint") else "right")
    for r in results:
        for kind in ("bare", "lodge"):
            s = r[kind]
            table.add_row(
                r["db"],
                kind,
                f"{s['throughput_rps']:.1f}",
                f"{s['p50_ms']:.1f}",
                f"{s['p95_ms']:.1f}",
                f"{s['p99_ms']:.1f}",
                f"{s['max_ms']:.1f}" if s["max_ms"] is not None else "-",
                f"{s['server_mean_ms']:.1f}" if s["server_mean_ms"] is not None else "-",
                str(s["errors"]),
                f"{s['server_cpu_ms_per_request']:.2f}" if s["server_cpu_ms_per_request"] is not None else "-",
                f"{s['server_cores']:.2f}",
                f"{s['postgres_cores']:.2f}" if r["db"] == "postgresql" else "-",
                f"{s['other_cores']:.2f}",
            )
        table.add_section()
    console.print(table)
    for r in results:
        t = r["targets"]
        ok = "[green]met[/]" if t["ratio_met"] else "[red]NOT met[/]"
        ok99 = "[green]met[/]" if t["p99_met"] else "[red]NOT met[/]"
        ratio = (
            "ratio not measured (open loop: both endpoints are offered the same rate)"
            if meta["rate"]
            else f"ratio lodge/bare = [bold]{r['ratio']:.3f}[/] (per round {r['ratio_per_round']}; target >= {TARGET_RATIO}: {ok})"
        )
        console.print(
            f"{r['db']}: {ratio}; "
            f"lodge p99 = {r['lodge']['p99_ms']:.1f} ms (target < {TARGET_P99_MS:g} ms: {ok99}); "
            f"outbox backlog after a lodging phase <= {r['lodge']['max_outbox_backlog']} (drained in <= {r['lodge']['max_drain_s']} s)"
        )
    noisy = [f"{r['db']} {k} {r[k]['other_cores']:.2f}" for r in results for k in ("bare", "lodge") if (r[k]["other_cores"] or 0) > 0.2]
    if noisy:
        console.print(f"[yellow]other processes used CPU during the run (cores: {', '.join(noisy)}); the figures are disturbed[/]")
    m = meta["machine"]
    console.print(
        f"[dim]{m['date']} · {m['nproc']} CPU ({m['cpu']}) · {m['memory_gib']} GiB · Python {m['python']} · "
        f"SQLite {m['sqlite']} · PostgreSQL {m['postgresql']} · load generator and server share this machine · "
        f"load average at the start {m['loadavg_start']}, at the end of "
        + ", ".join(f"{r['db']} {r['loadavg_end']}" for r in results)
        + "[/]"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lodging", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive clients (default 32)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured phase (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="bare+lodge rounds, alternated (default 2)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured warm-up per endpoint (default 3 s)")
    parser.add_argument("--pg-url", default=os.environ.get("SMARTCUSTOMS_BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument(
        "--experiments",
        default="",
        help="comma-separated what-if patches applied in the server (see bench/experiments.py); not for the recorded figures",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="profile the server with cProfile in every measured phase (DIR/<db>-<kind>-r<n>.prof; summarize with "
        "python -m bench.profiling); slows the server down, profiling only",
    )
    parser.add_argument(
        "--profile-clock",
        choices=tuple(profiling_mod.CLOCKS),
        default="cpu",
        help="with --profile: each thread's CPU time (default) or wall time",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="open loop: requests per second offered to each endpoint, over the same clients; latency counts from "
        "when a request was due (default 0: closed loop, the throughput ratio)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (uvicorn workers, as `smartcustoms serve --workers`; default 1); "
        "with more than one, 'srv mean ms' comes from whichever process answers /metrics",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout (progress goes to stderr)")
    args = parser.parse_args(argv)
    if not (
        1 <= args.clients <= 1024
        and 0 < args.seconds <= 600
        and 1 <= args.rounds <= 20
        and 0 <= args.warmup <= 60
        and 1 <= args.workers <= 64
        and args.rate >= 0
    ):
        parser.error("out of bounds: 1..1024 clients, 0..600 s, 1..20 rounds, 0..60 s warm-up, 1..64 workers")
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=args.json, width=None if sys.stderr.isatty() else 160)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    meta = {
        "command": "python -m bench.lodging " + " ".join(argv if argv is not None else sys.argv[1:]),
        "clients": args.clients,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "workers": args.workers,
        "rate": args.rate,
        "experiments": args.experiments,
        "machine": machine(args.pg_url if "postgresql" in dbs else None),
    }
    results = [bench_one(db, args, console) for db in dbs]
    render(results, meta, console)
    if args.json:
        print(json.dumps({**meta, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
