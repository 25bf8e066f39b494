"""Shared set-up of the inspection and X-ray tests: staff on the roster, a red-lane declaration, images."""

from __future__ import annotations

import struct
import zlib
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.declaration.models import Declaration
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.parameter import service as rules
from smartcustoms.risk.parameter.schemas import RuleCreate
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.roster import service as roster
from smartcustoms.runtime import Runtime
from smartcustoms.task.models import Task, TaskKind
from tests.conftest import NOW, OPERATOR, World, example

API = "/api/v1"
START = date(2026, 1, 1)
STAFF = (("insp_a", Role.inspector), ("insp_b", Role.inspector), ("xray_a", Role.image_analyst), ("scanner", Role.scanner))


def png(width: int = 8, height: int = 6) -> bytes:
    """A valid PNG of the given size."""

    def block(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + block(b"IHDR", ihdr) + block(b"IDAT", raw) + block(b"IEND", b"")


JPEG = b"\xff\xd8\xff\xe0" + struct.pack(">H", 4) + b"JF" + b"\xff\xc0" + struct.pack(">HBHH", 11, 8, 30, 40) + b"\x03" * 6 + b"\xff\xd9"


def staff(rt: Runtime, world: World) -> None:
    """Two inspectors, an image analyst (all on the roster of office 2248) and a scanner station; their tokens in `world`."""
    with rt.write() as s:
        for name, role in STAFF:
            _, world.tokens[name] = auth_service.add_user(s, name=name, role=role, office="2248", actor=OPERATOR, now=NOW)
            if role is not Role.scanner:
                roster.set_officer(s, name=name, chapters="01-97", capacity=5, duty="on", actor=OPERATOR, now=NOW)
    with rt.read() as s:
        for name, _ in STAFF:
            world.principals[name] = auth_service.authenticate_token(s, token=world.tokens[name])


def red_lane(rt: Runtime, world: World, lane: str = "red") -> None:
    """Every declaration from the example's consignor goes red (or `lane`); no random checks."""
    with rt.write() as s:
        selectivity.set_setting(
            s,
            office="*",
            red_rate=0.03,
            yellow_rate=0.07,
            random_rate=0.0,
            valid_from=START,
            reason="No random checks in this test.",
            actor=world.principals["analyst"].actor(),
            now=NOW,
        )
        knowledge.add_watch(
            s,
            list_name="intel",
            party_kind="consignor",
            identifier=example()["consignor"]["name"],
            reason="Seizures of counterfeit goods.",
            valid_from=START,
            valid_to=None,
            actor=world.principals["analyst"].actor(),
            now=NOW,
        )
        r = rules.propose(
            s,
            data=RuleCreate(
                valid_from=START,
                code="PRM-PTY-001",
                name="Watch-listed consignor",
                reason="The consignor is on the intelligence watch list.",
                instructions="Inspect against the invoice.",
                condition={"fact": "consignor_watchlisted", "op": "is", "value": True},
                lane=lane,
            ),
            principal=world.principals["analyst"],
            now=NOW,
        )
        rules.approve(s, code=r.code, version=r.version, note="Checked.", principal=world.principals["supervisor"], now=NOW)


def lodge(client: TestClient, world: World, body: dict[str, Any] | None = None) -> str:
    """Lodge as the broker; the declaration's number."""
    r = client.post(f"{API}/declarations", json=body or example(), headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    return str(r.json()["number"])


def task_of(rt: Runtime, number: str, kind: TaskKind) -> Task:
    """The newest task of a kind on a declaration."""
    with rt.read() as s:
        decl = s.scalar(select(Declaration).where(Declaration.number == number))
        assert decl is not None
        task = s.scalars(select(Task).where(Task.declaration_id == decl.id, Task.kind == kind).order_by(Task.id.desc())).first()
        assert task is not None, f"no {kind.value} task on {number}"
        s.expunge(task)
        return task


def holders(client: TestClient, world: World, task_id: int) -> list[str]:
    """The task's assignees, as the supervisor sees them."""
    r = client.get(f"{API}/tasks/{task_id}", headers=world.headers("supervisor"))
    assert r.status_code == 200, r.text
    return list(r.json()["assignees"])


def status_of(client: TestClient, world: World, number: str) -> str:
    """The declaration's status, as the analyst sees it."""
    return str(client.get(f"{API}/declarations/{number}", headers=world.headers("analyst")).json()["status"])
