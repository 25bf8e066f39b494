"""Smart identification on labelled trader-style descriptions: accuracy, flags, calibration, timing.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.identification [--part held-out|dev|all] [--seed 0] [--calibrate] [--json]

The labelled set is bench/data/identification.csv (description, heading, language: `en` or
`zh`): trader-style descriptions written for this benchmark across all 21 sections, never used
for training. Each description belongs to the development part (tuned on: temperature and flag
thresholds) or the held-out part (measured on only), by its own hash
(`calibration.Labelled.held_out`). The classifier is trained as the server trains it on a fresh
database (`service.train`: the built-in HS 2022 nomenclature and the shipped glossary, no
accepted history), in this one process on one core.

Reported per part and language: top-1 / top-3 accuracy of the heading; log-loss; expected
calibration error (ECE, 10 bins) of the top suggestion's probability and of the declared
chapter's probability; the share of items flagged when declared under their true heading (false
flags) and when declared under a heading of another chapter drawn reproducibly (`--seed`;
caught); training seconds (the server's start-up warm-up) and the time of one check of a new
description (p50/p99). `--calibrate` fits the temperature and searches the thresholds on the
development part. The simulator's trade and the hand-written calibration list are in
`bench.identification_sim`.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"

import argparse
import csv
import json
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.identification_sim import nomenclature
from smartcustoms.risk.identification import domain as D
from smartcustoms.risk.identification import service

DATA = Path(__file__).parent / "data" / "identification.csv"
# On the development part: an eighth of the 2 % goal, since unseen descriptions were flagged four
# times as often as the development part's before (2.8 % against 0.7 %, docs/benchmarks.md).
FALSE_FLAG_TARGET = 0.0025


def labelled(path: Path = DATA) -> list[D.Labelled]:
    """The labelled descriptions."""
    with path.open(encoding="utf-8", newline="") as f:
        return [D.Labelled(r["description"], r["heading"], r["language"]) for r in csv.DictReader(f)]


def part(items: Sequence[D.Labelled], name: str) -> list[D.Labelled]:
    """The development part (`dev`), the held-out part (`held-out`) or `all`."""
    if name == "all":
        return list(items)
    return [i for i in items if i.held_out == (name == "held-out")]


def quality(clf: D.Classifier, items: Sequence[D.Labelled], seed: int) -> dict[str, Any]:
    """Accuracy, log-loss, calibration and flag rates on some labelled items."""
    scored = D.score_pairs(clf, [(i.description, i.heading) for i in items])
    top = [clf.suggest(i.description, 1) for i in items]
    chapter_right = [bool(t) and t[0].heading[:2] == i.heading[:2] for t, i in zip(top, items, strict=True)]
    chapters = [clf.chapter_probabilities(i.description) for i in items]
    top_chapter = [
        (float(c.max()), int(c.argmax()) == int(i.heading[:2])) if c is not None else (0.0, False)
        for c, i in zip(chapters, items, strict=True)
    ]
    return {
        **D.accuracy(scored),
        "top1_chapter": sum(chapter_right) / len(items) if items else None,
        "log_loss": D.log_loss(scored),
        "ece_heading": D.reliability([t[0].probability if t else 0.0 for t in top], [s.rank == 1 for s in scored])["ece"],
        "ece_chapter": D.reliability([c for c, _ in top_chapter], [ok for _, ok in top_chapter])["ece"],
        **D.flag_rates(clf, items, seed),
    }


def by_language(clf: D.Classifier, items: Sequence[D.Labelled], seed: int) -> dict[str, Any]:
    """`quality` over all items and per language."""
    out = {"all": quality(clf, items, seed)}
    for lang in sorted({i.language for i in items}):
        out[lang] = quality(clf, [i for i in items if i.language == lang], seed)
    return out


def timing(entries: list[D.HsText], items: Sequence[D.Labelled], repeats: int = 3) -> tuple[D.Classifier, dict[str, float]]:
    """The classifier, the median training seconds (wall, CPU) and one new description's check time."""
    wall, cpu, clf = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        clf = service.train(entries, [])
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    assert clf is not None
    fresh = clf.calibrated()  # no remembered answers
    checks = []
    for i in items:
        t = time.perf_counter()
        fresh.check([{"line": 1, "hs_code": i.heading, "description": i.description}])
        checks.append(time.perf_counter() - t)
    return clf, {
        "training_seconds": round(statistics.median(wall), 2),
        "training_cpu_seconds": round(statistics.median(cpu), 2),
        "check_p50_ms": round(float(np.percentile(checks, 50)) * 1e3, 3),
        "check_p99_ms": round(float(np.percentile(checks, 99)) * 1e3, 3),
    }


