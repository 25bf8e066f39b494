"""Migration 0016 gives releases made before the gate existed their release lines, so the gate can pass their containers."""

from __future__ import annotations

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select

from smartcustoms import schema
from smartcustoms.release.models import ReleaseContainer
from smartcustoms.runtime import Runtime
from tests.conftest import World
from tests.e2e.test_release_api import released


def _lines(rt: Runtime) -> set[tuple[object, ...]]:
    with rt.read() as s:
        return {
            (r.release_number, r.declaration_number, r.office, r.released_at, r.container, r.plate, tuple(r.seals))
            for r in s.scalars(select(ReleaseContainer))
        }


def test_upgrading_fills_the_release_lines_of_existing_releases(client: TestClient, world: World, rt: Runtime) -> None:
    number, rel_number, _ = released(client, rt, world)
    issued = _lines(rt)
    assert {(n, d, o, c, seals) for n, d, o, _, c, _, seals in issued} == {
        (rel_number, number, "2248", "MSKU1234565", ("ML-CN4471208",)),
        (rel_number, number, "2248", "TGHU9876542", ("ML-CN4471209",)),
    }
    cfg = schema.alembic_config(rt.engine)
    command.downgrade(cfg, "0012")  # as before the gate: its tables and the release lines gone
    command.upgrade(cfg, "heads")
    assert _lines(rt) == issued
    r = client.post("/api/v1/gate/checks", json={"container": "MSKU1234565", "seal": "ML-CN4471208"}, headers=world.headers("gate"))
    assert r.json()["decision"] == "pass", r.text
