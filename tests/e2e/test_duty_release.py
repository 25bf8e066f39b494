"""Duties as a release condition: paid, guaranteed or nothing to pay, through clearance (both databases).

A green declaration whose duties a guarantee covers is released in the lodging request; without
one it waits in `duty_assessed`, its read says why, and the bank's payment releases it.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.duty import payments
from smartcustoms.duty.models import Guarantee
from smartcustoms.release.models import Release
from smartcustoms.runtime import Runtime
from tests.conftest import IMPORTER, NOW, OPERATOR, WORLD_GUARANTEE, World, example
from tests.e2e.helpers import lane

TOTAL = "227921.74"  # the canonical example's duties under the sample tariff (tests/e2e/test_duty_api.py)
TOTAL_FEN = 22792174


@pytest.fixture(autouse=True)
def green(rt: Runtime, world: World) -> None:
    """Every declaration goes to the green lane (no random checks)."""
    lane(rt, world, "green")


@pytest.fixture
def bank(rt: Runtime, world: World) -> dict[str, str]:
    """A bank system user's Authorization header."""
    with rt.write() as s:
        _, token = auth_service.add_user(s, name="bank", role=Role.bank, actor=OPERATOR, now=NOW)
    return {"Authorization": f"Bearer {token}"}


def lodge(client: TestClient, world: World, ref: str = "DUTY-REL-1") -> dict[str, Any]:
    body = example()
    body["client_reference"] = ref
    r = client.post("/api/v1/declarations", json=body, headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    receipt: dict[str, Any] = r.json()
    return receipt


def balances(rt: Runtime) -> list[tuple[str, int]]:
    with rt.read() as s:
        return [(g.uscc, g.balance_fen) for g in s.scalars(select(Guarantee).order_by(Guarantee.id))]


def test_a_guarantee_releases_a_green_declaration_in_the_lodging_request(rt: Runtime, client: TestClient, world: World) -> None:
    receipt = lodge(client, world)
    assert (receipt["assessment"]["lane"], receipt["status"]) == ("green", "released")
    number = receipt["number"]
    read = client.get(f"/api/v1/declarations/{number}", headers=world.headers("importer")).json()
    assert (read["status"], read["release_conditions"]) == ("released", [])
    assert client.get(f"/api/v1/declarations/{number}/duties", headers=world.headers("importer")).json()["status"] == "guaranteed"
    world_fen = int(WORLD_GUARANTEE.replace(".", ""))
    assert dict(balances(rt))[IMPORTER] == world_fen - TOTAL_FEN


def test_unpaid_duties_wait_for_the_bank_whose_payment_releases(
    rt: Runtime, client: TestClient, world: World, no_guarantees: None, bank: dict[str, str]
) -> None:
    receipt = lodge(client, world)
    assert (receipt["assessment"]["lane"], receipt["status"]) == ("green", "duty_assessed")
    number = receipt["number"]
    read = client.get(f"/api/v1/declarations/{number}", headers=world.headers("broker")).json()
    assert read["status"] == "duty_assessed"
    assert [c["code"] for c in read["release_conditions"]] == ["duty_unpaid"]
    assert TOTAL in read["release_conditions"][0]["message"]
    assert read["events"][-1]["reason"] == read["release_conditions"][0]["message"]
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Release)) == 0
    wrong = client.post("/api/v1/payments", json={"declaration": number, "amount": "1.00", "reference": "BOC-9"}, headers=bank)
    assert wrong.status_code == 422
    assert client.get(f"/api/v1/declarations/{number}", headers=world.headers("broker")).json()["status"] == "duty_assessed"
    r = client.post("/api/v1/payments", json={"declaration": number, "amount": TOTAL, "reference": "BOC-10"}, headers=bank)
    assert (r.status_code, r.json()["status"]) == (201, "paid"), r.text
    read = client.get(f"/api/v1/declarations/{number}", headers=world.headers("broker")).json()
    assert (read["status"], read["release_conditions"]) == ("released", [])
    again = client.post("/api/v1/payments", json={"declaration": number, "amount": TOTAL, "reference": "BOC-10"}, headers=bank)
    assert again.status_code == 200
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Release)) == 1


def test_a_guarantee_too_small_secures_nothing(
    rt: Runtime, client: TestClient, world: World, no_guarantees: None, bank: dict[str, str]
) -> None:
    with rt.write() as s:
        payments.add_guarantee(s, uscc=IMPORTER, amount="227921.73", expires=None, actor=OPERATOR, now=NOW)  # one fen short
    receipt = lodge(client, world)
    assert receipt["status"] == "duty_assessed"
    assert balances(rt) == [(IMPORTER, TOTAL_FEN - 1)]
    number = receipt["number"]
    duties = client.get(f"/api/v1/declarations/{number}/duties", headers=world.headers("importer")).json()
    assert duties["status"] == "unpaid"
    with rt.write() as s:  # a second guarantee, added behind clearance's back: the read changes nothing
        payments.add_guarantee(s, uscc=IMPORTER, amount="1.00", expires=None, actor=OPERATOR, now=NOW)
    read = client.get(f"/api/v1/declarations/{number}", headers=world.headers("importer")).json()
    assert [c["code"] for c in read["release_conditions"]] == ["duty_unpaid"]
    r = client.post("/api/v1/guarantees", json={"uscc": IMPORTER, "amount": "500000.00"}, headers=world.headers("admin"))
    assert r.status_code == 201, r.text
    read = client.get(f"/api/v1/declarations/{number}", headers=world.headers("importer")).json()
    assert (read["status"], read["release_conditions"]) == ("released", [])  # the waiting declaration is released by the guarantee
    assert balances(rt) == [(IMPORTER, TOTAL_FEN - 1), (IMPORTER, 100), (IMPORTER, 50000000 - TOTAL_FEN)]


def test_parallel_lodgings_never_take_one_guarantee_below_zero(rt: Runtime, client: TestClient, world: World, no_guarantees: None) -> None:
    with rt.write() as s:
        payments.add_guarantee(s, uscc=IMPORTER, amount="700000.00", expires=None, actor=OPERATOR, now=NOW)  # covers 3 of 6
    n = 6
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def one(i: int) -> None:
        barrier.wait()
        try:
            results[i] = lodge(client, world, ref=f"PAR-LODGE-{i}")["status"]
        except BaseException as exc:  # a thread's failure must fail the test, not vanish
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(str(r) for r in results) == ["duty_assessed"] * 3 + ["released"] * 3, results
    assert balances(rt) == [(IMPORTER, 70000000 - 3 * TOTAL_FEN)]
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Release)) == 3
