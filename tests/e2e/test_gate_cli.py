"""`smartcustoms gate check|sync` as the real console script: online, then with the SQLite file unreachable, then reconciled."""

from __future__ import annotations

import json
import shutil
from typing import Any

from sqlalchemy import func, select

from smartcustoms.audit.service import Actor
from smartcustoms.declaration import repository
from smartcustoms.gate.models import GateCheck, GateExit
from smartcustoms.release import service
from tests.conftest import EXAMPLE, NOW
from tests.e2e.test_cli import Cli

pytest_plugins = ["tests.e2e.test_cli"]
BOX, SEAL, OTHER_BOX = "MSKU1234565", "ML-CN4471208", "TGHU9876542"


def check(cli: Cli, *args: str, expect: int) -> Any:
    done = cli.run("gate", "check", "--as", "gate", *args, "--json", expect=expect)
    return json.loads(done.stdout)


def test_the_gate_checks_online_keeps_deciding_from_its_copy_without_the_database_and_reconciles_once(
    populated: Cli, runtime_of: Any
) -> None:
    number = populated.json("declaration", "lodge", str(EXAMPLE), "--as", "broker")["number"]
    populated.run("user", "add", "--role", "gate", "--name", "gate", "--office", "2248")
    rt = runtime_of(populated)
    with rt.write() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        rel_number = service.issue(s, declaration=decl, actor=Actor.system("clearance"), now=NOW).number
    rt.pump()  # the server's relay: the release message reaches the gate feed
    rt.stop()
    synced = populated.json("gate", "sync")
    assert synced == {"releases": 1, "reconciled": 0, "conflicts": []}

    passed = check(populated, "--container", BOX, "--seal", SEAL, expect=0)
    assert (passed["decision"], passed["offline"], passed["release"]["number"]) == ("pass", False, rel_number)
    assert [r["code"] for r in check(populated, "--container", BOX, expect=1)["reasons"]] == ["GATE-CHK-005"]
    bad = populated.run("gate", "check", "--as", "gate", "--seal", SEAL, expect=2)
    assert "GATE-REQ-001" in bad.stderr

    # The database file goes away (a directory stands in its place): the gate decides from its local copy.
    away = populated.home / "away"
    away.mkdir()
    for f in populated.home.glob("smartcustoms.db*"):
        shutil.move(f, away / f.name)
    populated.db.mkdir()
    offline = check(populated, "--container", OTHER_BOX, "--seal", "ML-CN4471209", expect=0)
    assert (offline["decision"], offline["offline"], offline["release"]["number"]) == ("pass", True, rel_number)
    assert offline["ref"].startswith("off-")
    again = check(populated, "--container", OTHER_BOX, expect=1)
    assert [r["code"] for r in again["reasons"]] == ["GATE-CHK-005", "GATE-OFF-001"]
    gone = check(populated, "--container", BOX, expect=1)  # left online before the outage: the copy knows
    assert [r["code"] for r in gone["reasons"]] == ["GATE-CHK-005", "GATE-OFF-001"]
    unknown = check(populated, "--container", "CSQU3054383", expect=1)
    assert [r["code"] for r in unknown["reasons"]] == ["GATE-CHK-001", "GATE-OFF-001"]
    assert populated.run("gate", "sync", expect=2).returncode == 2  # nothing to reconcile into yet

    # The database is back: the offline checks are reconciled once; the container that left offline stays out.
    populated.db.rmdir()
    for f in away.iterdir():
        shutil.move(f, populated.home / f.name)
    assert populated.json("gate", "sync") == {"releases": 0, "reconciled": 4, "conflicts": []}
    assert populated.json("gate", "sync") == {"releases": 0, "reconciled": 0, "conflicts": []}
    assert [r["code"] for r in check(populated, "--container", OTHER_BOX, expect=1)["reasons"]] == ["GATE-CHK-005"]
    rt = runtime_of(populated)
    with rt.read() as s:
        exits = s.execute(select(GateExit.container, GateExit.offline).order_by(GateExit.id)).all()
        offline_checks = s.scalar(select(func.count()).select_from(GateCheck).where(GateCheck.offline.is_(True)))
    assert [tuple(e) for e in exits] == [(BOX, False), (OTHER_BOX, True)]
    assert offline_checks == 4
