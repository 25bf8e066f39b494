"""Reassessment: inspection findings and amendments reassess the duties; the difference is revenue recovered
(or a refund due), shown in the duties, the revenue report and the risk engine's outcomes (both databases)."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from smartcustoms.duty import report
from smartcustoms.kit.clock import utcnow
from smartcustoms.risk.history.models import HistoryRecord
from smartcustoms.risk.selectivity.models import Outcome
from smartcustoms.runtime import Runtime
from smartcustoms.task.models import TaskKind
from tests.conftest import World, example
from tests.e2e.helpers import lodge, red_lane
from tests.e2e.inspection_helpers import API, staff, task_of
from tests.e2e.test_inspection_api import _all_steps

TOTAL = Decimal("227921.74")  # the canonical example as declared (tests/e2e/test_duty_api.py)
CENT = Decimal("0.01")


def by_hand(values: list[Decimal]) -> Decimal:
    """The canonical example's duties with these item values (USD), worked out independently of the product.

    FOB: freight 2400.00 + insurance 185.50 USD allocated by value; USD at 7.12; sample tariff:
    line 1 phones duty 0 % VAT 13 %, line 2 battery packs provisional 6 % VAT 13 %, line 3 manuals VAT 9 %.
    """
    added, base = Decimal("2585.50"), sum(values)

    def fen(x: Decimal) -> Decimal:
        return x.quantize(CENT, rounding=ROUND_HALF_UP)

    total = Decimal(0)
    for v, duty_rate, vat_rate in zip(values, ("0", "6", "0"), ("13", "13", "9"), strict=True):
        value = fen((v + added * v / base) * Decimal("7.12"))
        duty = fen(value * Decimal(duty_rate) / 100)
        total += duty + fen((value + duty) * Decimal(vat_rate) / 100)
    return total


def test_the_hand_calculation_agrees_with_the_declared_total() -> None:
    assert by_hand([Decimal("216000.00"), Decimal("18000.00"), Decimal("240.00")]) == TOTAL


def test_an_inspection_finding_a_higher_value_recovers_revenue_up_to_the_risk_engine(client: TestClient, world: World, rt: Runtime) -> None:
    staff(rt, world)
    red_lane(rt, world)
    number = lodge(client, world)
    duties = client.get(f"{API}/declarations/{number}/duties", headers=world.headers("broker")).json()
    assert (duties["totals"]["total"], duties["reassessments"], duties["recovered"]) == (str(TOTAL), [], "0.00")
    task = task_of(rt, number, TaskKind.inspection).id
    _all_steps(client, world, task)
    finding = {"type": "value", "line": 2, "found": "20000.00", "note": "Invoice found in the container: 20,000.00 USD"}
    r = client.post(f"{API}/tasks/{task}/completion", json={"findings": [finding]}, headers=world.headers("insp_a"))
    assert r.status_code == 200, r.text
    assert r.json()["declaration_status"] == "held"

    found = by_hand([Decimal("216000.00"), Decimal("20000.00"), Decimal("240.00")])
    recovered = found - TOTAL
    assert recovered > 0
    duties = client.get(f"{API}/declarations/{number}/duties", headers=world.headers("broker")).json()
    assert duties["totals"]["total"] == str(found)
    [again] = duties["reassessments"]
    assert (again["version"], again["revision"], again["source"], again["kind"]) == (1, 1, "inspection", "recovered")
    assert (again["total"], again["difference"], duties["recovered"], duties["refund_due"]) == (
        str(found),
        str(recovered),
        str(recovered),
        "0.00",
    )
    with rt.read() as s:
        outcome = s.scalars(select(Outcome).where(Outcome.number == number)).one()
        learned = s.scalars(select(HistoryRecord).where(HistoryRecord.declaration_id.startswith(f"{number}/"))).all()
    assert (outcome.source, outcome.hit, outcome.revenue_recovered) == ("inspection", True, recovered)
    # `risk retrain` learns from these rows: the revenue recovered, spread over the items by value
    assert abs(sum(h.revenue_recovered for h in learned) - float(recovered)) < 0.01

    # The officer corrects the declaration to what was found: the new version owes what was found, nothing more.
    r = client.post(
        f"{API}/tasks/{task}/resolution",
        json={"decision": "amend_and_continue", "reason": "Value as invoiced in the container"},
        headers=world.headers("supervisor"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["declaration_status"] == "released"
    duties = client.get(f"{API}/declarations/{number}/duties", headers=world.headers("importer")).json()
    assert [(x["source"], x["version"], x["difference"]) for x in duties["reassessments"]] == [
        ("inspection", 1, str(recovered)),
        ("amendment", 2, "0.00"),
    ]
    assert (duties["totals"]["total"], duties["status"]) == (str(found), "guaranteed")

    today = utcnow().date()
    with rt.read() as s:
        rev = report.revenue(s, start=today - timedelta(days=1), end=today + timedelta(days=1))
    assert (rev["declarations"], rev["total"], rev["recovered"], rev["refunds_due"]) == (1, str(found), str(recovered), "0.00")
    assert rev["reassessments"] == {
        "amendment": {"count": 1, "recovered": "0.00", "refunds_due": "0.00"},
        "inspection": {"count": 1, "recovered": str(recovered), "refunds_due": "0.00"},
    }


def test_a_finding_that_changes_no_duty_recovers_nothing(client: TestClient, world: World, rt: Runtime) -> None:
    staff(rt, world)
    red_lane(rt, world)
    number = lodge(client, world)
    task = task_of(rt, number, TaskKind.inspection).id
    _all_steps(client, world, task)
    finding = {"type": "description", "line": 3, "found": "Printed user manuals and warranty cards"}
    assert client.post(f"{API}/tasks/{task}/completion", json={"findings": [finding]}, headers=world.headers("insp_a")).status_code == 200
    duties = client.get(f"{API}/declarations/{number}/duties", headers=world.headers("broker")).json()
    assert (duties["reassessments"], duties["recovered"]) == ([], "0.00")
    with rt.read() as s:
        assert s.scalars(select(Outcome.revenue_recovered).where(Outcome.number == number)).one() == 0


def test_an_amendment_lowering_the_value_records_a_refund_due_difference(
    client: TestClient, world: World, rt: Runtime, under_review: None
) -> None:
    number = lodge(client, world)
    assert client.get(f"{API}/declarations/{number}", headers=world.headers("broker")).json()["status"] == "under_review"
    items: list[dict[str, Any]] = example()["items"]
    items[1]["value"] = "9000.00"
    r = client.post(
        f"{API}/declarations/{number}/amendments",
        json={"patch": {"items": items}, "reason": "Half of the battery packs were sent back before shipment."},
        headers=world.headers("broker"),
    )
    assert r.status_code == 200, r.text
    lower = by_hand([Decimal("216000.00"), Decimal("9000.00"), Decimal("240.00")])
    duties = client.get(f"{API}/declarations/{number}/duties", headers=world.headers("broker")).json()
    [again] = duties["reassessments"]
    assert (again["source"], again["version"], again["kind"], again["difference"]) == ("amendment", 2, "refund_due", str(lower - TOTAL))
    assert (duties["totals"]["total"], duties["recovered"], duties["refund_due"]) == (str(lower), "0.00", "0.00")  # nothing was paid


def test_an_amendment_raising_the_duties_during_review_reaches_the_risk_engine_as_a_review_hit(
    client: TestClient, world: World, rt: Runtime, under_review: None
) -> None:
    number = lodge(client, world)
    items: list[dict[str, Any]] = example()["items"]
    items[1]["value"] = "36000.00"  # the battery packs were invoiced at half their price
    r = client.post(
        f"{API}/declarations/{number}/amendments",
        json={"patch": {"items": items}, "reason": "The officer's query: the battery packs' invoice was a pro forma."},
        headers=world.headers("broker"),
    )
    assert r.status_code == 200, r.text
    higher = by_hand([Decimal("216000.00"), Decimal("36000.00"), Decimal("240.00")])
    [review] = [t for t in client.get(f"{API}/tasks", headers=world.headers("officer")).json()["items"] if t["declaration"] == number]
    r = client.post(
        f"{API}/tasks/{review['id']}/decision", json={"decision": "accept", "reason": "Amended as asked."}, headers=world.headers("officer")
    )
    assert r.status_code == 200, r.text
    with rt.read() as s:
        [(source, hit, recovered)] = s.execute(
            select(Outcome.source, Outcome.hit, Outcome.revenue_recovered).where(Outcome.number == number)
        ).all()
        labelled = s.scalars(select(HistoryRecord.revenue_recovered).where(HistoryRecord.declaration_id.like(f"{number}/%"))).all()
    assert (source, hit, Decimal(recovered)) == ("review", True, higher - TOTAL) and higher > TOTAL
    # the labelled rows `risk retrain` learns from share it among the items
    assert labelled and abs(sum(x or 0 for x in labelled) - float(higher - TOTAL)) < 0.01


def test_a_review_accepting_an_unchanged_declaration_records_a_clean_outcome(
    client: TestClient, world: World, rt: Runtime, under_review: None
) -> None:
    number = lodge(client, world)
    [review] = [t for t in client.get(f"{API}/tasks", headers=world.headers("officer")).json()["items"] if t["declaration"] == number]
    r = client.post(
        f"{API}/tasks/{review['id']}/decision", json={"decision": "accept", "reason": "Papers in order."}, headers=world.headers("officer")
    )
    assert r.status_code == 200, r.text
    with rt.read() as s:
        rows = s.execute(select(Outcome.source, Outcome.hit, Outcome.revenue_recovered).where(Outcome.number == number)).all()
    assert [(src, hit, Decimal(rev)) for src, hit, rev in rows] == [("review", False, Decimal(0))]
