"""Selectivity as pure functions: the seeded draw, thresholds, lanes, and what the trader is told."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smartcustoms.risk.selectivity import domain

RATES = domain.Rates(red=0.03, yellow=0.07, random=0.05)
NO_DRAW = domain.Draw(u=0.9, lane_u=0.5, rate=0.05, red_share=0.3, selected=False, lane=None)


def test_the_draw_is_reproducible_from_seed_number_and_version() -> None:
    a = domain.draw(seed=42, number="224820261000000001", version=1, rates=RATES)
    b = domain.draw(seed=42, number="224820261000000001", version=1, rates=RATES)
    assert a == b
    assert domain.draw(seed=43, number="224820261000000001", version=1, rates=RATES).u != a.u
    assert domain.draw(seed=42, number="224820261000000001", version=2, rates=RATES).u != a.u


def test_the_draw_selects_about_the_configured_share_and_splits_red_and_yellow_by_the_targets() -> None:
    draws = [domain.draw(seed=7, number=f"2248202610{i:08d}", version=1, rates=RATES) for i in range(20000)]
    selected = [d for d in draws if d.selected]
    assert 0.045 < len(selected) / len(draws) < 0.055
    red = sum(d.lane == "red" for d in selected) / len(selected)
    assert 0.25 < red < 0.35  # 0.03 / (0.03 + 0.07)
    assert all(d.lane is None for d in draws if not d.selected)


def test_aeo_rates_are_lower_and_low_credit_rates_higher() -> None:
    aeo, low = RATES.scaled(0.25), RATES.scaled(2.0)
    assert aeo.red < RATES.red < low.red and aeo.random < RATES.random < low.random
    assert domain.Rates(0.6, 0.6, 0.9).scaled(2.0).random == 1.0


def test_no_hit_and_a_low_score_is_green() -> None:
    d = domain.decide(hits=[], errors=[], score=0.01, red_at=0.9, yellow_at=0.7, the_draw=NO_DRAW)
    assert d.lane == "green" and "release on the data" in d.basis


def test_a_rule_lane_is_a_floor_and_the_score_can_raise_it() -> None:
    hit = {"code": "PRM-LIC-001", "lane": "yellow", "weight": 0.0}
    assert domain.decide(hits=[hit], errors=[], score=0.1, red_at=0.9, yellow_at=0.7, the_draw=NO_DRAW).lane == "yellow"
    d = domain.decide(hits=[hit], errors=[], score=0.95, red_at=0.9, yellow_at=0.7, the_draw=NO_DRAW)
    assert d.lane == "red" and "PRM-LIC-001" in d.basis and "0.950" in d.basis


def test_a_rule_that_cannot_be_evaluated_is_never_read_as_no_risk() -> None:
    err = {"code": "RSK-VAL-001", "message": "missing price_ratio"}
    d = domain.decide(hits=[], errors=[err], score=0.0, red_at=0.9, yellow_at=0.7, the_draw=NO_DRAW)
    assert d.lane == "yellow" and "could not be evaluated" in d.basis


def test_the_random_draw_overrides_a_green_lane_but_never_lowers_one() -> None:
    picked = domain.Draw(u=0.001, lane_u=0.9, rate=0.05, red_share=0.3, selected=True, lane="yellow")
    assert domain.decide(hits=[], errors=[], score=0.0, red_at=0.9, yellow_at=0.7, the_draw=picked).lane == "yellow"
    red_hit = {"code": "PRM-PTY-001", "lane": "red"}
    d = domain.decide(hits=[red_hit], errors=[], score=0.0, red_at=0.9, yellow_at=0.7, the_draw=picked)
    assert d.lane == "red" and "random" in d.basis


def test_blue_rules_send_to_post_clearance_audit() -> None:
    d = domain.decide(hits=[{"code": "PRM-AUD-001", "lane": "blue"}], errors=[], score=0.0, red_at=0.9, yellow_at=0.7, the_draw=NO_DRAW)
    assert d.lane == "blue"


@given(st.lists(st.floats(min_value=0, max_value=1), max_size=6))
def test_rule_score_is_a_probability_that_grows_with_every_hit(weights: list[float]) -> None:
    hits = [{"code": f"R{i}", "weight": w} for i, w in enumerate(weights)]
    s = domain.rule_score(hits)
    assert 0.0 <= s <= 1.0
    assert domain.rule_score([*hits, {"code": "EXTRA", "weight": 0.5}]) >= s - 1e-12


def test_the_same_rule_hitting_several_items_counts_once() -> None:
    one = domain.rule_score([{"code": "A", "weight": 0.5}])
    assert domain.rule_score([{"code": "A", "weight": 0.5}, {"code": "A", "weight": 0.5}]) == one == 0.5


def test_the_trader_is_told_what_is_checked_in_plain_words_without_internals() -> None:
    v = domain.trader_view("red", [frozenset({"price_ratio", "hs6"})], random=False, errors=False)
    assert v["check"] == "inspection"
    assert v["topics"] == ["the tariff classification of the goods", "the declared value"]
    text = str(v)
    assert "price_ratio" not in text and "RSK" not in text and "score" not in text
    g = domain.trader_view("green", [], random=False, errors=False)
    assert g["check"] == "none" and g["why"] == []
    r = domain.trader_view("yellow", [], random=True, errors=False)
    assert "random" in r["why"][0]
