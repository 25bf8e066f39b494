"""Where the server's time goes during a benchmark phase: cProfile in every thread, and a summary.

    .venv/bin/python -m bench.lodging --db sqlite --profile DIR [--profile-clock cpu|wall]
    .venv/bin/python -m bench.profiling DIR/sqlite-lodge-r1.prof [--top 25]

With `--profile`, the benchmark server (`bench.app`, SMARTCUSTOMS_BENCH_PROFILE=cpu|wall) gives
each thread its own `cProfile.Profile`: the threadpool workers while they run a route or a
dependency (every `anyio.to_thread.run_sync`), the outbox relay while it pumps, and the event
loop (parsing, middleware, serialization). The load driver starts and stops the profile around
each measured phase (`POST /_bench/profile/start`, `/_bench/profile/stop`) and the merged
profile is written as a pstats file.

The `cpu` clock (default) is each thread's own CPU time (`time.thread_time`): with 40 threads
sharing one GIL, wall time inside a function would mostly be time spent waiting for the GIL, so
CPU time is what tells what the server's core is busy with. The `wall` clock shows where requests
wait instead (locks, fsync, database round trips), inflated by GIL waits. Profiling slows the
server down several-fold: never record figures from a profiled run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

START_PATH = "/_bench/profile/start"
STOP_PATH = "/_bench/profile/stop"
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.thread_time, "wall": time.perf_counter}


class ThreadProfiles:
    """One profiler per thread, enabled only while a profile is being taken."""

    def __init__(self, clock: str) -> None:
        self.timer = CLOCKS[clock]
        self.active = False
        self._lock = threading.Lock()
        self._profiles: dict[int, cProfile.Profile] = {}
        self._running = 0

    def _mine(self) -> cProfile.Profile:
        ident = threading.get_ident()
        with self._lock:
            p = self._profiles.get(ident)
            if p is None:
                p = self._profiles[ident] = cProfile.Profile(self.timer)
            self._running += 1
        return p

    def wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """`func`, profiled in whichever thread runs it while a profile is being taken."""

        def call(*args: Any, **kwargs: Any) -> Any:
            if not self.active:
                return func(*args, **kwargs)
            p = self._mine()
            p.enable()
            try:
                return func(*args, **kwargs)
            finally:
                p.disable()
                with self._lock:
                    self._running -= 1

        return call

    def start(self) -> None:
        """Begin a profile (from the event loop thread: its own profiler is enabled here)."""
        with self._lock:
            self._profiles.clear()
        self.active = True
        self._mine().enable()

    async def stop(self, path: Path, timeout_s: float = 30.0) -> dict[str, Any]:
        """End the profile (event loop thread), wait for the calls in flight, write the merged stats."""
        self.active = False
        loop = self._profiles[threading.get_ident()]
        loop.disable()
        with self._lock:
            self._running -= 1
        deadline = time.monotonic() + timeout_s
        while self._running and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        with self._lock:
            profiles = list(self._profiles.values())
            self._profiles.clear()
        stats = pstats.Stats(profiles[0])
        for p in profiles[1:]:
            with contextlib.suppress(TypeError):  # a profiler that never recorded a call
                stats.add(p)
        path.parent.mkdir(parents=True, exist_ok=True)
        stats.dump_stats(str(path))
        total: float = getattr(stats, "total_tt", 0.0)
        return {"path": str(path), "threads": len(profiles), "total_s": round(total, 3), "unfinished": self._running}


def install(app: FastAPI, clock: str) -> ThreadProfiles:
    """Profile the app's threadpool, its outbox relay and its event loop on demand (bench server only)."""
    import anyio.to_thread
    from fastapi import Query

    profiles = ThreadProfiles(clock)
    original = anyio.to_thread.run_sync

    async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await original(profiles.wrap(func), *args, **kwargs)

    # Starlette and FastAPI look the function up on the module at each call.
    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    rt = app.state.runtime
    rt.pump = profiles.wrap(rt.pump)

    @app.post(START_PATH, include_in_schema=False)
    async def start() -> dict[str, str]:
        profiles.start()
        return {"clock": clock}

    @app.post(STOP_PATH, include_in_schema=False)
    async def stop(path: str = Query()) -> dict[str, Any]:
        return await profiles.stop(Path(path))

    return profiles


# --- the summary ---------------------------------------------------------------------------------

AREAS = (
    # (area, substring of the file path or built-in name), first match wins
    ("sqlite3 commit (fsync)", "method 'commit' of 'sqlite3.Connection'"),
    ("sqlite3 C calls", "sqlite3."),
    ("psycopg / libpq", "psycopg"),
    ("smartcustoms: declaration", "smartcustoms/declaration/"),
    ("smartcustoms: risk", "smartcustoms/risk/"),
    ("smartcustoms: other", "smartcustoms/"),
    ("bench", "/bench/"),
    ("SQLAlchemy", "sqlalchemy"),
    ("pydantic", "pydantic"),
    ("FastAPI / Starlette / anyio", "fastapi"),
    ("FastAPI / Starlette / anyio", "starlette"),
    ("FastAPI / Starlette / anyio", "anyio"),
    ("uvicorn / httptools / uvloop", "uvicorn"),
    ("uvicorn / httptools / uvloop", "httptools"),
    ("uvicorn / httptools / uvloop", "uvloop"),
    ("LightGBM / numpy", "lightgbm"),
    ("LightGBM / numpy", "numpy"),
    ("json", "json/"),
    ("prometheus_client", "prometheus_client"),
    ("structlog", "structlog"),
    ("asyncio / threading / queue", "asyncio/"),
    ("asyncio / threading / queue", "threading.py"),
    ("asyncio / threading / queue", "queue.py"),
)