def calibrate(clf: D.Classifier, dev: Sequence[D.Labelled], seed: int) -> dict[str, Any]:
    """Fit the temperature (least log-loss) on the development part, then the thresholds of most caught swaps at most `FALSE_FLAG_TARGET` false flags."""
    grid_t = [0.3 + 0.05 * k for k in range(70)]
    latin = [(i.description, i.heading) for i in dev if not D.has_cjk(i.description)]
    cjk = [(i.description, i.heading) for i in dev if D.has_cjk(i.description)]
    temperature, temperature_cjk = D.fit_temperature(clf, latin, grid_t), D.fit_temperature(clf, cjk, grid_t)
    fitted = clf.calibrated(temperature=temperature, temperature_cjk=temperature_cjk)
    neighbour_temperature, mix, neighbours = D.fit_mixture(fitted, [(i.description, i.heading) for i in dev])
    fitted = fitted.calibrated(neighbour_temperature=neighbour_temperature, mix=mix, neighbours=neighbours)
    grid = []
    for chapter_threshold in (0.001, 0.002, 0.003, 0.005, 0.01, 0.02):
        for chapter_confidence in (0.0, 0.3, 0.5):
            for threshold in (0.99, 1.01):
                c = fitted.calibrated(chapter_threshold=chapter_threshold, threshold=threshold, chapter_confidence=chapter_confidence)
                grid.append(
                    {
                        "chapter_threshold": chapter_threshold,
                        "chapter_confidence": chapter_confidence,
                        "threshold": threshold,
                        **D.flag_rates(c, dev, seed),
                    }
                )
    ok = [g for g in grid if g["false_flags"] <= FALSE_FLAG_TARGET] or grid
    # At equal figures, the lower top-1 threshold: the swaps here change the chapter, so they cannot
    # show what the same-chapter rule catches (bench.identification_sim's misclassifications do).
    best = max(ok, key=lambda g: (g["caught"], -g["false_flags"], -g["threshold"]))
    return {
        "temperature": round(temperature, 3),
        "temperature_cjk": round(temperature_cjk, 3),
        "neighbour_temperature": neighbour_temperature,
        "neighbours": neighbours,
        "mix": mix,
        "best": best,
        "grid": grid,
    }


def run(part_name: str, seed: int, do_calibrate: bool, say: Callable[[str], None]) -> dict[str, Any]:
    entries = nomenclature()
    service.section_names()
    service.glossary()
    items = labelled()
    chosen = part(items, part_name)
    say(f"{len(items)} labelled descriptions, {len(chosen)} in part {part_name}")
    clf, times = timing(entries, chosen)
    say(f"trained in {times['training_seconds']} s")
    result: dict[str, Any] = {
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(), "loadavg": os.getloadavg()},
        "data": {
            "labelled": len(items),
            "part": part_name,
            "in_part": len(chosen),
            "chinese_share": round(sum(i.language == "zh" for i in items) / len(items), 3),
            "headings": len({i.heading for i in items}),
            "chapters": len({i.heading[:2] for i in items}),
        },
        "classifier": {
            **{k: clf.info[k] for k in ("examples", "features", "stored_weights")},
            "temperature": clf.temperature,
            "temperature_cjk": clf.temperature_cjk,
            "threshold": clf.threshold,
            "chapter_threshold": clf.chapter_threshold,
            "chapter_confidence": clf.chapter_confidence,
            "neighbours": clf.neighbours,
            "neighbour_temperature": clf.neighbour_temperature,
            "mix": clf.mix,
        },
        "timing": times,
        "quality": by_language(clf, chosen, seed),
    }
    if do_calibrate:
        result["calibration"] = calibrate(clf, part(items, "dev"), seed)
    return result


def show(r: dict[str, Any], say: Callable[[str], None]) -> None:
    c, t = r["classifier"], r["timing"]
    say(
        f"{r['data']['in_part']} descriptions ({r['data']['part']}) of {r['data']['labelled']}; temperature {c['temperature']}, "
        f"top-1 threshold {c['threshold']}, chapter threshold {c['chapter_threshold']}; trained in {t['training_seconds']} s "
        f"({t['training_cpu_seconds']} s CPU); check p50 {t['check_p50_ms']} ms, p99 {t['check_p99_ms']} ms"
    )
    say(f"{'':6}{'n':>5}{'top-1':>8}{'top-3':>8}{'chap-1':>8}{'logloss':>9}{'ECE h':>7}{'ECE c':>7}{'false fl.':>10}{'caught':>8}")
    for name, q in r["quality"].items():
        say(
            f"{name:6}{q['n']:>5}{q['top1']:>8.1%}{q['top3']:>8.1%}{q['top1_chapter']:>8.1%}{q['log_loss']:>9.3f}"
            f"{q['ece_heading']:>7.3f}{q['ece_chapter']:>7.3f}{q['false_flags']:>10.1%}{q['caught']:>8.1%}"
        )
    if "calibration" in r:
        cal = r["calibration"]
        say(
            f"calibration on dev: temperature {cal['temperature']} (Chinese {cal['temperature_cjk']}), {cal['neighbours']} neighbours "
            f"at {cal['neighbour_temperature']} mixed {cal['mix']}; best {json.dumps(cal['best'])}"
        )
        for g in cal["grid"]:
            say(
                f"  chapter < {g['chapter_threshold']:<6} likeliest >= {g['chapter_confidence']:<4} top-1 >= {g['threshold']:<5} "
                f"false flags {g['false_flags']:.1%} caught {g['caught']:.1%}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--part", choices=("held-out", "dev", "all"), default="held-out")
    parser.add_argument("--seed", type=int, default=0, help="which other-chapter heading each description is swapped to")
    parser.add_argument("--calibrate", action="store_true", help="fit temperature and thresholds on the development part")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args.part, args.seed, args.calibrate, lambda m: print(m, file=__import__("sys").stderr))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        show(result, print)


if __name__ == "__main__":
    main()
