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
import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench import profiling as profiling_mod
from bench.app import BARE_PATH, ensure_bench_table
from bench.common import DEFAULT_PG_URL, loadavg, machine, percentile, temporary_database

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT.parent / "shared" / "examples" / "declaration-import.json"
LODGE_PATH = "/api/v1/declarations"
DECLARANT = "91310000MA1FL8XX29"
IMPORTER = "91120116MA05JB6G5T"
TARGET_RATIO = 0.3
TARGET_P99_MS = 100.0
REQUEST_TIMEOUT_S = 30.0
SERVER_START_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 120.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
METRICS_TOKEN = secrets.token_urlsafe(24)  # the bench's server lets this token read /metrics


# --- results ------------------------------------------------------------------------------------


@dataclass
class Phase:
    """One measured (or warm-up) phase of one endpoint."""

    kind: str  # "bare" | "lodge"
    round: int
    seconds: float
    requests: int = 0  # completed within the window
    errors: int = 0  # non-2xx or transport errors, window or tail
    statuses: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    postgres_cpu_s: float = 0.0  # postgres processes alive at the end of the phase
    new_connections: int = 0  # PostgreSQL sessions opened during the phase (pg_stat_database.sessions)
    machine_cpu_s: float = 0.0  # every process on the machine, from /proc/stat
    cpu_window_s: float = 0.0  # the CPU figures cover the phase and its tail (requests in flight at the deadline)
    server_mean_ms: float | None = None  # from the app's own Prometheus histogram
    outbox_backlog: int = 0  # pending outbox messages when the phase ended
    drain_s: float = 0.0  # time the relay then needed to empty the outbox

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def summarize(phases: list[Phase]) -> dict[str, Any]:
    """Pool the phases of one endpoint: throughput over the summed windows, latency over every request."""
    lat = sorted(x for p in phases for x in p.latencies_ms)
    seconds = sum(p.seconds for p in phases)
    window = sum(p.cpu_window_s for p in phases)
    requests = sum(p.requests for p in phases)
    statuses: dict[str, int] = {}
    for p in phases:
        for k, v in p.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    means = [p.server_mean_ms for p in phases if p.server_mean_ms is not None]
    return {
        "requests": requests,
        "errors": sum(p.errors for p in phases),
        "statuses": statuses,
        "seconds": round(seconds, 3),
        "throughput_rps": round(requests / seconds, 1) if seconds else 0.0,
        "p50_ms": round(percentile(lat, 50), 2),
        "p95_ms": round(percentile(lat, 95), 2),
        "p99_ms": round(percentile(lat, 99), 2),
        "max_ms": round(lat[-1], 2) if lat else None,
        "server_mean_ms": round(sum(means) / len(means), 2) if means else None,
        "server_cores": round(sum(p.server_cpu_s for p in phases) / window, 2) if window else None,
        "server_cpu_ms_per_request": round(sum(p.server_cpu_s for p in phases) / len(lat) * 1000, 2) if lat else None,
        "client_cores": round(sum(p.client_cpu_s for p in phases) / window, 2) if window else None,
        "postgres_cores": round(sum(p.postgres_cpu_s for p in phases) / window, 2) if window else None,
        "new_connections_per_s": round(sum(p.new_connections for p in phases) / seconds, 1) if seconds else None,
        # CPU used meanwhile by everything else on the machine (other jobs): the noise indicator.
        "other_cores": round(
            max(0.0, sum(p.machine_cpu_s - p.server_cpu_s - p.client_cpu_s - p.postgres_cpu_s for p in phases)) / window, 2
        )
        if window
        else None,
        "rounds_rps": [round(p.throughput, 1) for p in phases],
        "max_outbox_backlog": max((p.outbox_backlog for p in phases), default=0),
        "max_drain_s": round(max((p.drain_s for p in phases), default=0.0), 2),
    }


