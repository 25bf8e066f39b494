"""What-if patches for the benchmark server, to measure a suggested change without editing src/.

Applied by `bench.app.create_bench_app` when SMARTCUSTOMS_BENCH_EXPERIMENTS names them
(`python -m bench.lodging --experiments a,b`). They exist to put a number on a suggestion in
docs/benchmarks.md; the recorded figures are always taken without any of them. Each one is the
smallest stand-in for the change it suggests, not a production-ready implementation.

Each targets a cost seen in the lodging benchmark: the SQLite busy handler's unfair queue (tail
latency) and the BaseHTTPMiddleware under both endpoints; `gc-log` is a probe, not a change.
Experiments that became the code are gone from here: the row-locked declaration counter
(`declaration.numbering`), pools of 40 (`kit.db`) and the per-request authentication
(`auth.service.TokenCache`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session

from smartcustoms.runtime import Runtime


def _runtime(app: FastAPI) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


def sqlite_write_lock(app: FastAPI) -> None:
    """SQLite: queue writers on an in-process lock before BEGIN IMMEDIATE.

    Stand-in for: `Runtime.write` (or `kit.db.transaction`) taking a process-wide lock on SQLite,
    so a waiting writer is woken the moment the previous one commits instead of sleeping in
    SQLite's busy handler (1, 2, 5, ... 100 ms steps) and finding the lock taken again.
    """
    rt = _runtime(app)
    if rt.engine.dialect.name != "sqlite":
        return
    lock = threading.Lock()
    original = rt.write

    @contextmanager
    def write() -> Iterator[Session]:
        with lock, original() as s:
            yield s

    rt.write = write  # type: ignore[method-assign]


def asgi_metrics(app: FastAPI) -> None:
    """The request metrics as a pure ASGI middleware instead of `@app.middleware("http")`.

    Stand-in for: `web.app.create_app._metrics`, a BaseHTTPMiddleware, which runs every request
    through an extra task and memory streams on the event loop. Same two metrics, same labels.
    """
    import time

    from smartcustoms.web.app import LATENCY, REQUESTS

    app.user_middleware = [m for m in app.user_middleware if getattr(m, "kwargs", {}).get("dispatch") is None]

    class Metrics:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await self.inner(scope, receive, send)
                return
            start = time.perf_counter()
            status = [500]

            async def send_status(message: Any) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)

            try:
                await self.inner(scope, receive, send_status)
            finally:
                path = getattr(scope.get("route"), "path", "unmatched")
                LATENCY.labels(scope["method"], path).observe(time.perf_counter() - start)
                REQUESTS.labels(scope["method"], path, str(status[0])).inc()

    app.add_middleware(Metrics)


def gc_log(app: FastAPI) -> None:
    """Log every garbage collection of the server that takes 10 ms or more (to the server log).

    Not a change to try but a probe: a full (generation 2) collection walks every tracked object
    of the process and holds the interpreter lock meanwhile, so it shows as a latency spike.
    """
    import gc
    import sys
    import time

    started: dict[str, float] = {}

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started["t"] = time.perf_counter()
            return
        took = (time.perf_counter() - started.pop("t", time.perf_counter())) * 1000
        if took >= 10:
            print(f"gc generation {info['generation']} took {took:.1f} ms, collected {info['collected']}", file=sys.stderr, flush=True)

    gc.callbacks.append(callback)
    _ = app


EXPERIMENTS: dict[str, Callable[[FastAPI], None]] = {
    "gc-log": gc_log,
    "asgi-metrics": asgi_metrics,
    "sqlite-write-lock": sqlite_write_lock,
}


def apply(app: FastAPI, names: str) -> list[str]:
    """Apply the named experiments to the app (and the modules it uses); returns what was applied."""
    applied = []
    for name in filter(None, (n.strip() for n in names.split(","))):
        if name not in EXPERIMENTS:
            raise SystemExit(f"unknown experiment {name!r}; known: {', '.join(sorted(EXPERIMENTS))}")
        EXPERIMENTS[name](app)
        applied.append(name)
    return applied
