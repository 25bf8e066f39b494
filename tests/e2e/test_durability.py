"""Durability: an answered lodging survives the server being killed (SIGKILL) the moment it answers.

A real server (`smartcustoms serve`) runs on a database set up with the console script; requests
go over real HTTP. After a kill and a restart on the same database, every lodging that was
answered 202 is there, assessed, released and complete, its status events still reach the feed (the outbox
is relayed after the restart), and nothing half-done exists. Production mode refuses default
secrets and demo data.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from smartcustoms.audit.service import Actor
from smartcustoms.config import Settings
from smartcustoms.declaration.models import Declaration, DeclarationEvent, DeclarationVersion, Status
from smartcustoms.kit.clock import utcnow
from smartcustoms.kit.outbox import OutboxMessage
from smartcustoms.party.models import Enterprise
from smartcustoms.release.models import Release
from smartcustoms.risk.selectivity import settings as selectivity_settings
from smartcustoms.risk.selectivity.models import Assessment
from smartcustoms.runtime import Runtime
from tests.conftest import BROKER, IMPORTER, NON_REFERENCE_TABLES, SIGNING_KEY, backends, example

SMARTCUSTOMS = Path(sys.executable).with_name("smartcustoms")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SMARTCUSTOMS.exists(), reason=f"console script {SMARTCUSTOMS} is not installed"),
]
API = "/api/v1/declarations"
SECRET_40 = "s3cr3t-Qm7vXz2LpR9tWk4NbH8yJc6FdG1sA5eU"  # random-looking: production refuses regular secrets


def _env(home: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCUSTOMS_") and k != "PORT"}
    env.update(SMARTCUSTOMS_DATABASE_URL=database_url, SMARTCUSTOMS_STORAGE_DIR=str(home / "files"), COLUMNS="200", NO_COLOR="1")
    env.update(extra)
    return env


def _cli(env: dict[str, str], cwd: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(SMARTCUSTOMS), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == expect, f"smartcustoms {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Site:
    """A database set up with the console script, and the server processes started on it."""

    home: Path
    database_url: str
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def start(self, workers: int = 1) -> None:
        """Start `smartcustoms serve [--workers N]` and wait until /healthz answers."""
        self.starts += 1
        self.port = _free_port()
        log = (self.home / f"server-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [str(SMARTCUSTOMS), "serve", "--port", str(self.port), "--workers", str(workers)],
            cwd=self.home,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited {self.process.returncode}:\n{self.log()}"
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the server did not answer /healthz within 90 s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no goodbye."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        assert self.process.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.home.glob("server-*.log")))

    def get(self, path: str, user: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.base}{path}", params=params, headers=self.headers(user), timeout=10)

    def lodge(self, client: httpx.Client, payload: dict[str, Any]) -> httpx.Response:
        return client.post(f"{self.base}{API}", json=payload, headers=self.headers("broker"))


@pytest.fixture(params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database nobody has set up yet: a new SQLite file, or our PostgreSQL schema emptied of everything but reference data."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    url: str = request.getfixturevalue("pg_ready")
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("TRUNCATE " + ", ".join(NON_REFERENCE_TABLES) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    """`init`, the broker and importer enterprises, the importer's mandate for the broker, one enterprise user for each; no server yet."""
    env = _env(tmp_path, database_url)
    s = Site(home=tmp_path, database_url=database_url, env=env)
    _cli(env, tmp_path, "init")
    _cli(env, tmp_path, "enterprise", "add", "--uscc", BROKER, "--name", "Shanghai Harbour Brokerage Co., Ltd.", "--credit", "aeo")
    _cli(env, tmp_path, "enterprise", "add", "--uscc", IMPORTER, "--name", "Tianjin Binhai Electronics Trading Co., Ltd.")
    _cli(env, tmp_path, "mandate", "grant", "--importer", IMPORTER, "--broker", BROKER)
    _cli(env, tmp_path, "tariff", "load-sample")  # release needs the duties guaranteed: the tariff, the importer's guarantee
    _cli(env, tmp_path, "guarantee", "add", "--uscc", IMPORTER, "--amount", "100000000.00")
    for user, uscc in (("broker", BROKER), ("importer", IMPORTER)):
        s.tokens[user] = _cli(
            env, tmp_path, "user", "add", "--role", "enterprise", "--name", user, "--enterprise", uscc
        ).stdout.splitlines()[-1]
    # No random checks: every lodging is green, so each 202 answered stands for the lane that does the
    # most in the lodging request (assessed and released, with its release number, in one commit).
    rt = Runtime(Settings(database_url=database_url, storage_dir=tmp_path / "files"))
    try:
        with rt.write() as w:
            now = utcnow()
            selectivity_settings.set_setting(
                w,
                office="*",
                red_rate=0.03,
                yellow_rate=0.07,
                random_rate=0.0,
                valid_from=now.date(),
                reason="Durability tests: no random checks.",
                actor=Actor.system("test"),
                now=now,
            )
    finally:
        rt.stop()
    yield s
    s.stop()


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """This process's own view of the server's database, for looking behind the API."""
    rt = Runtime(Settings(database_url=database_url, storage_dir=tmp_path / "files"))
    yield rt
    rt.stop()


