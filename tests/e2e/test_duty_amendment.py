"""Amending a declaration that waits for its duties (`duty_assessed`): the new version is scored and
routed like a fresh assessment, its duties reassessed; a refused amendment changes nothing (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.clearance import settings
from smartcustoms.declaration.models import Declaration, DeclarationEvent
from smartcustoms.duty.models import DutyAssessment
from smartcustoms.roster import service as roster
from smartcustoms.runtime import Runtime
from smartcustoms.task.models import Task, TaskStatus
from tests.conftest import NOW, OPERATOR, World, example
from tests.e2e.helpers import red_lane
from tests.e2e.inspection_helpers import API, staff
from tests.e2e.test_duty_release import TOTAL, bank

__all__ = ["bank"]  # the bank user's fixture

WATCHED = example()["consignor"]["name"]  # the watch list's consignor: the rule routes it to the lane under test


def routed(rt: Runtime, world: World, lane: str) -> None:
    """Inspectors and the officer on the roster; a declaration whose consignor is watch-listed goes to `lane`."""
    staff(rt, world)
    red_lane(rt, world, lane)
    with rt.write() as s:
        roster.set_officer(s, name="officer", capacity=1000, actor=OPERATOR, now=NOW)


def lodge_green(client: TestClient, world: World) -> str:
    """Lodge the example from a consignor nobody watches: green, and without a guarantee it waits for its duties."""
    body = example()
    body["consignor"]["name"] = "Unremarkable Export Co"
    r = client.post(f"{API}/declarations", json=body, headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    assert (r.json()["assessment"]["lane"], r.json()["status"]) == ("green", "duty_assessed")
    return str(r.json()["number"])


def amend(
    client: TestClient, world: World, number: str, patch: dict[str, Any], reason: str = "The consignor's name as invoiced."
) -> Response:
    return client.post(f"{API}/declarations/{number}/amendments", json={"patch": patch, "reason": reason}, headers=world.headers("broker"))


def open_checks(rt: Runtime, number: str) -> list[tuple[str, str]]:
    with rt.read() as s:
        decl = s.scalars(select(Declaration).where(Declaration.number == number)).one()
        rows = s.scalars(select(Task).where(Task.declaration_id == decl.id).order_by(Task.id)).all()
        return [(t.kind.value, t.status.value) for t in rows if t.status is not TaskStatus.done]


def reassessments(client: TestClient, world: World, number: str) -> list[tuple[str, int]]:
    duties = client.get(f"{API}/declarations/{number}/duties", headers=world.headers("broker")).json()
    return [(r["source"], r["version"]) for r in duties["reassessments"]]


def test_an_amendment_rescored_yellow_before_payment_goes_to_review_then_waits_for_the_bank(
    rt: Runtime, client: TestClient, world: World, no_guarantees: None, bank: dict[str, str]
) -> None:
    routed(rt, world, "yellow")
    number = lodge_green(client, world)
    r = amend(client, world, number, {"consignor": {"name": WATCHED}})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["version"]) == ("under_review", 2)
    assert [k for k, _ in open_checks(rt, number)] == ["review"]
    assert reassessments(client, world, number) == [("amendment", 2)]  # the duties of version 2, recorded as today
    [review] = [t for t in client.get(f"{API}/tasks", headers=world.headers("officer")).json()["items"] if t["declaration"] == number]
    r = client.post(
        f"{API}/tasks/{review['id']}/decision", json={"decision": "accept", "reason": "In order."}, headers=world.headers("officer")
    )
    assert r.status_code == 200, r.text
    read = client.get(f"{API}/declarations/{number}", headers=world.headers("broker")).json()
    assert (read["status"], [c["code"] for c in read["release_conditions"]]) == ("duty_assessed", ["duty_unpaid"])
    r = client.post("/api/v1/payments", json={"declaration": number, "amount": TOTAL, "reference": "BOC-AMD-1"}, headers=bank)
    assert r.status_code == 201, r.text
    assert client.get(f"{API}/declarations/{number}", headers=world.headers("broker")).json()["status"] == "released"


@pytest.mark.parametrize(("review_first", "status", "kind"), [(False, "under_inspection", "inspection"), (True, "under_review", "review")])
def test_an_amendment_rescored_red_before_payment_goes_to_the_office_s_first_check(
    rt: Runtime, client: TestClient, world: World, no_guarantees: None, review_first: bool, status: str, kind: str
) -> None:
    routed(rt, world, "red")
    with rt.write() as s:
        settings.set_review_first(s, office="2248", on=review_first, actor=OPERATOR, now=NOW)
    number = lodge_green(client, world)
    r = amend(client, world, number, {"consignor": {"name": WATCHED}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == status
    assert [k for k, _ in open_checks(rt, number)] == [kind]


def test_an_amendment_after_a_passed_review_is_reviewed_again(rt: Runtime, client: TestClient, world: World, no_guarantees: None) -> None:
    routed(rt, world, "yellow")
    r = client.post(f"{API}/declarations", json=example(), headers=world.headers("broker"))
    number = r.json()["number"]
    [review] = [t for t in client.get(f"{API}/tasks", headers=world.headers("officer")).json()["items"] if t["declaration"] == number]
    r = client.post(
        f"{API}/tasks/{review['id']}/decision", json={"decision": "accept", "reason": "In order."}, headers=world.headers("officer")
    )
    assert r.status_code == 200, r.text
    assert client.get(f"{API}/declarations/{number}", headers=world.headers("broker")).json()["status"] == "duty_assessed"
    items = example()["items"]
    items[1]["value"] = "9000.00"  # the reviewed version's content is not this one's
    r = amend(client, world, number, {"items": items}, reason="The battery packs' final invoice.")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "under_review"
    assert open_checks(rt, number) in ([("review", "open")], [("review", "waiting")])


def test_an_amendment_rescored_green_stays_waiting_for_the_duties_recomputed(
    rt: Runtime, client: TestClient, world: World, no_guarantees: None
) -> None:
    routed(rt, world, "yellow")
    number = lodge_green(client, world)
    items = example()["items"]
    items[2]["value"] = "480.00"
    r = amend(client, world, number, {"items": items}, reason="Manuals invoiced at 480.00.")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "duty_assessed" and open_checks(rt, number) == []
    read = client.get(f"{API}/declarations/{number}", headers=world.headers("broker")).json()
    assert [c["code"] for c in read["release_conditions"]] == ["duty_unpaid"]
    assert TOTAL not in read["release_conditions"][0]["message"]  # the new version's duties
    assert reassessments(client, world, number) == [("amendment", 2)]


def snapshot(rt: Runtime, number: str) -> tuple[Any, ...]:
    with rt.read() as s:
        decl = s.scalars(select(Declaration).where(Declaration.number == number)).one()
        return (
            decl.status,
            decl.version,
            decl.content_sha256,
            s.scalar(select(func.count()).select_from(DeclarationEvent).where(DeclarationEvent.declaration_id == decl.id)),
            s.scalar(select(func.count()).select_from(AuditEntry)),
            s.scalar(select(func.count()).select_from(DutyAssessment).where(DutyAssessment.declaration_id == decl.id)),
            s.scalar(select(func.count()).select_from(Task).where(Task.declaration_id == decl.id)),
        )


def test_a_refused_amendment_of_a_declaration_waiting_for_its_duties_changes_nothing(
    rt: Runtime, client: TestClient, world: World, no_guarantees: None
) -> None:
    routed(rt, world, "yellow")
    number = lodge_green(client, world)
    before = snapshot(rt, number)
    r = amend(client, world, number, {"consignor": {"name": WATCHED}, "client_reference": "OTHER-REF"})
    assert (r.status_code, r.json()["errors"][0]["code"]) == (422, "DEC-AMD-001")
    r = amend(client, world, number, {"consignor": {"name": WATCHED}, "items": [{"line": 1}]})
    assert r.status_code == 422
    r = client.post(
        f"{API}/declarations/{number}/amendments",
        json={"patch": {"consignor": {"name": WATCHED}}, "reason": "by another"},
        headers=world.headers("importer"),
    )
    assert r.status_code == 403
    assert snapshot(rt, number) == before
    assert open_checks(rt, number) == []
