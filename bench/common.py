"""What the benchmarks share: the machine they ran on, temporary databases, percentiles."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 < q <= 100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (other jobs on the machine disturb the figures)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine(pg_url: str | None) -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem_gib = round(kb / 1024 / 1024, 1)
    info: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": None,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_start": loadavg(),
    }
    if pg_url:
        with contextlib.suppress(Exception):
            eng = create_engine(pg_url, poolclass=NullPool)
            with eng.connect() as c:
                info["postgresql"] = c.execute(text("SHOW server_version")).scalar_one()
            eng.dispose()
    return info


@contextlib.contextmanager
def temporary_database(db: str, pg_url: str, *, name: str) -> Iterator[tuple[str, Path]]:
    """(URL, work directory) of an empty database: a SQLite file, or a PostgreSQL schema of its own
    (search_path in the URL); the file and directory are removed and the schema dropped afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=f"smartcustoms-bench-{name}-{db}-"))
    admin = None
    pg_schema = f"bench_{name}_{os.getpid()}"
    try:
        if db == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            admin = create_engine(pg_url, poolclass=NullPool)
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{pg_schema}" CASCADE'))
                c.execute(text(f'CREATE SCHEMA "{pg_schema}"'))
            sep = "&" if "?" in pg_url else "?"
            url = f"{pg_url}{sep}options=-csearch_path%3D{pg_schema}"
        yield url, workdir
    finally:
        if admin is not None:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{pg_schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
