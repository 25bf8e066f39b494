"""The roster's pure logic: qualification specs, and the sunshine dispatch draw, its replay and verification."""

from __future__ import annotations

from collections import Counter

import pytest

from smartcustoms.roster import domain
from smartcustoms.roster.domain import Candidate

SECRET = domain.seed_bytes(123_456_789)


@pytest.mark.parametrize(
    ("spec", "canonical", "chapters"),
    [
        ("84-85,90", "84-85,90", {84, 85, 90}),
        ("1-3, 07 ,97", "01-03,07,97", {1, 2, 3, 7, 97}),
        ("01-97", "01-97", set(range(1, 98))),
        ("44-44", "44", {44}),
    ],
)
def test_a_spec_parses_to_its_chapters_and_canonical_form(spec: str, canonical: str, chapters: set[int]) -> None:
    parsed, problems = domain.chapter_problems(spec)
    assert problems == []
    assert parsed is not None and parsed.spec == canonical and parsed.chapters == chapters


@pytest.mark.parametrize(
    ("spec", "codes"),
    [
        ("", ["ROS-CHP-001"]),
        ("  ", ["ROS-CHP-001"]),
        ("84,,90", ["ROS-CHP-002"]),
        ("8a", ["ROS-CHP-002"]),
        ("840", ["ROS-CHP-002"]),
        ("84-", ["ROS-CHP-002"]),
        ("00", ["ROS-CHP-003"]),
        ("90-98", ["ROS-CHP-003"]),
        ("85-84", ["ROS-CHP-004"]),
        ("90,84-85", ["ROS-CHP-005"]),
        ("84-86,85", ["ROS-CHP-005"]),
        ("98,x,85-84", ["ROS-CHP-003", "ROS-CHP-002", "ROS-CHP-004"]),
    ],
)
def test_a_bad_spec_names_every_problem_with_its_code_and_pointer(spec: str, codes: list[str]) -> None:
    parsed, problems = domain.chapter_problems(spec)
    assert parsed is None
    assert [p.code for p in problems] == codes
    assert {p.pointer for p in problems} == {"/chapters"}


def test_capacity_and_duty_are_checked() -> None:
    assert domain.capacity_problems(5) == []
    assert [p.code for p in domain.capacity_problems(0)] == ["ROS-CAP-001"]
    assert [p.code for p in domain.capacity_problems(-3)] == ["ROS-CAP-001"]
    assert [p.code for p in domain.capacity_problems(True)] == ["ROS-CAP-001"]
    assert [p.code for p in domain.capacity_problems(domain.MAX_CAPACITY + 1)] == ["ROS-CAP-001"]
    assert domain.duty_problems("on") == [] and domain.duty_problems("off") == []
    assert [(p.code, p.pointer) for p in domain.duty_problems("maybe")] == [("ROS-DUTY-001", "/duty")]


def test_a_draw_is_reproducible_and_does_not_depend_on_the_order_of_the_candidates() -> None:
    cands = [Candidate("wang", 3), Candidate("li", 1), Candidate("zhao", 5)]
    first = domain.draw(cands, "T-1/0", secret=SECRET)
    again = domain.draw(list(reversed(cands)), "T-1/0", secret=SECRET)
    assert first is not None and first == again
    assert first["seed_ref"] == "T-1/0"
    assert first["candidates"] == [{"name": "li", "weight": 1}, {"name": "wang", "weight": 3}, {"name": "zhao", "weight": 5}]
    assert len(first["u"]) == 1 and 0 <= first["u"][0] < 1
    assert first["chosen"][0] in {"wang", "li", "zhao"}
    other_secret = [domain.draw(cands, "T-1/0", secret=domain.seed_bytes(s)) for s in range(20)]
    assert len({d["u"][0] for d in other_secret if d}) == 20  # the secret decides the number


def test_the_draw_is_weighted_by_spare_capacity() -> None:
    cands = [Candidate("a", 1), Candidate("b", 2), Candidate("c", 7), Candidate("full", 0)]
    n = 20_000
    counts = Counter(domain.draw(cands, f"task-{i}/0", secret=SECRET)["chosen"][0] for i in range(n))  # type: ignore[index]
    assert set(counts) == {"a", "b", "c"}  # no spare capacity: never drawn
    for name, weight in (("a", 1), ("b", 2), ("c", 7)):
        share = counts[name] / n
        assert abs(share - weight / 10) < 0.015, (name, share)


