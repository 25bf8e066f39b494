"""Every accepted declaration is assessed at once and routed to an explained lane, on each database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.declaration import repository
from smartcustoms.declaration.models import Declaration
from smartcustoms.risk.history.models import HistoryRecord
from smartcustoms.risk.selectivity import domain
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.risk.selectivity.models import Assessment
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, World, example
from tests.e2e.helpers import approve_rule, lodge, no_random_checks, red_lane, rule_lane, set_rates, watch

API = "/api/v1/declarations"


def test_an_accepted_declaration_is_assessed_at_once_and_green_without_risk(client: TestClient, world: World, rt: Runtime) -> None:
    no_random_checks(rt, world)
    number = lodge(client, world)
    d = client.get(f"{API}/{number}", headers=world.headers("analyst")).json()
    assert d["status"] == "released"  # green: released in the lodging request
    assert [e["event"] for e in d["events"]][-2:] == ["declaration.assessed", "declaration.released"]
    a = d["assessment"]
    assert a["lane"] == "green" and a["hits"] == [] and a["errors"] == []
    assert a["random_draw"]["selected"] is False and a["random_draw"]["rate"] == 0.0
    assert "release on the data" in a["basis"]


def test_a_watch_listed_consignor_goes_red_with_reasons_and_instructions(client: TestClient, world: World, rt: Runtime) -> None:
    red_lane(rt, world)
    number = lodge(client, world)
    # The office's officer has no task on it (it waits for two inspectors): 404; the supervisor sees it all.
    assert client.get(f"{API}/{number}", headers=world.headers("officer")).status_code == 404
    full = client.get(f"{API}/{number}", headers=world.headers("supervisor")).json()["assessment"]
    assert full["lane"] == "red"
    assert full["hits"][0]["code"] == "PRM-PTY-001"
    assert full["hits"][0]["instructions"] == "Inspect against the invoice."
    assert "score" in full and "contributions" in full and full["model"] is None

    # The enterprise sees what is checked and why, in its words: no codes, score or draw.
    mine = client.get(f"{API}/{number}", headers=world.headers("broker")).json()["assessment"]
    assert mine["lane"] == "red" and mine["check"] == "inspection"
    assert "inspected" in mine["message"]
    assert not {"score", "hits", "random_draw", "contributions", "model", "basis"} & set(mine)
    assert "PRM-PTY-001" not in str(mine) and "watch" not in str(mine).lower()

    # An officer of another office does not see the declaration at all.
    assert client.get(f"{API}/{number}", headers=world.headers("officer_tianjin")).status_code == 404


def test_a_rule_that_cannot_be_evaluated_is_reported_and_sends_to_review(client: TestClient, world: World, rt: Runtime) -> None:
    no_random_checks(rt, world)
    approve_rule(
        rt,
        world,
        code="PRM-VAL-009",
        name="Cheap against the reference",
        reason="Far under the reference price.",
        instructions="Ask for proof of payment.",
        condition={"fact": "price_ratio", "op": "lt", "value": 0.5},  # no reference price known: cannot be evaluated
        weight=0.5,
    )
    number = lodge(client, world)
    a = client.get(f"{API}/{number}", headers=world.headers("supervisor")).json()["assessment"]
    assert a["lane"] == "yellow"
    assert a["errors"] and a["errors"][0]["code"] == "PRM-VAL-009" and "price_ratio" in a["errors"][0]["message"]


def test_the_random_draw_is_recorded_and_can_be_replayed(client: TestClient, world: World, rt: Runtime) -> None:
    reason = "Everything at random, for the test."
    setting = set_rates(rt, world, office="2248", red_rate=0.1, yellow_rate=0.1, random_rate=1.0, aeo_factor=1.0, reason=reason)
    number = lodge(client, world)
    a = client.get(f"{API}/{number}", headers=world.headers("analyst")).json()["assessment"]
    drawn = a["random_draw"]
    assert drawn["selected"] is True and a["lane"] in ("yellow", "red") and "random" in a["basis"]
    assert drawn["setting"] == setting.id and drawn["seed_ref"] == domain.seed_ref(setting.seed)
    replay = domain.draw(seed=setting.seed, number=number, version=1, rates=domain.Rates(0.1, 0.1, 1.0))
    assert (replay.u, replay.lane) == (drawn["u"], drawn["lane"])
    mine = client.get(f"{API}/{number}", headers=world.headers("broker")).json()["assessment"]
    assert any("random" in w for w in mine["why"])


def test_aeo_traders_are_drawn_at_a_lower_rate(rt: Runtime, world: World) -> None:
    st = set_rates(rt, world, red_rate=0.05, yellow_rate=0.05, random_rate=0.2, aeo_factor=0.25, reason="Test.")
    assert st.rates("aeo").random == pytest.approx(0.05) and st.rates("general").random == pytest.approx(0.2)
    assert st.rates("low").random == pytest.approx(0.4)


def test_an_amendment_is_assessed_again_and_both_assessments_are_kept(client: TestClient, world: World, rt: Runtime) -> None:
    no_random_checks(rt, world)
    rule_lane(rt, world, "yellow")  # under review, not released: it can still be amended
    number = lodge(client, world)
    r = client.post(
        f"{API}/{number}/amendments",
        json={"patch": {"items": [{**example()["items"][0], "quantity": "1300"}, *example()["items"][1:]]}, "reason": "Counted again."},
        headers=world.headers("broker"),
    )
    assert r.status_code == 200, r.text
    with rt.read() as s:
        rows = s.scalars(select(Assessment).where(Assessment.number == number).order_by(Assessment.id)).all()
        assert [a.declaration_version for a in rows] == [1, 2]
    events = [e["event"] for e in r.json()["events"]]
    assert events[-1] == "declaration.reassessed" and r.json()["assessment"]["assessed_at"]


def test_outcomes_become_labelled_history_and_are_journaled(client: TestClient, world: World, rt: Runtime) -> None:
    no_random_checks(rt, world)
    number = lodge(client, world)
    with rt.write() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        selectivity.record_outcome(
            s,
            decl=decl,
            source="inspection",
            hit=True,
            critical=1,
            revenue_recovered=Decimal("1200.00"),
            finding="Four boxes more than declared.",
            principal=world.principals["inspector"],
            now=NOW + timedelta(days=1),
        )
    with rt.read() as s:
        labelled = s.scalars(select(HistoryRecord).where(HistoryRecord.source == "outcome")).all()
        assert len(labelled) == len(example()["items"]) and all(h.label_fraud == 1 for h in labelled)
        assert sum(h.revenue_recovered for h in labelled) == pytest.approx(1200.0)
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "risk.outcome_recorded")) == 1


def test_a_refused_outcome_changes_nothing(rt: Runtime, world: World, client: TestClient) -> None:
    from smartcustoms.errors import ValidationFailed

    number = lodge(client, world)
    with rt.write() as s:
        decl = s.scalar(select(Declaration).where(Declaration.number == number))
        assert decl is not None
        with pytest.raises(ValidationFailed) as exc:
            selectivity.record_outcome(
                s,
                decl=decl,
                source="guess",
                hit=False,
                critical=3,
                revenue_recovered=Decimal("5"),
                finding=None,
                principal=world.principals["inspector"],
                now=NOW,
            )
    assert {p.code for p in exc.value.problems} == {"RSK-OUT-001", "RSK-OUT-002", "RSK-OUT-004"}
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(HistoryRecord)) == 0


def test_lane_shares_report_what_happened_against_the_targets(client: TestClient, world: World, rt: Runtime) -> None:
    no_random_checks(rt, world)
    for i in range(3):
        body = example()
        body["client_reference"] = f"SHARE-{i}"
        lodge(client, world, body)
    with rt.read() as s:
        shares = selectivity.lane_shares(s, office="2248", now=NOW + timedelta(days=1))
    assert shares["assessments"] == 3 and shares["counts"]["green"] == 3 and shares["random_selected"] == 0
    assert shares["targets"]["red_rate"] == 0.03 and "seed" not in shares["targets"]


def test_smart_identification_flags_a_description_that_disagrees_with_the_declared_code(
    client: TestClient, world: World, rt: Runtime
) -> None:
    no_random_checks(rt, world)
    approve_rule(
        rt,
        world,
        code="PRM-CLS-001",
        name="Classification in doubt",
        reason="The description reads like another heading.",
        instructions="Check the classification against the goods.",
        condition={"fact": "hs_mismatch", "op": "is", "value": True},
        lane="yellow",
    )
    body = example()
    body["items"][0]["hs_code"] = "4901990000"  # smartphones declared as printed matter
    number = lodge(client, world, body)
    a = client.get(f"{API}/{number}", headers=world.headers("analyst")).json()["assessment"]
    flags = [h for h in a["hits"] if h["code"] == selectivity.IDENTIFICATION_CODE]
    assert [h["line"] for h in flags] == [1] and "8517" in flags[0]["reason"] and "4901" in flags[0]["reason"]
    assert a["lane"] == "yellow" and any(h["code"] == "PRM-CLS-001" and h["line"] == 1 for h in a["hits"])
    mine = client.get(f"{API}/{number}", headers=world.headers("broker")).json()["assessment"]
    assert "the tariff classification of the goods" in mine["topics"] and "SYS-HSID" not in str(mine)

    honest = lodge(client, world, {**example(), "client_reference": "HONEST-1"})
    a2 = client.get(f"{API}/{honest}", headers=world.headers("analyst")).json()["assessment"]
    assert a2["lane"] == "green" and a2["hits"] == []


def test_an_enterprise_profile_sums_up_declarations_lanes_checks_and_watch_lists(client: TestClient, world: World, rt: Runtime) -> None:
    no_random_checks(rt, world)
    number = lodge(client, world)
    with rt.write() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        selectivity.record_outcome(
            s,
            decl=decl,
            source="review",
            hit=True,
            critical=0,
            revenue_recovered=Decimal("250.50"),
            finding="Freight left out of the customs value.",
            principal=world.principals["officer"],
            now=NOW,
        )
    importer = example()["importer"]["uscc"]
    watch(rt, world, "importer", importer, list_name="valuation", reason="Repeated undervaluation.")
    r = client.get(f"/api/v1/risk/enterprises/{importer}", headers=world.headers("analyst"))
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["declarations"]["as_trader"] == 1 and p["lanes"]["green"] == 1
    assert p["checks"] == {"recorded": 1, "found_something": 1, "hit_rate": 1.0} and p["revenue_recovered"] == "250.50"
    assert [w["list"] for w in p["watch_lists"]] == ["valuation"]
    assert client.get(f"/api/v1/risk/enterprises/{importer}", headers=world.headers("broker")).status_code == 403
    assert client.get("/api/v1/risk/enterprises/91440300MA5DC7QK1X", headers=world.headers("analyst")).status_code == 404
