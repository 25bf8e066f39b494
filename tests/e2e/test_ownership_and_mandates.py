"""Who owns a declaration (fixed at lodging) and electronic mandates, over HTTP on each database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.declaration.models import Declaration
from smartcustoms.runtime import Runtime
from tests.conftest import BROKER, IMPORTER, OTHER, World, example

API = "/api/v1/declarations"
MANDATES = "/api/v1/mandates"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _codes(r: Any) -> list[tuple[str, str]]:
    return [(e["code"], e["pointer"]) for e in r.json()["errors"]]


def _lodge(client: TestClient, world: World, user: str = "broker", **changes: Any) -> Any:
    raw = example()
    raw.update(changes)
    return client.post(API, json=raw, headers=world.headers(user))


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _days(n: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=n)).isoformat()


# --- ownership ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("under_review")  # lodged for review: still amendable, not released at once
def test_the_importer_cannot_take_a_declaration_over_by_amending_the_declarant(client: TestClient, world: World, rt: Runtime) -> None:
    number = _lodge(client, world).json()["number"]
    takeover = {"reason": "switch broker", "patch": {"declarant": {"uscc": OTHER, "name": "x"}}}
    for user in ("importer", "broker"):
        r = client.patch(f"{API}/{number}", json=takeover, headers=world.headers(user))
        assert r.status_code in (403, 422), (user, r.text)
    r = client.patch(f"{API}/{number}", json=takeover, headers=world.headers("broker"))
    assert r.status_code == 422 and _codes(r) == [("DEC-AMD-004", "/declarant/uscc")]
    assert "withdraw" in r.json()["errors"][0]["message"]
    assert client.get(f"{API}/{number}", headers=world.headers("broker")).json()["version"] == 1
    assert client.get(f"{API}/{number}", headers=world.headers("other")).status_code == 404
    assert client.get(f"{API}/{number}/versions/1", headers=world.headers("other")).status_code == 404
    with rt.read() as s:
        decl = s.scalar(select(Declaration).where(Declaration.number == number))
        assert decl is not None and (decl.declarant_uscc, decl.trader_uscc) == (BROKER, IMPORTER)


@pytest.mark.usefixtures("under_review")  # lodged for review: still amendable, not released at once
def test_an_amendment_cannot_change_the_importer(client: TestClient, world: World) -> None:
    number = _lodge(client, world).json()["number"]
    r = client.patch(
        f"{API}/{number}",
        json={"reason": "other buyer", "patch": {"importer": {"uscc": OTHER, "name": "x"}}},
        headers=world.headers("broker"),
    )
    assert r.status_code == 422 and _codes(r) == [("DEC-AMD-004", "/importer/uscc")]
    assert client.get(f"{API}/{number}", headers=world.headers("other")).status_code == 404
    assert client.get(API, headers=world.headers("other")).json()["total"] == 0


@pytest.mark.usefixtures("under_review")  # lodged for review: still amendable, not released at once
def test_the_importer_sees_but_only_the_declarant_amends_uploads_and_withdraws(client: TestClient, world: World, rt: Runtime) -> None:
    number = _lodge(client, world).json()["number"]
    assert client.get(f"{API}/{number}", headers=world.headers("importer")).status_code == 200
    assert client.get(f"{API}/{number}/versions", headers=world.headers("importer")).status_code == 200
    amend = client.post(
        f"{API}/{number}/amendments",
        json={"reason": "Freight corrected", "patch": {"freight": "2500.00"}},
        headers=world.headers("importer"),
    )
    upload = client.post(
        f"{API}/{number}/documents",
        data={"type": "invoice"},
        files={"file": ("inv.pdf", PDF, "application/pdf")},
        headers=world.headers("importer"),
    )
    withdraw = client.post(f"{API}/{number}/withdrawal", json={"reason": "not needed"}, headers=world.headers("importer"))
    assert [r.status_code for r in (amend, upload, withdraw)] == [403, 403, 403]
    assert all(r.json()["code"] == "forbidden" for r in (amend, upload, withdraw))
    detail = client.get(f"{API}/{number}", headers=world.headers("broker")).json()
    assert (detail["version"], detail["status"], detail["documents"]) == (1, "under_review", [])
    for r in (
        client.patch(f"{API}/{number}", json={"reason": "x-x", "patch": {"freight": "1.00"}}, headers=world.headers("other")),
        client.post(f"{API}/{number}/withdrawal", json={"reason": "not needed"}, headers=world.headers("other")),
    ):
        assert r.status_code == 404
    rt.pump()
    feed = client.get("/api/v1/notifications", headers=world.headers("importer")).json()["items"]
    assert {n["number"] for n in feed} == {number}
    assert client.get("/api/v1/notifications", headers=world.headers("other")).json()["items"] == []


def test_the_lodging_enterprise_must_be_the_declarant(client: TestClient, world: World) -> None:
    raw = example()
    raw["declarant"] = {"uscc": BROKER, "name": "Shanghai Harbour Brokerage"}
    raw["importer"] = {"uscc": IMPORTER, "name": "Tianjin Binhai"}
    r = client.post(API, json=raw, headers=world.headers("importer"))  # the importer naming the broker as declarant
    assert r.status_code == 422 and _codes(r) == [("DEC-PTY-003", "/declarant/uscc")]


def test_an_enterprise_lodging_for_itself_needs_no_mandate(client: TestClient, world: World) -> None:
    raw = example()
    raw["declarant"] = raw["importer"] = {"uscc": OTHER, "name": "Shenzhen Other Trading"}
    r = client.post(API, json=raw, headers=world.headers("other"))
    assert r.status_code == 202, r.text
    number = r.json()["number"]
    assert client.get(f"{API}/{number}", headers=world.headers("broker")).status_code == 404
    assert client.get(f"{API}/{number}", headers=world.headers("importer")).status_code == 404


def test_lodging_for_an_importer_needs_its_mandate_in_force(client: TestClient, world: World) -> None:
    r = _lodge(client, world, importer={"uscc": OTHER, "name": "Shenzhen Other Trading"})
    assert r.status_code == 422 and _codes(r) == [("DEC-MND-002", "/importer/uscc")]
    unregistered = "91110000100000000" + "0"
    from stdnum.cn import uscc

    unregistered = unregistered[:17] + uscc.calc_check_digit(unregistered[:17])
    r = _lodge(client, world, importer={"uscc": unregistered, "name": "Nobody"})
    assert r.status_code == 422 and _codes(r) == [("DEC-MND-001", "/importer/uscc")]
    # OTHER grants the broker a mandate restricted to bonded goods at office 0202 from tomorrow
    body = {"broker": BROKER, "valid_from": _days(1), "procedures": ["bonded"], "offices": ["0202"]}
    granted = client.post(MANDATES, json=body, headers=world.headers("other"))
    assert granted.status_code == 201, granted.text
    assert granted.json()["status"] == "pending"
    r = _lodge(client, world, importer={"uscc": OTHER, "name": "x"}, client_reference="M-1")
    assert _codes(r) == [("DEC-MND-002", "/importer/uscc")]  # not yet in force
    general = client.post(MANDATES, json={"broker": BROKER, "valid_from": _today(), "valid_to": _days(30)}, headers=world.headers("other"))
    assert general.status_code == 201 and general.json()["status"] == "in_force"
    r = _lodge(client, world, importer={"uscc": OTHER, "name": "x"}, client_reference="M-2")
    assert r.status_code == 202, r.text
    revoked = client.post(
        f"{MANDATES}/{general.json()['id']}/revocation", json={"reason": "Broker changed"}, headers=world.headers("other")
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    r = _lodge(client, world, importer={"uscc": OTHER, "name": "x"}, client_reference="M-3")
    assert _codes(r) == [("DEC-MND-002", "/importer/uscc")]


@pytest.mark.usefixtures("under_review")  # lodged for review: still amendable, not released at once
def test_a_mandate_restricted_to_procedures_and_offices_covers_only_those(client: TestClient, world: World) -> None:
    body = {"broker": BROKER, "valid_from": _today(), "procedures": ["general"], "offices": ["5316"]}
    assert client.post(MANDATES, json=body, headers=world.headers("other")).status_code == 201
    at_2248 = _lodge(client, world, importer={"uscc": OTHER, "name": "x"}, client_reference="R-1")
    assert _codes(at_2248) == [("DEC-MND-002", "/importer/uscc")]
    at_5316 = _lodge(client, world, importer={"uscc": OTHER, "name": "x"}, client_reference="R-2", office="5316", port_of_entry="CNYTN")
    assert at_5316.status_code == 202, at_5316.text
    number = at_5316.json()["number"]
    moved = client.patch(f"{API}/{number}", json={"reason": "Wrong office", "patch": {"office": "2248"}}, headers=world.headers("broker"))
    assert moved.status_code == 422 and _codes(moved) == [("DEC-MND-002", "/importer/uscc")]


# --- the mandate API ----------------------------------------------------------------------------


def test_mandates_are_granted_by_the_importer_listed_for_both_parties_and_revoked_only_by_it(
    client: TestClient, world: World, rt: Runtime
) -> None:
    body = {"broker": BROKER, "valid_from": _today(), "valid_to": _days(90), "procedures": ["general", "bonded"]}
    r = client.post(MANDATES, json=body, headers=world.headers("other"))
    assert r.status_code == 201, r.text
    m = r.json()
    assert (m["importer"], m["broker"], m["procedures"], m["offices"], m["granted_by"]) == (
        OTHER,
        BROKER,
        ["bonded", "general"],
        None,
        "other",
    )
    mid = m["id"]
    granted = [x["id"] for x in client.get(MANDATES, headers=world.headers("other")).json()]
    received = [x["id"] for x in client.get(MANDATES, headers=world.headers("broker")).json()]
    theirs = [x["id"] for x in client.get(MANDATES, headers=world.headers("importer")).json()]
    assert mid in granted and mid in received and mid not in theirs
    assert {x["importer"] for x in client.get(MANDATES, headers=world.headers("admin")).json()} == {IMPORTER, OTHER}
    assert client.get(f"{MANDATES}/{mid}", headers=world.headers("broker")).status_code == 200
    assert client.get(f"{MANDATES}/{mid}", headers=world.headers("importer")).status_code == 404
    assert client.get(f"{MANDATES}/{mid}", headers=world.headers("officer")).status_code == 403
    assert client.post(f"{MANDATES}/{mid}/revocation", headers=world.headers("broker")).status_code == 403
    assert client.post(f"{MANDATES}/{mid}/revocation", headers=world.headers("importer")).status_code == 404
    assert client.post(MANDATES, json=body, headers=world.headers("officer")).status_code == 403
    done = client.post(f"{MANDATES}/{mid}/revocation", headers=world.headers("other"))
    assert done.status_code == 200 and done.json()["revoked_by"] == "other"
    again = client.post(f"{MANDATES}/{mid}/revocation", headers=world.headers("other"))
    assert again.status_code == 409 and again.json()["code"] == "mandate_revoked"
    with rt.read() as s:
        journal = s.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "mandate", AuditEntry.subject_id == str(mid))).all()
    assert list(journal) == ["mandate.granted", "mandate.revoked"]


def test_a_mandate_with_problems_is_refused_with_every_one(client: TestClient, world: World) -> None:
    body = {"broker": OTHER, "valid_from": _today(), "valid_to": _today(), "offices": ["2248", "9999"]}
    r = client.post(MANDATES, json=body, headers=world.headers("other"))
    assert r.status_code == 422
    assert _codes(r) == [("MND-GRT-002", "/broker"), ("MND-GRT-003", "/valid_to"), ("MND-GRT-004", "/offices/1")]
    r = client.post(MANDATES, json={"broker": "91310000MA1FL8XX28", "valid_from": _today()}, headers=world.headers("other"))
    assert _codes(r) == [("PTY-USCC-002", "/broker")]
    r = client.post(MANDATES, json={"broker": "91440300MA5DC7QK1" + "X", "valid_from": _today()}, headers=world.headers("other"))
    assert r.status_code == 422
    r = client.post(MANDATES, json={"broker": BROKER, "valid_from": _today(), "procedures": ["smuggling"]}, headers=world.headers("other"))
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/procedures/0"
