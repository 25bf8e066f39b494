"""What a benchmark phase measured: the phase's figures, their summary, and the CPU each party used (from /proc).

Used by bench/lodging.py (and the benches built on its load generator, such as bench/green_release.py).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import percentile

CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_s(pid: int) -> float:
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
    return sum(proc_cpu_s(p) for p in tree)


def machine_cpu_s() -> float:
    """Busy CPU seconds of the whole machine since boot (all processes, all cores)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK  # minus idle and iowait
    return 0.0


def postgres_cpu() -> dict[int, float]:
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