# --- CPU accounting ------------------------------------------------------------------------------


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and every process below it (uvicorn's worker processes)."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(_proc_cpu_s(p) for p in tree)


def _machine_cpu_s() -> float:
    """Busy CPU seconds of the whole machine since boot (all processes, all cores)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK  # minus idle and iowait
    return 0.0


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds of each local `postgres` process, for the saturation picture.

    Backends that exit (a pool closing surplus connections) take their CPU with them, so the
    postmaster's "children" times (cutime, cstime: backends it has reaped) are counted too.
    """
    found: dict[int, float] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            if (d / "comm").read_text().strip() == "postgres":
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                found[int(d.name)] = sum(int(x) for x in fields[11:15]) / CLK_TCK
    return found


# --- databases ----------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A fresh database ready for the server, with the declarant user's token."""

    db: str
    url: str
    token: str
    workdir: Path


def _prepare(url: str, workdir: Path) -> str:
    """Migrate, load reference data, register the example's enterprises, the importer's mandate for the
    declarant and a declarant user; its token."""
    from smartcustoms import schema
    from smartcustoms.audit.service import Actor
    from smartcustoms.auth import service as auth_service
    from smartcustoms.auth.models import Role
    from smartcustoms.config import Settings
    from smartcustoms.kit.clock import utcnow
    from smartcustoms.mandate import service as mandate_service
    from smartcustoms.party import service as party_service
    from smartcustoms.party.models import CreditRating
    from smartcustoms.party.schemas import EnterpriseCreate
    from smartcustoms.reference import service as reference_service
    from smartcustoms.runtime import Runtime

    operator = Actor(id=None, name="bench-operator", role="admin")
    now = utcnow()
    rt = Runtime(Settings(database_url=url, storage_dir=workdir / "files"))
    try:
        schema.upgrade(rt.engine)
        ensure_bench_table(rt.engine)
        with rt.write() as s:
            reference_service.load_builtin(s, actor=operator, now=now)
        with rt.write() as s:
            for uscc, name, credit in (
                (DECLARANT, "Shanghai Harbour Brokerage Co., Ltd.", CreditRating.aeo),
                (IMPORTER, "Tianjin Binhai Electronics Trading Co., Ltd.", CreditRating.general),
            ):
                party_service.add(s, data=EnterpriseCreate(uscc=uscc, name=name, credit=credit), actor=operator, now=now)
            mandate_service.grant(
                s,
                importer_uscc=IMPORTER,
                broker_uscc=DECLARANT,
                valid_from=now.date(),
                valid_to=None,
                procedures=None,
                offices=None,
                actor=operator,
                now=now,
            )
        with rt.write() as s:
            _, token = auth_service.add_user(
                s, name="bench-broker", role=Role.enterprise, enterprise_uscc=DECLARANT, actor=operator, now=now
            )
    finally:
        rt.stop()
    return token


@contextlib.contextmanager
def fresh_database(db: str, pg_url: str) -> Iterator[Prepared]:
    """A fresh, prepared database; removed (file) or dropped (schema) afterwards."""
    with temporary_database(db, pg_url, name="lodging") as (url, workdir):
        yield Prepared(db=db, url=url, token=_prepare(url, workdir), workdir=workdir)


# --- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path


@contextlib.contextmanager
def serve(prepared: Prepared, *, experiments: str = "", profile_clock: str = "", workers: int = 1) -> Iterator[Server]:
    """uvicorn in a subprocess with `workers` processes, as `smartcustoms serve --workers` runs it; stopped at the end."""
    port = free_port()
    env = {
        **os.environ,
        "SMARTCUSTOMS_DATABASE_URL": prepared.url,
        "SMARTCUSTOMS_STORAGE_DIR": str(prepared.workdir / "files"),
        "SMARTCUSTOMS_MODE": "development",
        "SMARTCUSTOMS_BUS_URL": "",
        "SMARTCUSTOMS_METRICS_TOKEN": METRICS_TOKEN,
        "SMARTCUSTOMS_BENCH_EXPERIMENTS": experiments,
        "SMARTCUSTOMS_BENCH_PROFILE": profile_clock,
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.app:create_bench_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    log = prepared.workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer /healthz in {SERVER_START_TIMEOUT_S:.0f} s:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


# --- the load -----------------------------------------------------------------------------------

_METRIC = re.compile(r'^smartcustoms_http_request_seconds_(sum|count)\{method="POST",route="([^"]+)"\} ([0-9.e+-]+)$', re.M)


async def _server_histogram(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    r = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    r.raise_for_status()
    return {(route, kind): float(value) for kind, route, value in _METRIC.findall(r.text)}


def _body_maker(kind: str, run_id: str) -> Callable[[int], bytes]:
    """Request bodies built by concatenation, so the load generator stays light."""
    if kind == "bare":
        return lambda n: b'{"payload":"BENCH-%s-%09d"}' % (run_id.encode(), n)
    doc = json.loads(EXAMPLE.read_text())
    doc["client_reference"] = "@@REF@@"
    head, tail = json.dumps(doc, separators=(",", ":")).encode().split(b"@@REF@@")
    return lambda n: head + b"BENCH-%s-%09d" % (run_id.encode(), n) + tail


class Load:
    """Drives one server with `clients` concurrent keep-alive connections."""

    def __init__(
        self,
        server: Server,
        prepared: Prepared,
        *,
        clients: int,
        console: Console,
        profile_dir: Path | None = None,
        rate: float = 0.0,
    ) -> None:
        self.server = server
        self.rate = rate  # requests/s offered (open loop); 0 = closed loop, each client sends when answered
        self.profile_dir = profile_dir
        self.profiles: list[dict[str, Any]] = []
        self.prepared = prepared
        self.clients = clients
        self.console = console
        self.run_id = secrets.token_hex(3)
        self.counter = 0
        self.kinds: tuple[str, ...] = ("bare", "lodge")  # the phases of a round, alternated in this order
        self.bodies = {"bare": _body_maker("bare", self.run_id), "lodge": _body_maker("lodge", self.run_id)}
        self.paths = {"bare": BARE_PATH, "lodge": LODGE_PATH}
        self.expected = {"bare": 201, "lodge": 202}
        json_headers = {"Content-Type": "application/json"}
        self.headers = {"bare": json_headers, "lodge": {**json_headers, "Authorization": f"Bearer {prepared.token}"}}
        self.db_engine = create_engine(prepared.url, poolclass=NullPool)

    def close(self) -> None:
        self.db_engine.dispose()

    def pg_sessions(self) -> int:
        """Sessions ever opened on this database (PostgreSQL 14+), to see connection churn in the server's pool."""
        with self.db_engine.connect() as c:
            return int(c.execute(text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")).scalar_one())

    def outbox_pending(self) -> int:
        with self.db_engine.connect() as c:
            return int(c.execute(text("SELECT count(*) FROM outbox_message WHERE published_at IS NULL")).scalar_one())

    async def drain(self) -> tuple[int, float]:
        """Wait (bounded) for the server's relay to publish every pending outbox message."""
        backlog = await asyncio.to_thread(self.outbox_pending)
        start = time.perf_counter()
        pending = backlog
        while pending and time.perf_counter() - start < DRAIN_TIMEOUT_S:
            await asyncio.sleep(0.1)
            pending = await asyncio.to_thread(self.outbox_pending)
        if pending:
            self.console.print(f"[yellow]outbox still has {pending} pending messages after {DRAIN_TIMEOUT_S:.0f} s[/]")
        return backlog, time.perf_counter() - start

    async def phase(
        self, control: httpx.AsyncClient, clients: list[httpx.AsyncClient], progress: Progress, kind: str, rnd: int, seconds: float
    ) -> Phase:
        """Hammer one endpoint for `seconds` (one worker per client); every worker stops issuing at the deadline.

        Closed loop (rate 0): each client sends its next request when the last is answered. Open
        loop (rate > 0): requests are due at a fixed rate, taken by whichever client is free; a
        request's latency counts from when it was due, so time spent waiting for a free client is
        in it (no coordinated omission).
        """
        ph = Phase(kind=kind, round=rnd, seconds=seconds)
        label = f"{self.prepared.db:<10} {kind:<5} " + ("warm-up" if rnd == 0 else f"round {rnd}")
        task = progress.add_task(label, total=seconds, rate="")
        path, headers, make, expected = self.paths[kind], self.headers[kind], self.bodies[kind], self.expected[kind]
        profiling = self.profile_dir is not None and rnd > 0
        if profiling:
            (await control.post(profiling_mod.START_PATH)).raise_for_status()
        hist0 = await _server_histogram(control)
        cpu0, client0, machine0 = _tree_cpu_s(self.server.process.pid), time.process_time(), _machine_cpu_s()
        pg0 = _postgres_cpu() if self.prepared.db == "postgresql" else {}
        sessions0 = await asyncio.to_thread(self.pg_sessions) if self.prepared.db == "postgresql" else 0
        start = time.perf_counter()
        deadline = start + seconds
        lat = ph.latencies_ms
        statuses: dict[int, int] = {}

        due = [0]

        async def worker(client: httpx.AsyncClient) -> None:
            while True:
                if self.rate:
                    t0 = start + due[0] / self.rate
                    due[0] += 1
                    if t0 >= deadline:
                        return
                    if (wait := t0 - time.perf_counter()) > 0:
                        await asyncio.sleep(wait)
                else:
                    t0 = time.perf_counter()
                    if t0 >= deadline:
                        return
                self.counter += 1
                body = make(self.counter)
                try:
                    status = (await client.post(path, content=body, headers=headers)).status_code
                except httpx.HTTPError:
                    status = 0
                t1 = time.perf_counter()
                statuses[status] = statuses.get(status, 0) + 1
                if status != expected:
                    ph.errors += 1
                    continue
                lat.append((t1 - t0) * 1000)
                if t1 <= deadline:
                    ph.requests += 1

        async def ticker() -> None:
            while (now := time.perf_counter()) < deadline:
                elapsed = now - start
                progress.update(task, completed=elapsed, rate=f"{ph.requests / elapsed if elapsed else 0:7.1f} req/s  errors {ph.errors}")
                progress.refresh()
                await asyncio.sleep(0.5)

        tick = asyncio.create_task(ticker())
        await asyncio.wait_for(asyncio.gather(*(worker(c) for c in clients)), timeout=seconds + REQUEST_TIMEOUT_S + 5)
        await tick
        ph.server_cpu_s = _tree_cpu_s(self.server.process.pid) - cpu0
        ph.client_cpu_s = time.process_time() - client0
        ph.machine_cpu_s = _machine_cpu_s() - machine0
        ph.cpu_window_s = time.perf_counter() - start
        if self.prepared.db == "postgresql":
            pg1 = _postgres_cpu()
            ph.postgres_cpu_s = sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items())
            # minus the one session this measurement opens itself
            ph.new_connections = max(0, await asyncio.to_thread(self.pg_sessions) - sessions0 - 1)
        if profiling:
            assert self.profile_dir is not None
            out = self.profile_dir / f"{self.prepared.db}-{kind}-r{rnd}.prof"
            r = await control.post(profiling_mod.STOP_PATH, params={"path": str(out.resolve())})
            r.raise_for_status()
            self.profiles.append(r.json())
        hist1 = await _server_histogram(control)
        route = path
        n = hist1.get((route, "count"), 0.0) - hist0.get((route, "count"), 0.0)
        if n:
            ph.server_mean_ms = (hist1.get((route, "sum"), 0.0) - hist0.get((route, "sum"), 0.0)) / n * 1000
        ph.statuses = {str(k): v for k, v in sorted(statuses.items())}
        progress.update(task, completed=seconds, rate=f"{ph.throughput:7.1f} req/s  errors {ph.errors}")
        ph.outbox_backlog, ph.drain_s = await self.drain()
        progress.refresh()
        return ph

    async def run(self, *, rounds: int, seconds: float, warmup: float) -> list[Phase]:
        # One httpx client, holding one keep-alive connection, per simulated client: sharing one
        # client with a 32-connection pool costs ~2.9 ms of CPU per request in httpcore's pool on
        # this machine (vs ~1 ms), and the load generator would then be what limits the bare phase.
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
        phases: list[Phase] = []
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
        with Progress(*columns, console=self.console, auto_refresh=False, transient=False) as progress:
            async with contextlib.AsyncExitStack() as stack:
                control = await stack.enter_async_context(httpx.AsyncClient(base_url=self.server.base_url, timeout=timeout))
                clients = [
                    await stack.enter_async_context(httpx.AsyncClient(base_url=self.server.base_url, limits=one, timeout=timeout))
                    for _ in range(self.clients)
                ]
                if warmup > 0:
                    for kind in self.kinds:
                        await self.phase(control, clients, progress, kind, 0, warmup)
                for rnd in range(1, rounds + 1):
                    for kind in self.kinds:
                        phases.append(await self.phase(control, clients, progress, kind, rnd, seconds))
        return phases


def _run_loop(coro: Any) -> Any:
    """Run on uvloop when available (a lighter load generator), else asyncio's loop."""
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


# --- main ---------------------------------------------------------------------------------------


def bench_one(db: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    with (
        fresh_database(db, args.pg_url) as prepared,
        serve(
            prepared, experiments=args.experiments, profile_clock=args.profile_clock if args.profile else "", workers=args.workers
        ) as server,
    ):
        load = Load(server, prepared, clients=args.clients, console=console, profile_dir=args.profile, rate=args.rate)
        try:
            phases = _run_loop(load.run(rounds=args.rounds, seconds=args.seconds, warmup=args.warmup))
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