def _stored(db: Runtime) -> dict[str, dict[str, Any]]:
    """Every declaration with its versions, events, outbox messages and risk assessments, by client reference."""
    out: dict[str, dict[str, Any]] = {}
    with db.read() as s:
        for d in s.scalars(select(Declaration).order_by(Declaration.id)):
            versions = s.scalars(select(DeclarationVersion.version).where(DeclarationVersion.declaration_id == d.id)).all()
            events = s.scalars(
                select(DeclarationEvent.event).where(DeclarationEvent.declaration_id == d.id).order_by(DeclarationEvent.id)
            ).all()
            outbox = s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.key == d.number))
            assessments = s.scalar(select(func.count()).select_from(Assessment).where(Assessment.declaration_id == d.id))
            out[d.client_reference] = {
                "number": d.number,
                "status": d.status,
                "version": d.version,
                "versions": list(versions),
                "events": list(events),
                "outbox": outbox,
                "assessments": assessments,
            }
    return out


EVENTS = ["declaration.lodged", "declaration.accepted", "declaration.assessed", "declaration.released"]
# Green: released in the lodging request; its four status events and the release.issued message.
COMPLETE = {"status": Status.released, "version": 1, "versions": [1], "events": EVENTS, "outbox": 5, "assessments": 1}


def _release_numbers(db: Runtime) -> dict[str, str]:
    """The release number of each released declaration, by declaration number."""
    with db.read() as s:
        rows = s.execute(select(Declaration.number, Release.number).join(Release, Release.declaration_id == Declaration.id)).all()
    return {d: r for d, r in rows}


def _expected_feed(db: Runtime, numbers: set[str]) -> list[tuple[str, str]]:
    """Each declaration's status events, then its release.issued (under the release's own number)."""
    released = _release_numbers(db)
    return [(n, e) for n in numbers for e in EVENTS] + [(released[n], "release.issued") for n in numbers]


def _complete(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in COMPLETE}


