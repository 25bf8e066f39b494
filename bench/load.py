"""The load generator of the HTTP benchmarks: concurrent keep-alive clients that drive one server, phase by phase.

Closed loop by default (each client sends its next request when the last one is answered), open loop
at a fixed rate with `rate`; per phase the figures of bench/measure.py. bench/lodging.py alternates its
bare and lodging phases with it; bench/green_release.py subclasses it with phases of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench import profiling as profiling_mod
from bench.app import BARE_PATH
from bench.measure import Phase, machine_cpu_s, postgres_cpu, tree_cpu_s
from bench.server import EXAMPLE, METRICS_TOKEN, Prepared, Server

LODGE_PATH = "/api/v1/declarations"
REQUEST_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 120.0

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
        cpu0, client0, machine0 = tree_cpu_s(self.server.process.pid), time.process_time(), machine_cpu_s()
        pg0 = postgres_cpu() if self.prepared.db == "postgresql" else {}
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
        ph.server_cpu_s = tree_cpu_s(self.server.process.pid) - cpu0
        ph.client_cpu_s = time.process_time() - client0
        ph.machine_cpu_s = machine_cpu_s() - machine0
        ph.cpu_window_s = time.perf_counter() - start
        if self.prepared.db == "postgresql":
            pg1 = postgres_cpu()
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


def run_loop(coro: Any) -> Any:
    """Run on uvloop when available (a lighter load generator), else asyncio's loop."""
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)
