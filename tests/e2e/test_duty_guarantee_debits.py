"""Every guarantee debit is given back exactly: duties secured, raised by an amendment after securing (the extra
debited from another guarantee), then paid, or the declaration withdrawn or rejected (both databases).

A declaration is secured and not yet released when a release condition after the duties' still
stops it; a later area (agencies) registers such conditions, and this test registers one of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from smartcustoms.clearance import conditions
from smartcustoms.declaration.models import Declaration
from smartcustoms.duty import payments
from smartcustoms.duty.models import GuaranteeDebit
from smartcustoms.runtime import Runtime
from tests.conftest import IMPORTER, NOW, OPERATOR, World, example
from tests.e2e.test_duty_reassessment import by_hand
from tests.e2e.test_duty_release import TOTAL, TOTAL_FEN, balances, bank, green

__all__ = ["bank", "green"]  # fixtures: the bank user; every declaration green

API = "/api/v1/declarations"
SECOND = 50000000  # the second guarantee, in fen
HIGHER = by_hand([Decimal("216000.00"), Decimal("36000.00"), Decimal("240.00")])  # the battery packs at twice the price
EXTRA = int((HIGHER - Decimal(TOTAL)) * 100)


@pytest.fixture
def agency_stops(rt: Runtime, world: World, no_guarantees: None) -> Iterator[None]:
    """A release condition after the duties' that never holds; the importer's guarantees: one covering the first duties exactly, a larger one."""
    conditions.register("test_agency", lambda session, declaration: [conditions.Unmet("agency_pending", "The agency has not answered.")])
    with rt.write() as s:
        payments.add_guarantee(s, uscc=IMPORTER, amount=TOTAL, expires=None, actor=OPERATOR, now=NOW)
        payments.add_guarantee(s, uscc=IMPORTER, amount=str(Decimal(SECOND) / 100), expires=None, actor=OPERATOR, now=NOW)
    yield
    conditions.unregister("test_agency")


def secured_then_raised(client: TestClient, world: World, rt: Runtime) -> str:
    """Lodge (the duties secured against the first guarantee), then amend the value up (the extra against the second)."""
    r = client.post(API, json=example(), headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    number = str(r.json()["number"])
    assert r.json()["status"] == "assessed"  # the agency stops it; its duties are secured
    assert balances(rt) == [(IMPORTER, 0), (IMPORTER, SECOND)]
    items = example()["items"]
    items[1]["value"] = "36000.00"
    r = client.post(
        f"{API}/{number}/amendments", json={"patch": {"items": items}, "reason": "Final invoice."}, headers=world.headers("broker")
    )
    assert r.status_code == 200, r.text
    assert balances(rt) == [(IMPORTER, 0), (IMPORTER, SECOND - EXTRA)]
    with rt.read() as s:
        decl = s.scalars(select(Declaration).where(Declaration.number == number)).one()
        rows = s.scalars(select(GuaranteeDebit).where(GuaranteeDebit.declaration_id == decl.id).order_by(GuaranteeDebit.id)).all()
        assert [(d.amount_fen, d.restored_at) for d in rows] == [(TOTAL_FEN, None), (EXTRA, None)]
    assert client.get(f"{API}/{number}/duties", headers=world.headers("broker")).json()["status"] == "guaranteed"
    return number


def restored(rt: Runtime, number: str) -> list[tuple[int, str | None]]:
    with rt.read() as s:
        decl = s.scalars(select(Declaration).where(Declaration.number == number)).one()
        rows = s.scalars(select(GuaranteeDebit).where(GuaranteeDebit.declaration_id == decl.id).order_by(GuaranteeDebit.id)).all()
        return [(d.amount_fen, d.restored_by) for d in rows]


def test_a_payment_restores_each_debit_to_its_own_guarantee(
    rt: Runtime, client: TestClient, world: World, agency_stops: None, bank: dict[str, str]
) -> None:
    number = secured_then_raised(client, world, rt)
    r = client.post("/api/v1/payments", json={"declaration": number, "amount": str(HIGHER), "reference": "BOC-DEB-1"}, headers=bank)
    assert r.status_code == 201, r.text
    assert balances(rt) == [(IMPORTER, TOTAL_FEN), (IMPORTER, SECOND)]  # each back to its amount, neither above
    assert restored(rt, number) == [(TOTAL_FEN, "paid"), (EXTRA, "paid")]
    again = client.post("/api/v1/payments", json={"declaration": number, "amount": str(HIGHER), "reference": "BOC-DEB-1"}, headers=bank)
    assert again.status_code == 200
    assert balances(rt) == [(IMPORTER, TOTAL_FEN), (IMPORTER, SECOND)]  # a replay restores nothing twice


@pytest.mark.parametrize("close", ["withdrawal", "rejection"])
def test_a_closed_declaration_gives_every_debit_back(rt: Runtime, client: TestClient, world: World, agency_stops: None, close: str) -> None:
    number = secured_then_raised(client, world, rt)
    if close == "withdrawal":
        r = client.post(f"{API}/{number}/withdrawal", json={"reason": "Goods sold afloat."}, headers=world.headers("broker"))
    else:
        r = client.post(f"{API}/{number}/decisions", json={"to": "held", "reason": "Licence?"}, headers=world.headers("supervisor"))
        assert r.status_code == 200, r.text
        r = client.post(f"{API}/{number}/decisions", json={"to": "rejected", "reason": "No licence."}, headers=world.headers("supervisor"))
    assert r.status_code == 200, r.text
    assert balances(rt) == [(IMPORTER, TOTAL_FEN), (IMPORTER, SECOND)]
    assert restored(rt, number) == [(TOTAL_FEN, r.json()["status"]), (EXTRA, r.json()["status"])]
