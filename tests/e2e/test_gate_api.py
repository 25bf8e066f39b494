"""The port gate over HTTP on both databases: each hold reason, a pass once (also when raced), the journal, bad input, who may ask, the feed."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.adapters.bus import InProcessBus
from smartcustoms.audit.models import AuditEntry
from smartcustoms.audit.service import Actor
from smartcustoms.declaration import repository
from smartcustoms.gate.domain import Ask
from smartcustoms.gate.models import GateCheck, GateExit
from smartcustoms.inspection import service as inspection_service
from smartcustoms.kit.clock import utcnow
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, World
from tests.e2e.test_release_api import released

CHECKS = "/api/v1/gate/checks"
BOX, SEAL, OTHER_BOX = "MSKU1234565", "ML-CN4471208", "TGHU9876542"
UNKNOWN_BOX = "CSQU3054383"  # a valid ISO 6346 number no release names


def gate(client: TestClient, world: World, body: Any, who: str = "gate") -> Any:
    return client.post(CHECKS, json=body, headers=world.headers(who))


def codes(r: Any) -> list[str]:
    return [reason["code"] for reason in r.json()["reasons"]]


def counts(rt: Runtime) -> tuple[int, int, int]:
    """Gate-outs, gate checks and gate journal entries on record."""
    with rt.read() as s:
        exits = s.scalar(select(func.count()).select_from(GateExit)) or 0
        checks = s.scalar(select(func.count()).select_from(GateCheck)) or 0
        journal = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("gate.%"))) or 0
    return exits, checks, journal


def test_a_released_container_with_its_seal_passes_once_and_the_second_truck_is_held(client: TestClient, rt: Runtime, world: World) -> None:
    number, rel_number, _ = released(client, rt, world)
    r = gate(client, world, {"container": BOX, "seal": SEAL})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["decision"], body["reasons"], body["offline"]) == ("pass", [], False)
    assert {k: body["release"][k] for k in ("number", "declaration", "container", "seals")} == {
        "number": rel_number,
        "declaration": number,
        "container": BOX,
        "seals": [SEAL],
    }
    again = gate(client, world, {"container": BOX})
    assert (again.json()["decision"], codes(again)) == ("hold", ["GATE-CHK-005"])
    # the other container of the release still leaves, once, named by release number and container
    other = gate(client, world, {"release": rel_number, "container": OTHER_BOX})
    assert other.json()["decision"] == "pass", other.text
    assert counts(rt) == (2, 3, 3)
    with rt.read() as s:
        journal = s.execute(
            select(AuditEntry.action, AuditEntry.actor_name, AuditEntry.after).where(AuditEntry.subject_id == BOX).order_by(AuditEntry.id)
        ).all()
    gate_entries = [(a, who, after["decision"]) for a, who, after in journal if a.startswith("gate.")]
    assert gate_entries == [("gate.passed", "gate", "pass"), ("gate.held", "gate", "hold")]


def test_each_hold_reason_has_its_code(client: TestClient, rt: Runtime, world: World) -> None:
    _, rel_number, _ = released(client, rt, world)
    cases = [
        ({"container": UNKNOWN_BOX}, ["GATE-CHK-001"]),
        ({"release": "22482026R999999999"}, ["GATE-CHK-001"]),
        ({"release": rel_number, "container": UNKNOWN_BOX}, ["GATE-CHK-002"]),
        ({"container": BOX, "seal": "ML-CN0000000"}, ["GATE-CHK-003"]),
        ({"release": rel_number}, ["GATE-CHK-007"]),  # two containers: which one is on the truck?
    ]
    for body, expected in cases:
        r = gate(client, world, body)
        assert r.status_code == 200, r.text
        assert (r.json()["decision"], codes(r)) == ("hold", expected), body
    assert counts(rt) == (0, len(cases), len(cases))  # every check journaled, nothing left


def test_an_officers_hold_keeps_the_container_in_until_lifted(client: TestClient, rt: Runtime, world: World) -> None:
    released(client, rt, world)
    made = client.post("/api/v1/gate/holds", json={"container": BOX, "reason": "X-ray image to review"}, headers=world.headers("officer"))
    assert made.status_code == 201, made.text
    hold_id = made.json()["id"]
    assert made.json()["office"] == "2248"
    r = gate(client, world, {"container": BOX, "seal": SEAL})
    assert (r.json()["decision"], codes(r)) == ("hold", ["GATE-CHK-004"])
    assert "X-ray image to review" in r.json()["reasons"][0]["message"]
    # an officer of another office neither sees nor lifts it; the gate may not hold or lift
    assert client.delete(f"/api/v1/gate/holds/{hold_id}", headers=world.headers("officer_tianjin")).status_code == 404
    assert client.delete(f"/api/v1/gate/holds/{hold_id}", headers=world.headers("gate")).status_code == 403
    assert client.get("/api/v1/gate/holds", headers=world.headers("officer_tianjin")).json() == []
    lifted = client.delete(f"/api/v1/gate/holds/{hold_id}", headers=world.headers("officer"))
    assert lifted.status_code == 200 and lifted.json()["lifted_at"], lifted.text
    assert client.delete(f"/api/v1/gate/holds/{hold_id}", headers=world.headers("officer")).status_code == 404
    assert gate(client, world, {"container": BOX, "seal": SEAL}).json()["decision"] == "pass"
    with rt.read() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == BOX, AuditEntry.action.like("gate.%"))).all()
    assert list(actions) == ["gate.hold_placed", "gate.held", "gate.hold_lifted", "gate.passed"]


def test_a_check_with_nothing_to_check_by_or_bad_values_is_422_and_records_nothing(client: TestClient, rt: Runtime, world: World) -> None:
    released(client, rt, world)
    cases: list[tuple[Any, list[tuple[str, str]]]] = [
        ({}, [("GATE-REQ-001", "")]),
        ({"seal": SEAL}, [("GATE-REQ-001", "")]),
        ({"container": "   "}, [("GATE-REQ-001", "")]),
        ({"container": "BOX-1"}, [("GATE-REQ-002", "/container")]),
        ({"container": "MSKU1234566"}, [("GATE-REQ-003", "/container")]),
        ({"container": 12}, [("GATE-REQ-002", "/container")]),
        ({"release": "R1", "plate": "!"}, [("GATE-REQ-002", "/plate"), ("GATE-REQ-002", "/release")]),
        ({"container": BOX, "driver": "Li"}, [("REQ-002", "/driver")]),
        ([BOX], [("REQ-003", "")]),
    ]
    for body, expected in cases:
        r = gate(client, world, body)
        assert r.status_code == 422, (body, r.text)
        got = sorted((e["code"], e["pointer"]) for e in r.json()["errors"])
        assert got == sorted(expected), body
        assert all(e["message"] for e in r.json()["errors"])
    assert counts(rt) == (0, 0, 0)


def test_only_gate_users_check_and_read_the_feed(client: TestClient, rt: Runtime, world: World) -> None:
    released(client, rt, world)
    for who in ("broker", "importer", "officer", "inspector", "supervisor", "admin", "agency"):
        assert gate(client, world, {"container": BOX}, who).status_code == 403, who
        assert client.get("/api/v1/gate/feed", headers=world.headers(who)).status_code == 403, who
    assert client.post(CHECKS, json={"container": BOX}).status_code == 401
    assert counts(rt) == (0, 0, 0)


def test_concurrent_checks_of_one_container_let_exactly_one_truck_out(rt: Runtime, client: TestClient, world: World) -> None:
    released(client, rt, world)
    who = world.principals["gate"]
    results: list[str] = []
    barrier = threading.Barrier(6)

    def one() -> None:
        barrier.wait()
        done = rt.station.check(rt.write, ask=Ask(container=BOX, seal=SEAL), principal=who, now=utcnow())
        results.append(done.outcome.decision)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["hold"] * 5 + ["pass"]
    assert counts(rt) == (1, 6, 6)


def test_the_feed_pages_the_offices_releases_and_the_relay_pushes_them_on_the_offices_subject(
    client: TestClient, rt: Runtime, world: World
) -> None:
    _, rel_number, _ = released(client, rt, world)
    rt.pump()
    r = client.get("/api/v1/gate/feed", headers=world.headers("gate"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert [i["number"] for i in page["items"]] == [rel_number]
    item = page["items"][0]["release"]
    assert (item["containers"], item["seals"], item["office"]) == ([BOX, OTHER_BOX], {BOX: [SEAL], OTHER_BOX: ["ML-CN4471209"]}, "2248")
    after = client.get(f"/api/v1/gate/feed?after={page['next']}", headers=world.headers("gate")).json()
    assert after == {"items": [], "next": page["next"]}
    bus = rt.bus
    assert isinstance(bus, InProcessBus)
    pushed = [(subject, p["number"]) for subject, p, _ in bus.messages if subject.startswith("smartcustoms.gate.")]
    assert pushed == [("smartcustoms.gate.2248", rel_number)]
    bad = client.get("/api/v1/gate/feed?limit=0", headers=world.headers("gate"))
    assert bad.status_code == 422


def test_the_seal_an_inspector_recorded_passes_like_the_declared_one(client: TestClient, rt: Runtime, world: World) -> None:
    number, _, _ = released(client, rt, world)
    with rt.write() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        task = inspection_service.open_inspection(s, declaration=decl, actor=Actor.system("clearance"), now=NOW)
        steps = [dict(step) for step in task.steps]
        seal = next(step for step in steps if step["id"] == f"{BOX}.seal")
        seal["status"], seal["result"] = "done", {"found": "CUS-0000077", "declared": [SEAL], "matches": False, "condition": "intact"}
        task.steps = steps
    r = gate(client, world, {"container": BOX, "seal": "CUS-0000077"})
    assert (r.json()["decision"], codes(r)) == ("pass", []), r.text
    held = gate(client, world, {"container": OTHER_BOX, "seal": "CUS-0000077"})  # that seal was found on the other container
    assert (held.json()["decision"], codes(held)) == ("hold", ["GATE-CHK-003"])