# Entry points whose inclusive time says what a request is made of.
MILESTONES = (
    ("POST /_bench/bare (route)", "bench/app.py", "bare"),
    ("principal dependency (auth read transaction)", "smartcustoms/web/deps.py", "principal"),
    ("POST /api/v1/declarations (route)", "smartcustoms/web/api/declarations.py", "lodge"),
    ("  declaration_service.lodge (validate, store, events, outbox)", "smartcustoms/declaration/service.py", "lodge"),
    ("    validation", "smartcustoms/declaration/validation.py", "validate"),
    ("    reference catalog", "smartcustoms/reference/service.py", "catalog"),
    ("    next declaration number", "smartcustoms/declaration/repository.py", "next_sequence"),
    ("    record_event (event, journal, outbox)", "smartcustoms/declaration/service.py", "record_event"),
    ("  selectivity.assess (rules, model, draw, insert)", "smartcustoms/risk/selectivity/service.py", "assess"),
    ("    knowledge context", "smartcustoms/risk/knowledge/service.py", "context"),
    ("    importer's earlier declarations", "smartcustoms/risk/selectivity/service.py", "_importer_count"),
    ("    rules", "smartcustoms/risk/parameter/service.py", "evaluate"),
    ("    model registry lookup", "smartcustoms/risk/model/service.py", "for_procedure"),
    ("    model score + TreeSHAP", "smartcustoms/risk/model/service.py", "score_one"),
    ("session.commit", "sqlalchemy/orm/session.py", "commit"),
    ("session.flush", "sqlalchemy/orm/session.py", "flush"),
    ("outbox relay (Runtime.pump)", "smartcustoms/runtime.py", "pump"),
)


def _label(func: tuple[str, int, str]) -> str:
    file, line, name = func
    if file == "~":
        return name
    short = file.split("site-packages/")[-1].split("/src/")[-1].split("/lib/python3.11/")[-1]
    return f"{name} ({short}:{line})"


def _area(func: tuple[str, int, str]) -> str:
    text = f"{func[0]} {func[2]}"
    for area, needle in AREAS:
        if needle in text:
            return area
    return "other (stdlib, C built-ins)"


def summarize(path: Path, *, top: int = 25) -> str:
    stats = pstats.Stats(str(path))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in raw.values()) or 1.0
    out = [f"{path.name}: {total:.2f} s profiled in all threads"]

    def milestone(file: str, name: str) -> tuple[int, float]:
        found = [(v[1], v[3]) for f, v in raw.items() if f[2] == name and f[0].endswith(file)]
        return max(found, key=lambda x: x[1], default=(0, 0.0))

    bare_calls, _ = milestone("bench/app.py", "bare")
    lodge_calls, _ = milestone("smartcustoms/web/api/declarations.py", "lodge")
    per = max(bare_calls, lodge_calls)
    if per:
        out.append(f"requests (route calls): {per}; profiled time per request: {total / per * 1000:.2f} ms")
    per = per or 1
    out.append("\nby area (own time):")
    areas: dict[str, float] = defaultdict(float)
    for func, (_, _, tt, _, _) in raw.items():
        areas[_area(func)] += tt
    for area, tt in sorted(areas.items(), key=lambda kv: -kv[1]):
        out.append(f"  {tt / total * 100:5.1f}%  {tt / per * 1000:7.3f} ms/req  {area}")
    out.append("\nmilestones (inclusive time):")
    for label, file, name in MILESTONES:
        nc, ct = milestone(file, name)
        if nc:
            out.append(f"  {ct / total * 100:5.1f}%  {ct / per * 1000:7.3f} ms/req  {nc:7d} calls  {label}")
    out.append(f"\ntop {top} by own time:")
    for func, (_, nc, tt, _, _) in sorted(raw.items(), key=lambda kv: -kv[1][2])[:top]:
        out.append(f"  {tt / total * 100:5.1f}%  {tt / per * 1000:7.3f} ms/req  {nc:8d}  {_label(func)}")
    out.append(f"\ntop {top} smartcustoms functions by inclusive time:")
    ours = [(f, v) for f, v in raw.items() if "smartcustoms/" in f[0]]
    for func, (_, nc, _, ct, _) in sorted(ours, key=lambda kv: -kv[1][3])[:top]:
        out.append(f"  {ct / total * 100:5.1f}%  {ct / per * 1000:7.3f} ms/req  {nc:8d}  {_label(func)}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("files", nargs="+", type=Path, help="pstats files written by `bench.lodging --profile DIR`")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    for f in args.files:
        print(summarize(f, top=args.top))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
