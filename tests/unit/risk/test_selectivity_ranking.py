"""The model's lanes follow the office's targets: scores ranked among the office's recent scores (pure)."""

from __future__ import annotations

import random

import pytest

from smartcustoms.risk.selectivity import domain, ranking

RED, YELLOW = 0.03, 0.07
# A window of 2,000 scores estimates the office's share only to about ±0.4 percentage point (one standard deviation).


def _shares(win: ranking.Window, scores: list[tuple[float, float]], rng: random.Random) -> tuple[float, float]:
    lanes = [ranking.verdict(win, score=s, factor=f, red=RED, yellow=YELLOW, u=rng.random()).lane for s, f in scores]
    return lanes.count("red") / len(lanes), lanes.count("yellow") / len(lanes)


def test_shares_of_new_scores_follow_the_targets_whatever_the_scores_look_like() -> None:
    rng = random.Random(1)
    draw = lambda: rng.betavariate(2, 9) ** 0.3  # noqa: E731 - skewed, nothing like a uniform
    win = ranking.window([(draw(), 1.0) for _ in range(2000)], [])
    assert win is not None
    red, yellow = _shares(win, [(draw(), 1.0) for _ in range(20_000)], rng)
    assert abs(red - RED) < 0.01 and abs(yellow - YELLOW) < 0.015, (red, yellow)


def test_tied_scores_do_not_send_the_whole_tie_to_red_and_red_and_yellow_stay_apart() -> None:
    # 40 % of the office's scores are the same value (a tree model's leaf), at the top.
    rng = random.Random(2)
    draw = lambda: 0.4204 if rng.random() < 0.4 else rng.uniform(0.0, 0.3)  # noqa: E731
    win = ranking.window([(draw(), 1.0) for _ in range(2000)], [])
    assert win is not None
    assert win.cut(RED) < win.cut(RED + YELLOW)  # never one threshold
    red, yellow = _shares(win, [(draw(), 1.0) for _ in range(20_000)], rng)
    assert abs(red - RED) < 0.01 and abs(yellow - YELLOW) < 0.015, (red, yellow)
    # The same score and the same draw value always give the same lane.
    v1 = ranking.verdict(win, score=0.4204, factor=1.0, red=RED, yellow=YELLOW, u=0.01)
    v2 = ranking.verdict(win, score=0.4204, factor=1.0, red=RED, yellow=YELLOW, u=0.01)
    assert v1 == v2 and v1.lane == "red"
    assert ranking.verdict(win, score=0.4204, factor=1.0, red=RED, yellow=YELLOW, u=0.2).lane == "yellow"
    assert ranking.verdict(win, score=0.4204, factor=1.0, red=RED, yellow=YELLOW, u=0.9).lane == "green"


def test_credit_factors_share_the_capacity_without_changing_it() -> None:
    # A fifth of the traffic is low-credit (rates x2) and scores higher than everyone else; AEO (x0.25) a fifth too.
    rng = random.Random(3)

    def one() -> tuple[float, float]:
        x = rng.random()
        return (rng.uniform(0.5, 1.0), 2.0) if x < 0.2 else (rng.uniform(0.0, 0.8), 0.25) if x < 0.4 else (rng.uniform(0.0, 0.8), 1.0)

    win = ranking.window([one() for _ in range(2000)], [])
    assert win is not None
    traffic = [one() for _ in range(20_000)]
    red, yellow = _shares(win, traffic, rng)
    assert abs(red - RED) < 0.01 and abs(yellow - YELLOW) < 0.015, (red, yellow)
    # For the same score, a low-credit trader is more likely red than a general one, an AEO less.
    v = {f: ranking.verdict(win, score=0.75, factor=f, red=RED, yellow=YELLOW, u=0.5) for f in (0.25, 1.0, 2.0)}
    assert v[0.25].red_cut < v[1.0].red_cut < v[2.0].red_cut
    assert ranking.verdict(win, score=1.0, factor=0.0, red=RED, yellow=YELLOW, u=0.0).lane == "green"


def test_validation_scores_seed_the_window_and_fade_as_the_office_scores_come_in() -> None:
    seed = [i / 200 for i in range(201)]
    only_seed = ranking.window([], seed)
    assert only_seed is not None and only_seed.live == 0 and only_seed.seed_weight == ranking.SEED_WEIGHT
    assert ranking.verdict(only_seed, score=0.99, factor=1.0, red=RED, yellow=YELLOW, u=0.5).lane == "red"
    assert ranking.verdict(only_seed, score=0.5, factor=1.0, red=RED, yellow=YELLOW, u=0.5).lane == "green"
    half = ranking.window([(0.5, 1.0)] * 10, seed)
    assert half is not None and half.seed_weight == ranking.SEED_WEIGHT - 10
    # Live scores all far above validation: once the office has enough, only its own count.
    own = ranking.window([(2.0 + i / 1000, 1.0) for i in range(ranking.SEED_WEIGHT)], seed)
    assert own is not None and own.seed_weight == 0
    assert ranking.verdict(own, score=2.0, factor=1.0, red=RED, yellow=YELLOW, u=0.5).lane == "green"
    assert ranking.window([], []) is None


@pytest.mark.parametrize(("share", "expected"), [(0.0, 0.0), (1.0, float("inf"))])
def test_no_share_selects_no_one_and_a_full_share_everyone(share: float, expected: float) -> None:
    win = ranking.window([(0.1, 1.0), (0.2, 1.0)], [])
    assert win is not None and win.cut(share) == expected


NO_DRAW = domain.Draw(u=0.9, lane_u=0.5, rate=0.05, red_share=0.3, selected=False, lane=None)


def test_the_decision_says_which_lane_each_cause_asked_for() -> None:
    d = domain.decide(hits=[], errors=[], score=0.5, red_at=None, yellow_at=None, the_draw=NO_DRAW, model=("red", "risk score high"))
    assert d.lane == "red" and d.asked == {"rule": "green", "model": "red", "review_on_error": "green", "random": "green"}
    assert "Risk score high" in d.basis
    picked = domain.Draw(u=0.001, lane_u=0.9, rate=0.05, red_share=0.3, selected=True, lane="yellow")
    err = {"code": "PRM-X", "problem": "fact missing"}
    d = domain.decide(
        hits=[{"code": "PRM-PTY-001", "lane": "red"}],
        errors=[err],
        score=0.1,
        red_at=None,
        yellow_at=None,
        the_draw=picked,
        model=("green", None),
    )
    assert d.lane == "red" and d.asked == {"rule": "red", "model": "green", "review_on_error": "yellow", "random": "yellow"}
    # Without a model the rules' own score counts as the rules'.
    d = domain.decide(hits=[{"code": "PRM-VAL-001", "weight": 0.9}], errors=[], score=0.9, red_at=0.8, yellow_at=0.4, the_draw=NO_DRAW)
    assert d.lane == "red" and d.asked["rule"] == "red" and d.asked["model"] == "green"


def test_a_score_under_the_floor_stays_green_however_high_it_ranks_on_a_quiet_day() -> None:
    # Every recent score of the office is tiny: the top of the window is still a one-in-a-thousand chance.
    win = ranking.window([(0.000001 * (i + 1), 1.0) for i in range(100)], [])
    assert win is not None
    top = ranking.verdict(win, score=ranking.MIN_SCORE * 0.9, factor=1.0, red=RED, yellow=YELLOW, u=0.0)
    assert top.position < RED and top.lane == "green" and top.reason is None
    assert ranking.verdict(win, score=ranking.MIN_SCORE, factor=1.0, red=RED, yellow=YELLOW, u=0.0).lane == "red"
