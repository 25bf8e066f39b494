"""The gate's offline mode under a real server: PostgreSQL behind a TCP proxy the test closes and opens again.

The server (`smartcustoms serve`, its own process) keeps its local copy current from the release
feed; with the database cut off it still authenticates its gate users and decides from the copy,
passing only what the copy proves; once the database is back its worker reconciles the offline
checks: a container that left offline is recorded once, and one another gate let out meanwhile is
reported as a conflict and does not leave twice.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.audit.service import Actor
from smartcustoms.declaration import repository
from smartcustoms.gate.domain import Ask
from smartcustoms.gate.models import GateCheck, GateExit
from smartcustoms.gate.service import check as gate_check
from smartcustoms.release import service as release_service
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, World, example

SMARTCUSTOMS = Path(sys.executable).with_name("smartcustoms")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not SMARTCUSTOMS.exists(), reason=f"console script {SMARTCUSTOMS} is not installed")]
BOX, SEAL, OTHER_BOX, THIRD_BOX = "MSKU1234565", "ML-CN4471208", "TGHU9876542", "CSQU3054383"


class Proxy:
    """A TCP proxy in front of the database: `cut()` drops every connection and refuses new ones; `restore()` listens again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            if server is not self._server:  # cut meanwhile: the database is away
                client.close()
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept (closing alone does not)
            server.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def _wait(what: str, ready: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def _release(rt: Runtime, world: World, ref: str, containers: list[dict[str, Any]] | None = None) -> str:
    with rt.write() as s:
        raw = {**example(), "client_reference": ref, **({"containers": containers} if containers else {})}
        receipt, _ = selectivity.lodge(s, raw=raw, principal=world.principals["broker"], now=NOW)
    with rt.write() as s:
        decl = repository.by_number(s, number=str(receipt["number"]))
        assert decl is not None
        return release_service.issue(s, declaration=decl, actor=Actor.system("clearance"), now=NOW).number


def test_a_gate_cut_off_from_its_database_decides_from_its_copy_and_reconciles_without_letting_a_container_out_twice(
    rt: Runtime, world: World, tmp_path: Path
) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("the database behind a proxy is PostgreSQL (SQLite's offline mode: tests/e2e/test_gate_cli.py)")
    first = _release(rt, world, "GATE-OFF-1")
    _release(rt, world, "GATE-OFF-2", [{"number": THIRD_BOX, "seals": ["SL0000003"]}])
    url = rt.engine.url
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCUSTOMS_")}
    env.update(
        SMARTCUSTOMS_DATABASE_URL=proxied,
        SMARTCUSTOMS_STORAGE_DIR=str(tmp_path / "files"),
        SMARTCUSTOMS_GATE_REFRESH_SECONDS="0.5",
        SMARTCUSTOMS_AUTH_CACHE_SECONDS="0",  # every request authenticates: offline, from the copy's gate users
        NO_COLOR="1",
    )
    server = subprocess.Popen(
        [str(SMARTCUSTOMS), "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base, headers = f"http://127.0.0.1:{port}", world.headers("gate")
    copy = tmp_path / "files" / "gate-local.db"

    def lines_in_copy() -> int:
        if not copy.exists():
            return 0
        try:
            with closing(sqlite3.connect(copy)) as c:
                return int(c.execute("SELECT count(*) FROM line").fetchone()[0])
        except sqlite3.OperationalError:  # made this instant, its tables not yet
            return 0

    def post(body: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(f"{base}/api/v1/gate/checks", json=body, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        return dict(r.json())

    try:
        _wait("the server's local copy holds both releases", lambda: lines_in_copy() == 3)
        online = post({"container": BOX, "seal": SEAL})
        assert (online["decision"], online["offline"], online["release"]["number"]) == ("pass", False, first)

        proxy.cut()
        offline = post({"container": OTHER_BOX, "seal": "ML-CN4471209"})
        assert (offline["decision"], offline["offline"]) == ("pass", True)
        assert [r["code"] for r in post({"container": OTHER_BOX})["reasons"]] == ["GATE-CHK-005", "GATE-OFF-001"]
        assert [r["code"] for r in post({"container": BOX})["reasons"]] == ["GATE-CHK-005", "GATE-OFF-001"]
        assert [r["code"] for r in post({"container": THIRD_BOX, "seal": "SL9999999"})["reasons"]] == ["GATE-CHK-003", "GATE-OFF-001"]
        assert post({"container": THIRD_BOX, "seal": "SL0000003"})["decision"] == "pass"
        assert httpx.post(f"{base}/api/v1/gate/checks", json={"container": BOX}, timeout=30).status_code == 401
        other = httpx.get(f"{base}/api/v1/declarations", headers=world.headers("broker"), timeout=30)  # only gate users work offline
        assert (other.status_code, other.json()["code"]) == (503, "database_unreachable"), other.text
        # Meanwhile another gate, still connected, lets OTHER_BOX out: the offline pass will conflict.
        with rt.write() as s:
            assert gate_check(s, ask=Ask(container=OTHER_BOX), principal=world.principals["gate"], now=NOW).passed

        proxy.restore()

        def reconciled() -> bool:
            with rt.read() as s:
                return len(s.scalars(select(GateCheck.id).where(GateCheck.offline.is_(True))).all()) == 5

        _wait("the server reconciles its five offline checks", reconciled)
        with rt.read() as s:
            exits = sorted((e.container, e.offline) for e in s.scalars(select(GateExit)))
            conflicts = s.scalars(select(AuditEntry.subject_id).where(AuditEntry.action == "gate.conflict")).all()
        assert exits == [(THIRD_BOX, True), (BOX, False), (OTHER_BOX, False)]
        assert list(conflicts) == [OTHER_BOX]
        assert [r["code"] for r in post({"container": THIRD_BOX})["reasons"]] == ["GATE-CHK-005"]
        assert post({"container": THIRD_BOX})["offline"] is False
    finally:
        server.terminate()
        server.wait(timeout=20)
        proxy.cut()
