"""Tariff lookup, a declaration's duties, bank payments, guarantees and the duty release condition (both databases)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.declaration.repository import by_number
from smartcustoms.duty import payments
from smartcustoms.duty import service as duty_service
from smartcustoms.duty.models import DutyAccount, DutyAssessment, Guarantee, Payment
from smartcustoms.kit.clock import utcnow
from smartcustoms.runtime import Runtime
from tests.conftest import IMPORTER, NOW, OPERATOR, World, example

TOTAL = "227921.74"  # the canonical example under the sample tariff, worked out by hand (docs/duty.md)


@pytest.fixture
def bank(rt: Runtime, world: World, no_guarantees: None) -> dict[str, str]:
    """A bank system user's Authorization header (the world's sample tariff; no guarantees: duties must be paid)."""
    with rt.write() as s:
        _, token = auth_service.add_user(s, name="bank", role=Role.bank, actor=OPERATOR, now=NOW)
    return {"Authorization": f"Bearer {token}"}


def lodge(client: TestClient, world: World, ref: str = "SHIMP-2026-000123") -> str:
    body = example()
    body["client_reference"] = ref
    r = client.post("/api/v1/declarations", json=body, headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    number: str = r.json()["number"]
    return number


def test_the_canonical_example_is_assessed_item_by_item(client: TestClient, world: World, bank: dict[str, str]) -> None:
    number = lodge(client, world)
    r = client.get(f"/api/v1/declarations/{number}/duties", headers=world.headers("importer"))
    assert r.status_code == 200, r.text
    body = r.json()
    # FOB: freight 2400.00 + insurance 185.50 USD allocated by value; USD at 7.12; VN without a certificate of origin
    assert body["items"] == [
        {"line": 1, "customs_value": "1554895.29", "rate_kind": "mfn", "duty": "0.00", "consumption_tax": "0.00", "vat": "202136.39"},
        {
            "line": 2,
            "customs_value": "129574.61",
            "rate_kind": "provisional",
            "duty": "7774.48",
            "consumption_tax": "0.00",
            "vat": "17855.38",
        },
        {"line": 3, "customs_value": "1727.66", "rate_kind": "mfn", "duty": "0.00", "consumption_tax": "0.00", "vat": "155.49"},
    ]
    assert body["totals"] == {"duty": "7774.48", "consumption_tax": "0.00", "vat": "220147.26", "total": TOTAL}
    assert (body["currency"], body["status"], body["waived"]) == ("CNY", "unpaid", [])
    assert client.get(f"/api/v1/declarations/{number}/duties", headers=world.headers("other")).status_code == 404
    assert client.get(f"/api/v1/declarations/{number}/duties", headers=bank).status_code == 403


def test_a_certificate_of_origin_takes_the_agreement_rate(client: TestClient, world: World, bank: dict[str, str]) -> None:
    body = example()
    body["documents"].append({"type": "certificate_of_origin", "reference": "E2611VN00001", "issued_on": "2026-11-10"})
    number = client.post("/api/v1/declarations", json=body, headers=world.headers("broker")).json()["number"]
    items = client.get(f"/api/v1/declarations/{number}/duties", headers=world.headers("broker")).json()["items"]
    assert [(i["rate_kind"], i["duty"]) for i in items] == [("mfn", "0.00"), ("preferential", "0.00"), ("mfn", "0.00")]


def test_a_bank_pays_exactly_what_is_due_once(rt: Runtime, client: TestClient, world: World, bank: dict[str, str]) -> None:
    number = lodge(client, world)
    pay = {"declaration": number, "amount": "100.00", "reference": "BOC-0001"}
    r = client.post("/api/v1/payments", json=pay, headers=bank)
    assert (r.status_code, r.json()["code"], r.json()["errors"][0]["pointer"]) == (422, "amount_mismatch", "/amount")
    assert client.post("/api/v1/payments", json={**pay, "amount": TOTAL}, headers=world.headers("broker")).status_code == 403
    r = client.post("/api/v1/payments", json={**pay, "declaration": "224820261000999999", "amount": TOTAL}, headers=bank)
    assert (r.status_code, r.json()["code"]) == (404, "declaration_not_found")
    r = client.post("/api/v1/payments", json={**pay, "amount": TOTAL, "payer": world.principals["other"].enterprise_uscc}, headers=bank)
    assert (r.status_code, r.json()["code"]) == (422, "payer_mismatch")
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 0
    r = client.post("/api/v1/payments", json={**pay, "amount": TOTAL, "payer": IMPORTER}, headers=bank)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "paid"
    again = client.post("/api/v1/payments", json={**pay, "amount": TOTAL}, headers=bank)
    assert (again.status_code, again.json()["reference"]) == (200, "BOC-0001")
    other = client.post("/api/v1/payments", json={**pay, "amount": TOTAL, "reference": "BOC-0002"}, headers=bank)
    assert (other.status_code, other.json()["code"]) == (409, "nothing_to_pay")
    assert client.get(f"/api/v1/declarations/{number}/duties", headers=world.headers("importer")).json()["status"] == "paid"
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 1
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == number)))
    assert "duty.assessed" in actions and actions.count("duty.paid") == 1


def test_a_guarantee_secures_the_release_and_a_payment_restores_it(
    rt: Runtime, client: TestClient, world: World, bank: dict[str, str]
) -> None:
    number = lodge(client, world)
    with rt.write() as s:
        decl = by_number(s, number=number)
        assert decl is not None
        unmet = duty_service.release_condition(s, decl, now=utcnow())
    assert [u.code for u in unmet] == ["duty_unpaid"]
    r = client.post("/api/v1/guarantees", json={"uscc": IMPORTER, "amount": "300000.00"}, headers=world.headers("admin"))
    assert r.status_code == 201, r.text
    assert (
        client.post("/api/v1/guarantees", json={"uscc": IMPORTER, "amount": "1.00"}, headers=world.headers("importer")).status_code == 403
    )
    for _ in range(2):  # the second time changes nothing: the declaration is secured once
        with rt.write() as s:
            decl = by_number(s, number=number)
            assert decl is not None
            assert duty_service.release_condition(s, decl, now=utcnow()) == []
    balance = client.get("/api/v1/guarantees", params={"uscc": IMPORTER}, headers=world.headers("admin")).json()[0]["balance"]
    assert balance == "72078.26"  # 300000.00 - 227921.74
    assert client.get(f"/api/v1/declarations/{number}/duties", headers=world.headers("broker")).json()["status"] == "guaranteed"
    r = client.post("/api/v1/payments", json={"declaration": number, "amount": TOTAL, "reference": "ICBC-77"}, headers=bank)
    assert r.status_code == 201, r.text
    assert client.get("/api/v1/guarantees", headers=world.headers("admin")).json()[0]["balance"] == "300000.00"


def test_nothing_to_pay_and_exports_meet_the_condition(rt: Runtime, world: World, bank: dict[str, str], client: TestClient) -> None:
    body = example()
    body["items"] = [body["items"][2]]  # printed manuals of CN origin: VAT 9 % of about 1,700 CNY is due
    body["items"][0]["value"] = "10.00"  # ... of 71.20 CNY under CIF: VAT of 6.41 is under 50.00 and waived
    body["incoterm"] = "CIF"
    number = client.post("/api/v1/declarations", json=body, headers=world.headers("broker")).json()["number"]
    duties = client.get(f"/api/v1/declarations/{number}/duties", headers=world.headers("broker")).json()
    assert duties["totals"]["total"] == "0.00" and [w["tax"] for w in duties["waived"]] == ["vat"]
    assert duties["status"] == "paid"
    with rt.write() as s:
        decl = by_number(s, number=number)
        assert decl is not None
        assert duty_service.release_condition(s, decl, now=utcnow()) == []


def _secure_in_parallel(rt: Runtime, numbers: list[str]) -> list[Any]:
    barrier = threading.Barrier(len(numbers))
    results: list[Any] = [None for _ in numbers]

    def one(i: int) -> None:
        barrier.wait()
        try:
            with rt.write() as s:
                decl = by_number(s, number=numbers[i])
                assert decl is not None
                results[i] = duty_service.release_condition(s, decl, now=utcnow())
        except Exception as exc:  # a thread's failure must fail the test, not vanish
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(numbers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_releases_never_take_a_guarantee_below_zero(rt: Runtime, client: TestClient, world: World, bank: dict[str, str]) -> None:
    numbers = [lodge(client, world, ref=f"PAR-{i}") for i in range(6)]
    with rt.write() as s:
        payments.add_guarantee(s, uscc=IMPORTER, amount="700000.00", expires=None, actor=OPERATOR, now=NOW)  # covers 3 of 6
    results = _secure_in_parallel(rt, numbers)
    assert all(isinstance(r, list) for r in results), results
    assert sorted(len(r) for r in results) == [0, 0, 0, 1, 1, 1], results
    with rt.read() as s:
        g = s.scalars(select(Guarantee)).one()
        secured = s.scalar(select(func.count()).select_from(DutyAccount).where(DutyAccount.guaranteed_fen > 0))
        assessed = s.scalar(select(func.count()).select_from(DutyAssessment))
    assert (secured, assessed) == (3, 6)
    assert g.balance_fen == 70000000 - 3 * 22792174 >= 0
