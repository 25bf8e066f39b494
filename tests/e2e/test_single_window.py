"""The single window over HTTP: lodge, retry, refuse, follow, amend, withdraw, on each database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.declaration.models import Declaration, DeclarationEvent, RejectedSubmission
from smartcustoms.risk.selectivity.models import Assessment
from smartcustoms.runtime import Runtime
from tests.conftest import BROKER, IMPORTER, World, example

API = "/api/v1/declarations"


def _count(rt: Runtime, model: Any) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_lodging_the_example_answers_202_with_an_18_character_number(client: TestClient, world: World) -> None:
    r = client.post(API, json=example(), headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    body = r.json()
    # risk-assessed and routed in the same transaction: no risk here, so green and released at once
    assert (body["status"], body["assessment"]["lane"]) == ("released", "green")
    assert set(body["assessment"]) == {"lane", "check", "message"}
    assert body["client_reference"] == "SHIMP-2026-000123"
    assert len(body["number"]) == 18 and body["number"].startswith("22482026" + "1")
    assert body["advance"] is (date.fromisoformat(example()["transport"]["arrival_on"]) > datetime.now(UTC).date())
    assert r.headers["location"] == f"{API}/{body['number']}"


def test_retrying_with_the_same_reference_and_content_returns_the_first_answer(client: TestClient, world: World, rt: Runtime) -> None:
    first = client.post(API, json=example(), headers=world.headers("broker"))
    again = client.post(API, json=example(), headers=world.headers("broker"))
    assert again.status_code == 200
    assert again.json() == first.json()
    assert _count(rt, Declaration) == 1


def test_reusing_a_reference_for_other_content_is_refused_and_changes_nothing(client: TestClient, world: World, rt: Runtime) -> None:
    client.post(API, json=example(), headers=world.headers("broker"))
    events_before = _count(rt, DeclarationEvent)
    changed = example()
    changed["items"][0]["quantity"] = "1300"
    r = client.post(API, json=changed, headers=world.headers("broker"))
    assert r.status_code == 409
    assert r.json()["code"] == "client_reference_reused"
    assert r.json()["errors"][0]["pointer"] == "/client_reference"
    assert _count(rt, Declaration) == 1 and _count(rt, DeclarationEvent) == events_before


def test_a_rejected_declaration_stores_nothing_but_a_rejection_record(client: TestClient, world: World, rt: Runtime) -> None:
    bad = example()
    bad["items"][0]["hs_code"] = "12"
    bad["containers"][0]["number"] = "MSKU1234566"
    audit_before = _count(rt, AuditEntry)
    r = client.post(API, json=bad, headers=world.headers("broker"))
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_failed" and body["error"] == "Validation failed"
    assert {(e["code"], e["pointer"]) for e in body["errors"]} == {
        ("DEC-CTR-001", "/containers/0/number"),
        ("DEC-HS-001", "/items/0/hs_code"),
    }
    assert _count(rt, Declaration) == 0 and _count(rt, AuditEntry) == audit_before
    with rt.read() as s:
        rejected = s.scalars(select(RejectedSubmission)).all()
    assert [(x.client_reference, x.codes, x.problem_count) for x in rejected] == [("SHIMP-2026-000123", ["DEC-CTR-001", "DEC-HS-001"], 2)]


def test_a_nul_anywhere_in_a_declaration_is_the_same_clear_422_on_both_databases(client: TestClient, world: World, rt: Runtime) -> None:
    bad = example()
    bad["client_reference"] = "SHIMP-2026\x00-000123"
    bad["items"][2]["description"] = "Power\x00 banks"
    r = client.post(API, json=bad, headers=world.headers("broker"))
    assert r.status_code == 422, r.text
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [
        ("DEC-SCH-008", "/client_reference"),
        ("DEC-SCH-008", "/items/2/description"),
    ]
    assert _count(rt, Declaration) == 0
    with rt.read() as s:
        rejected = s.scalars(select(RejectedSubmission)).all()
    assert [(x.client_reference, x.codes) for x in rejected] == [("SHIMP-2026-000123", ["DEC-SCH-008"])]


def test_invalid_json_is_a_clear_422(client: TestClient, world: World) -> None:
    r = client.post(API, content=b"{not json", headers={**world.headers("broker"), "content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "code": "REQ-JSON-001",
            "pointer": "",
            "message": "The body is not valid JSON: Expecting property name enclosed in double quotes (line 1 column 2).",
        }
    ]


def test_every_lodging_writes_events_and_journal_entries_in_the_same_transaction(client: TestClient, world: World, rt: Runtime) -> None:
    number = client.post(API, json=example(), headers=world.headers("broker")).json()["number"]
    with rt.read() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == number).order_by(AuditEntry.id)).all()
        assessed = s.scalars(select(Assessment.declaration_version).where(Assessment.number == number)).all()
    assert list(actions) == [
        "declaration.lodged",
        "declaration.accepted",
        "declaration.assessed",
        "duty.assessed",
        "duty.guaranteed",
        "declaration.released",
        "release.issued",
    ]
    assert list(assessed) == [1]  # one risk assessment, of the version lodged
    detail = client.get(f"{API}/{number}", headers=world.headers("broker")).json()
    assert detail["status"] == "released"  # green: released in the lodging request
    assert [(e["event"], e["to_status"], e["actor_name"], e["actor_role"]) for e in detail["events"]] == [
        ("declaration.lodged", "lodged", "broker", "enterprise"),
        ("declaration.accepted", "accepted", "intake", "system"),
        ("declaration.assessed", "assessed", "selectivity", "system"),
        ("declaration.released", "released", "clearance", "system"),
    ]


def test_an_enterprise_sees_its_own_declarations_and_gets_404_for_others(client: TestClient, world: World) -> None:
    number = client.post(API, json=example(), headers=world.headers("broker")).json()["number"]
    assert client.get(f"{API}/{number}", headers=world.headers("broker")).status_code == 200
    assert client.get(f"{API}/{number}", headers=world.headers("importer")).status_code == 200
    other = client.get(f"{API}/{number}", headers=world.headers("other"))
    missing = client.get(f"{API}/224820269999999999", headers=world.headers("other"))
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"].replace(number, "N") == missing.json()["detail"].replace("224820269999999999", "N")
    assert client.get(API, headers=world.headers("other")).json()["total"] == 0
    assert client.get(API, headers=world.headers("importer")).json()["total"] == 1


@pytest.mark.usefixtures("under_review")  # the review task is the office officer's; not released at once
def test_officers_see_their_office_and_roles_without_access_are_refused(client: TestClient, world: World) -> None:
    number = client.post(API, json=example(), headers=world.headers("broker")).json()["number"]
    assert client.get(f"{API}/{number}", headers=world.headers("officer")).status_code == 200  # holds its review task
    assert client.get(f"{API}/{number}", headers=world.headers("officer_tianjin")).status_code == 404
    assert client.get(f"{API}/{number}", headers=world.headers("analyst")).status_code == 200
    assert client.get(f"{API}/{number}", headers=world.headers("gate")).status_code == 403
    assert client.post(API, json=example(), headers=world.headers("officer")).status_code == 403


def test_requests_without_valid_credentials_get_401(client: TestClient, world: World) -> None:
    assert client.get(API).status_code == 401
    r = client.get(API, headers={"Authorization": "Bearer sc_nope"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_submitter_must_be_declarant_or_trader(client: TestClient, world: World) -> None:
    r = client.post(API, json=example(), headers=world.headers("other"))
    assert r.status_code == 422
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("DEC-PTY-003", "/declarant/uscc")]


@pytest.mark.usefixtures("under_review")  # the review task is the office officer's; not released at once
def test_amendments_are_versioned_and_every_version_is_kept(client: TestClient, world: World) -> None:
    number = client.post(API, json=example(), headers=world.headers("broker")).json()["number"]
    items = example()["items"]
    items[0]["quantity"] = "1250"
    r = client.post(
        f"{API}/{number}/amendments",
        json={"reason": "Supplier shipped 50 more", "patch": {"items": items}},
        headers=world.headers("broker"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["declaration"]["items"][0]["quantity"] == "1250"
    r = client.patch(
        f"{API}/{number}", json={"reason": "Freight corrected", "patch": {"freight": "2500.00"}}, headers=world.headers("broker")
    )
    assert r.status_code == 200 and r.json()["version"] == 3
    versions = client.get(f"{API}/{number}/versions", headers=world.headers("broker")).json()
    assert [(v["version"], v["reason"]) for v in versions] == [(1, None), (2, "Supplier shipped 50 more"), (3, "Freight corrected")]
    v1 = client.get(f"{API}/{number}/versions/1", headers=world.headers("broker")).json()
    assert v1["payload"]["items"][0]["quantity"] == "1200"
    assert client.get(f"{API}/{number}/versions/1", headers=world.headers("other")).status_code == 404


@pytest.mark.usefixtures("under_review")  # the review task is the office officer's; not released at once
def test_an_invalid_amendment_is_refused_with_every_problem_and_changes_nothing(client: TestClient, world: World) -> None:
    number = client.post(API, json=example(), headers=world.headers("broker")).json()["number"]
    r = client.post(
        f"{API}/{number}/amendments",
        json={"reason": "oops", "patch": {"currency": "XXQ", "client_reference": "NEW", "office": "0000"}},
        headers=world.headers("broker"),
    )
    assert r.status_code == 422
    assert {e["code"] for e in r.json()["errors"]} == {"DEC-AMD-001"}
    r = client.post(
        f"{API}/{number}/amendments",
        json={"reason": "oops", "patch": {"currency": "XXQ", "office": "0000"}},
        headers=world.headers("broker"),
    )
    assert {(e["code"], e["pointer"]) for e in r.json()["errors"]} == {("DEC-REF-002", "/currency"), ("DEC-REF-005", "/office")}
    assert client.get(f"{API}/{number}", headers=world.headers("broker")).json()["version"] == 1


@pytest.mark.usefixtures("under_review")  # the review task is the office officer's; not released at once
def test_withdrawal_is_final_and_a_second_one_is_an_illegal_transition(client: TestClient, world: World, rt: Runtime) -> None:
    number = client.post(API, json=example(), headers=world.headers("broker")).json()["number"]
    r = client.post(f"{API}/{number}/withdrawal", json={"reason": "Declared under the wrong procedure"}, headers=world.headers("broker"))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    events = _count(rt, DeclarationEvent)
    again = client.post(f"{API}/{number}/withdrawal", json={"reason": "again"}, headers=world.headers("broker"))
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    amend = client.post(
        f"{API}/{number}/amendments", json={"reason": "late", "patch": {"freight": "1.00"}}, headers=world.headers("broker")
    )
    assert amend.status_code == 409 and amend.json()["code"] == "not_amendable"
    assert _count(rt, DeclarationEvent) == events


@pytest.mark.usefixtures("under_review")  # the review task is the office officer's; not released at once
def test_listing_filters_by_status_and_pages(client: TestClient, world: World) -> None:
    numbers = []
    for i in range(3):
        d = example()
        d["client_reference"] = f"REF-{i}"
        numbers.append(client.post(API, json=d, headers=world.headers("broker")).json()["number"])
    client.post(f"{API}/{numbers[0]}/withdrawal", json={"reason": "not needed"}, headers=world.headers("broker"))
    page = client.get(API, params={"status": "under_review", "limit": 1}, headers=world.headers("broker")).json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["number"] == numbers[2]
    second = client.get(API, params={"status": "under_review", "limit": 1, "offset": 1}, headers=world.headers("broker")).json()
    assert second["total"] == 2 and [d["number"] for d in second["items"]] == [numbers[1]]
    for passed in ("accepted", "assessed"):  # assessed and routed at once
        assert client.get(API, params={"status": passed}, headers=world.headers("broker")).json()["total"] == 0
    assert client.get(API, params={"status": "withdrawn"}, headers=world.headers("broker")).json()["items"][0]["number"] == numbers[0]
    bad = client.get(API, params={"status": "teleported"}, headers=world.headers("broker"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/query/status"


@pytest.mark.usefixtures("under_review")  # the review task is the office officer's; not released at once
def test_notifications_follow_status_changes_in_order_and_resume_from_a_cursor(client: TestClient, world: World, rt: Runtime) -> None:
    number = client.post(API, json=example(), headers=world.headers("broker")).json()["number"]
    client.post(f"{API}/{number}/withdrawal", json={"reason": "not needed"}, headers=world.headers("broker"))
    rt.pump()
    feed = client.get("/api/v1/notifications", headers=world.headers("importer")).json()
    assert [(n["number"], n["event"]) for n in feed["items"]] == [
        (number, "declaration.lodged"),
        (number, "declaration.accepted"),
        (number, "declaration.assessed"),
        (number, "declaration.under_review"),
        (number, "declaration.withdrawn"),
    ]
    rest = client.get("/api/v1/notifications", params={"after": feed["items"][0]["id"]}, headers=world.headers("importer")).json()
    assert [n["event"] for n in rest["items"]] == [
        "declaration.accepted",
        "declaration.assessed",
        "declaration.under_review",
        "declaration.withdrawn",
    ]
    assert (
        client.get("/api/v1/notifications", params={"after": feed["next_cursor"]}, headers=world.headers("importer")).json()["items"] == []
    )
    assert client.get("/api/v1/notifications", headers=world.headers("other")).json()["items"] == []
    assert client.get("/api/v1/notifications", headers=world.headers("officer")).status_code == 403


def test_openapi_describes_every_route_and_the_declaration_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/api/v1/declarations",
        "/api/v1/declarations/{number}",
        "/api/v1/declarations/{number}/amendments",
        "/api/v1/declarations/{number}/withdrawal",
        "/api/v1/declarations/{number}/documents",
        "/api/v1/notifications",
        "/api/v1/webhooks",
    } <= set(spec["paths"])
    body = spec["paths"]["/api/v1/declarations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"] == "#/components/schemas/DeclarationCreate"
    assert "items" in spec["components"]["schemas"]["DeclarationCreate"]["properties"]
    assert spec["paths"]["/api/v1/declarations"]["post"]["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert client.get("/docs").status_code == 200


_ = (BROKER, IMPORTER)


def test_rejection_statistics_count_each_rule_for_officials_only(client: TestClient, world: World) -> None:
    bad = example()
    bad["items"][0]["hs_code"] = "12"
    client.post(API, json=bad, headers=world.headers("broker"))
    bad["currency"] = "XXQ"
    client.post(API, json=bad, headers=world.headers("broker"))
    stats = client.get(f"{API}/statistics/rejections", headers=world.headers("analyst")).json()
    assert stats["total"] == 2
    assert stats["by_code"] == {"DEC-HS-001": 2, "DEC-REF-002": 1}
    assert client.get(f"{API}/statistics/rejections", headers=world.headers("broker")).status_code == 403


@pytest.mark.usefixtures("under_review")  # the review task is the office officer's; not released at once
def test_an_officer_holds_or_rejects_with_a_reason_and_cannot_release_by_hand(client: TestClient, world: World, rt: Runtime) -> None:
    number = client.post(API, json=example(), headers=world.headers("broker")).json()["number"]
    events = _count(rt, DeclarationEvent)
    r = client.post(f"{API}/{number}/decisions", json={"to": "released", "reason": "looks fine"}, headers=world.headers("officer"))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "DEC-DCS-001"
    assert (
        client.post(
            f"{API}/{number}/decisions", json={"to": "held", "reason": "wants it held"}, headers=world.headers("broker")
        ).status_code
        == 403
    )
    assert _count(rt, DeclarationEvent) == events
    r = client.post(
        f"{API}/{number}/decisions", json={"to": "held", "reason": "Origin certificate to be verified"}, headers=world.headers("officer")
    )
    assert r.status_code == 200 and r.json()["status"] == "held"
    assert r.json()["events"][-1]["reason"] == "Origin certificate to be verified"
    r = client.post(f"{API}/{number}/decisions", json={"to": "held", "reason": "again"}, headers=world.headers("officer"))
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
