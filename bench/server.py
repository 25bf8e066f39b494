"""A fresh prepared database and a real uvicorn server on it, for the HTTP benchmarks.

`fresh_database`: a temporary database (SQLite file, or a PostgreSQL schema of its own), migrated,
with the built-in reference data, the example's two enterprises, the importer's mandate for the
declarant and a declarant user (its token). `serve`: `bench.app:create_bench_app` under uvicorn in a
subprocess on 127.0.0.1, as `smartcustoms serve` runs it; stopped at the end. Used by bench/lodging.py,
bench/green_release.py, bench/gate.py, bench/queue.py and bench/release.py.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.app import ensure_bench_table
from bench.common import temporary_database

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT.parent / "shared" / "examples" / "declaration-import.json"
DECLARANT = "91310000MA1FL8XX29"
IMPORTER = "91120116MA05JB6G5T"
SERVER_START_TIMEOUT_S = 60.0
METRICS_TOKEN = secrets.token_urlsafe(24)  # the bench's server lets this token read /metrics


@dataclass
class Prepared:
    """A fresh database ready for the server, with the declarant user's token."""

    db: str
    url: str
    token: str
    workdir: Path


def grant_mandate(session: Any, *, importer: str, actor: Any, now: datetime) -> None:
    """The importer's open-ended mandate for the declarant, from today, for every procedure and office."""
    from smartcustoms.mandate import service as mandate_service

    mandate_service.grant(
        session,
        importer_uscc=importer,
        broker_uscc=DECLARANT,
        valid_from=now.date(),
        valid_to=None,
        procedures=None,
        offices=None,
        actor=actor,
        now=now,
    )


def _prepare(url: str, workdir: Path) -> str:
    """Migrate, load reference data, register the example's enterprises, the importer's mandate for the
    declarant and a declarant user; its token."""
    from smartcustoms import schema
    from smartcustoms.audit.service import Actor
    from smartcustoms.auth import service as auth_service
    from smartcustoms.auth.models import Role
    from smartcustoms.config import Settings
    from smartcustoms.kit.clock import utcnow
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
            grant_mandate(s, importer=IMPORTER, actor=operator, now=now)
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