def _feed_until(site: Site, user: str, done: Callable[[list[tuple[str, str]]], bool], timeout: float = 20) -> list[tuple[str, str]]:
    """The user's notification feed, polled until `done` holds (the relay runs every 0.5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        feed = [(n["number"], n["event"]) for n in site.get("/api/v1/notifications", user, limit=1000).json()["items"]]
        if done(feed) or time.monotonic() > deadline:
            return feed
        time.sleep(0.2)


def test_a_lodging_answered_202_survives_a_sigkill_at_that_moment_and_its_events_are_still_delivered(site: Site, db: Runtime) -> None:
    site.start()
    with httpx.Client(timeout=30) as client:
        answer = site.lodge(client, example())
        site.kill()
    assert answer.status_code == 202, answer.text
    number = answer.json()["number"]

    stored = _stored(db)
    assert list(stored) == ["SHIMP-2026-000123"] and stored["SHIMP-2026-000123"]["number"] == number
    assert _complete(stored["SHIMP-2026-000123"]) == COMPLETE

    site.start()

    shown = site.get(f"{API}/{number}", "broker")
    assert shown.status_code == 200
    assert (shown.json()["status"], shown.json()["version"]) == ("released", 1)
    assert [e["event"] for e in shown.json()["events"]] == EVENTS
    assert shown.json()["assessment"]["lane"] == "green"
    feed = _feed_until(site, "importer", lambda f: any(e == "release.issued" for _, e in f))
    assert feed == _expected_feed(db, {number}), site.log()
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))) == 0
    with httpx.Client(timeout=30) as client:
        again = site.lodge(client, example())
    assert again.status_code == 200 and again.json() == answer.json()  # the retry after the crash is answered as a retry


def test_a_burst_of_lodgings_killed_midway_loses_no_answered_lodging_and_leaves_nothing_half_done(site: Site, db: Runtime) -> None:
    burst, kill_after = 20, 10
    payloads = []
    for i in range(burst):
        d = example()
        d["client_reference"] = f"BURST-{i:02d}"
        payloads.append(d)
    answers: dict[str, httpx.Response] = {}
    lost: dict[str, str] = {}
    lock = threading.Lock()
    enough = threading.Event()

    def send(payload: dict[str, Any]) -> None:
        with httpx.Client(timeout=30) as client:
            try:
                r = site.lodge(client, payload)
            except httpx.TransportError as exc:  # the server died with the request in flight
                with lock:
                    lost[payload["client_reference"]] = type(exc).__name__
                return
        with lock:
            answers[payload["client_reference"]] = r
            if sum(a.status_code == 202 for a in answers.values()) >= kill_after:
                enough.set()

    site.start()
    with ThreadPoolExecutor(max_workers=burst) as pool:
        for p in payloads:
            pool.submit(send, p)
        assert enough.wait(timeout=60), site.log()
        site.kill()

    assert set(answers) | set(lost) == {p["client_reference"] for p in payloads}
    assert {a.status_code for a in answers.values()} == {202}, {k: a.text for k, a in answers.items()}
    stored = _stored(db)
    for ref, answer in answers.items():  # no answered lodging is lost
        assert ref in stored, f"{ref} was answered 202 but is gone after the kill"
        assert stored[ref]["number"] == answer.json()["number"]
    for ref, row in stored.items():  # and whatever exists is whole, answered or not
        assert ref in answers or ref in lost
        assert _complete(row) == COMPLETE, ref
    assert len({row["number"] for row in stored.values()}) == len(stored)

    site.start()
    with httpx.Client(timeout=30) as client:  # the clients whose answers were lost retry
        retried = {ref: site.lodge(client, next(p for p in payloads if p["client_reference"] == ref)) for ref in sorted(lost)}
    for ref, r in retried.items():
        assert r.status_code == (200 if ref in stored else 202), (ref, r.text)

    _all_whole_and_delivered_once(site, db, payloads)


def _all_whole_and_delivered_once(site: Site, db: Runtime, payloads: list[dict[str, Any]]) -> None:
    """Every payload lodged exactly once and whole, under its own number, and each of its events in the importer's feed once."""
    final = _stored(db)
    assert sorted(final) == sorted(p["client_reference"] for p in payloads)
    assert all(_complete(row) == COMPLETE for row in final.values())
    numbers = {row["number"] for row in final.values()}
    assert len(numbers) == len(payloads)
    feed = _feed_until(site, "importer", lambda f: sum(e == "release.issued" for _, e in f) >= len(payloads))
    assert sorted(feed) == sorted(_expected_feed(db, numbers)), site.log()  # each event once, none twice


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_two_server_processes_lodge_side_by_side_and_publish_every_event_once(site: Site, db: Runtime) -> None:
    # `serve --workers 2`: two processes on one database, each with its relay (one relays at a time)
    # and, on SQLite, taking turns with the other through the lock file beside the database.
    burst = 24
    payloads = []
    for i in range(burst):
        d = example()
        d["client_reference"] = f"TWO-{i:02d}"
        payloads.append(d)

    def send(payload: dict[str, Any]) -> httpx.Response:
        with httpx.Client(timeout=60) as client:  # a connection each: the kernel spreads them over both processes
            return site.lodge(client, payload)

    site.start(workers=2)
    assert site.process is not None
    assert len(_children(site.process.pid)) >= 2, site.log()  # uvicorn's supervisor and its two server processes
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, payloads))

    assert [a.status_code for a in answers] == [202] * burst, [a.text for a in answers if a.status_code != 202]
    _all_whole_and_delivered_once(site, db, payloads)
    if db.engine.dialect.name == "sqlite":
        assert Path(f"{db.engine.url.database}-writer.lock").exists()


# --- production mode ---------------------------------------------------------------------


def test_production_mode_refuses_the_default_secret_and_demo_data(tmp_path: Path) -> None:
    db_file = tmp_path / "production.db"
    default = _env(tmp_path, f"sqlite:///{db_file}", SMARTCUSTOMS_MODE="production")
    message = "SMARTCUSTOMS_SECRET_KEY must not be (or contain) the development default in production mode"

    for args in (("serve", "--port", str(_free_port())), ("init",)):
        done = _cli(default, tmp_path, *args, expect=2)
        assert message in done.stderr, done.stderr
    short = _cli({**default, "SMARTCUSTOMS_SECRET_KEY": "x" * 31}, tmp_path, "init", expect=2)
    assert "SMARTCUSTOMS_SECRET_KEY must have at least 32 characters in production mode" in short.stderr
    assert not db_file.exists()  # refused before touching the database

    production = {**default, "SMARTCUSTOMS_SECRET_KEY": SECRET_40, "SMARTCUSTOMS_SIGNING_KEY": SIGNING_KEY}
    loaded = json.loads(_cli(production, tmp_path, "init", "--json").stdout)
    assert loaded["database"] == "sqlite" and loaded["loaded"]["hs_code"] > 5000

    demo = _cli(production, tmp_path, "demo", "--declarations", "3", expect=2)
    assert "demo data is refused in production mode" in demo.stderr
    assert "Traceback" not in demo.stderr
    rt = Runtime(Settings(database_url=f"sqlite:///{db_file}", mode="production", secret_key=SECRET_40, signing_key=SIGNING_KEY))
    try:
        with rt.read() as s:
            assert s.scalar(select(func.count()).select_from(Enterprise)) == 0
            assert s.scalar(select(func.count()).select_from(Declaration)) == 0
    finally:
        rt.stop()