def test_replaying_a_record_gives_the_same_choice_and_verify_checks_the_numbers() -> None:
    cands = [Candidate(f"o{i:02d}", 1 + i % 4) for i in range(30)]
    for i in range(200):
        rec = domain.draw(cands, f"R-{i}/0", secret=SECRET, k=1 + i % 2)
        assert rec is not None
        assert domain.replay(rec) == rec["chosen"]
        assert domain.verify(rec, secret=SECRET)
    rec = domain.draw(cands, "R-x/0", secret=SECRET)
    assert rec is not None
    assert not domain.verify(rec, secret=domain.seed_bytes(1))  # another seed: the numbers do not match
    forged = {**rec, "chosen": ["o00" if rec["chosen"] != ["o00"] else "o01"]}
    assert not domain.verify(forged, secret=SECRET)
    assert domain.replay(forged) == rec["chosen"]
    # a record read back from JSON replays the same
    import json

    assert domain.replay(json.loads(json.dumps(rec))) == rec["chosen"]


def test_excluded_officers_and_those_without_spare_capacity_are_never_drawn() -> None:
    cands = [Candidate("holder", 50), Candidate("b", 1), Candidate("c", 1), Candidate("full", 0)]
    chosen = Counter()  # type: Counter[str]
    for i in range(500):
        rec = domain.draw(cands, f"X-{i}/1", secret=SECRET, exclude={"holder"})
        assert rec is not None
        assert rec["excluded"] == ["holder"]
        assert [c["name"] for c in rec["candidates"]] == ["b", "c"]
        chosen[rec["chosen"][0]] += 1
    assert set(chosen) == {"b", "c"}
    assert domain.draw([Candidate("holder", 5)], "X/1", secret=SECRET, exclude=["holder"]) is None
    assert domain.draw([Candidate("full", 0)], "X/1", secret=SECRET) is None
    assert domain.draw([], "X/1", secret=SECRET) is None


def test_two_draws_choose_two_distinct_officers_each_with_its_own_number() -> None:
    cands = [Candidate("a", 100), Candidate("b", 1), Candidate("c", 1)]
    pairs = Counter()  # type: Counter[tuple[str, ...]]
    for i in range(1000):
        rec = domain.draw(cands, f"I-{i}/0", secret=SECRET, k=2)
        assert rec is not None
        assert len(rec["u"]) == 2 and rec["u"][0] != rec["u"][1]
        assert len(set(rec["chosen"])) == 2
        pairs[tuple(rec["chosen"])] += 1
    assert sum(n for p, n in pairs.items() if p[0] == "a") > 900  # the heavy one is nearly always first
    assert domain.draw([Candidate("a", 5)], "I/0", secret=SECRET, k=2) is None  # two needed, one free
    with pytest.raises(ValueError, match="k must be"):
        domain.draw(cands, "I/0", secret=SECRET, k=3)


def test_stored_specs_are_read_through_a_cache_and_must_be_valid() -> None:
    assert domain.chapters_of("84-85,90") == frozenset({84, 85, 90})
    with pytest.raises(ValueError, match="invalid stored chapter spec"):
        domain.chapters_of("85-84")
    assert domain.task_chapter_problems([84, 90]) == []
    assert [p.code for p in domain.task_chapter_problems([0, 84])] == ["ROS-CHP-003"]


def test_a_mask_pattern_matches_exactly_the_masks_holding_every_needed_chapter() -> None:
    import re

    mask = domain.chapter_mask(domain.chapters_of("01,84-85,97"))
    assert len(mask) == 97 and mask[0] == mask[83] == mask[84] == mask[96] == "1" and mask.count("1") == 4

    def like(pattern: str, text: str) -> bool:
        return re.fullmatch(pattern.replace("_", "."), text) is not None

    assert like(domain.mask_pattern({84, 85}), mask)
    assert like(domain.mask_pattern({1, 97}), mask)
    assert not like(domain.mask_pattern({84, 86}), mask)
    assert like(domain.mask_pattern(()), mask)  # a task needing no chapter: everyone
