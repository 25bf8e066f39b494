"""Risk scoring benchmark: batch throughput, single-declaration latency, and model quality on a time split.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.risk_scoring [--rows 200000] [--calls 2000] [--seed 1] [--json]

Everything runs in this one process on one core (OMP_NUM_THREADS=1, LightGBM num_threads=1), on
simulated trade (`smartcustoms.risk.simulator`, about 1.6 history rows per declaration over a
year from 2025-01-01), without a database:

(a) batch scoring: every row scored as a new declaration against a snapshot of the history before
    2025-11-01: features (snapshot lookups, vectorised), the model (LightGBM predict), and eleven
    rules (`parameter.service.score_frame`); rows per second for each and in total;
(b) single declaration: `LoadedModel.score_one` on 2,000 declarations (all their items, with the
    feature contributions), one call each, p50/p99 latency;
(c) quality: trained on history before 2025-11-01, evaluated on 2025-11-01 .. 2026-01-01 as if it
    arrived then: precision, recall and revenue captured at the top 1, 2, 5, 10 %, AUC, beside
    the rules-only (starter rules) and random baselines, and each fraud pattern's catch at 5 %.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"

import argparse
import json
import platform
import time
from datetime import UTC, date, datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from smartcustoms.risk.history.service import to_facts
from smartcustoms.risk.model import features as F
from smartcustoms.risk.model import service as models
from smartcustoms.risk.parameter.domain import compile_condition
from smartcustoms.risk.parameter.service import ActiveRule, score_frame
from smartcustoms.risk.simulator import Simulator

START = date(2025, 1, 1)
SPLIT = date(2025, 11, 1)
END = date(2026, 1, 1)
ROWS_PER_DECLARATION = 1.62
TARGET_ROWS_PER_SECOND = 50_000
TARGET_P99_MS = 10.0
EXTRA_RULES: tuple[dict[str, Any], ...] = (
    {
        "code": "B-DUTY-PRICE",
        "weight": 1.0,
        "condition": {"all": [{"fact": "hs2", "op": "in", "value": ["87", "22", "85"]}, {"fact": "price_ratio", "op": "lt", "value": 0.8}]},
    },
    {
        "code": "B-MEDICINE-NEW",
        "weight": 1.0,
        "condition": {
            "all": [{"fact": "hs_code", "op": "prefix", "value": ["3004", "9018"]}, {"fact": "importer_first", "op": "is", "value": True}]
        },
    },
    {
        "code": "B-VALUE-SPIKE",
        "weight": 1.0,
        "condition": {"all": [{"fact": "value", "op": "gt", "value": 500000}, {"fact": "importer_declarations", "op": "lt", "value": 5}]},
    },
    {
        "code": "B-HUB-TRADER",
        "weight": 0.5,
        "condition": {
            "all": [
                {"fact": "consignor", "op": "contains", "value": "trading"},
                {"fact": "departure_country", "op": "in", "value": models.HUBS},
            ]
        },
    },
    {
        "code": "B-CAR-ORIGIN",
        "weight": 1.0,
        "condition": {"all": [{"fact": "hs2", "op": "eq", "value": "87"}, {"fact": "origin", "op": "in", "value": ["MX", "CA"]}]},
    },
)


def _rules() -> tuple[ActiveRule, ...]:
    extra = tuple(
        ActiveRule(0, r["code"], 1, r["code"], r["code"], "", None, r["weight"], None, compile_condition(r["condition"], {}))
        for r in EXTRA_RULES
    )
    return models.starter_rules() + extra


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):  # noqa: SIM115
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(rows: int, calls: int, seed: int, say: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    n_decl = int(rows / ROWS_PER_DECLARATION)
    decls = Simulator(seed=seed, start_on=START, days=(END - START).days, importers=max(20, n_decl // 200)).declarations(n_decl)
    frame = to_facts(pd.DataFrame([r for d in decls for r in d.rows()]))
    say(f"simulated {len(decls)} declarations, {len(frame)} rows in {time.perf_counter() - t0:.1f} s")

    # (c) quality on a time split
    t = time.perf_counter()
    fitted = models.fit(frame, train_until=SPLIT)
    model = models.LoadedModel.from_fitted(fitted, name="bench", version=1)
    train_s = time.perf_counter() - t
    say(f"trained on {fitted.rows} rows ({fitted.positives} frauds) in {train_s:.1f} s, {fitted.metrics['rounds']} trees")
    t = time.perf_counter()
    quality = models.evaluate_frame(model, frame, date_from=SPLIT, date_to=END, rules=models.starter_rules(), rules_source="starter rules")
    evaluate_s = time.perf_counter() - t

    # (a) batch throughput: every row as a new declaration against the snapshot at the split
    snap = F.make_snapshot(frame, SPLIT)
    rules = _rules()
    batch = frame.drop(columns=["label_fraud", "label_critical", "revenue_recovered", "pattern"])
    batch = batch.assign(importer_declarations=batch["importer"].map(snap.track["importer"]["n"]).fillna(0.0))
    batch = batch.assign(importer_first=batch["importer_declarations"] == 0)
    model.predict(F.build_scoring_features(batch.head(1000), snap, model.meta).to_numpy())  # warm up
    t = time.perf_counter()
    x = F.build_scoring_features(batch, snap, model.meta)
    features_s = time.perf_counter() - t
    t = time.perf_counter()
    scores = model.predict(x.to_numpy())
    model_s = time.perf_counter() - t
    t = time.perf_counter()
    facts = batch.assign(price_ratio=np.exp(x["price_dev"].to_numpy()))
    rule_scores, _ = score_frame(rules, facts)
    rules_s = time.perf_counter() - t
    t = time.perf_counter()
    F.build_training_features(frame, model.meta)
    history_features_s = time.perf_counter() - t
    n = len(batch)
    total_s = features_s + model_s + rules_s
    throughput = {
        "rows": n,
        "rules": len(rules),
        "trees": fitted.metrics["rounds"],
        "features": len(model.meta.names),
        "seconds": {"features": features_s, "model": model_s, "rules": rules_s, "total": total_s},
        "rows_per_second": {
            "features": n / features_s,
            "model": n / model_s,
            "rules": n / rules_s,
            "total": n / total_s,
            "model_and_features": n / (features_s + model_s),
            "declarations_total": len(decls) / total_s,
            "history_features_leak_free": n / history_features_s,
        },
        "flagged_share_checked": float((rule_scores > 0).mean()),
        "mean_score": float(scores.mean()),
    }
    say(f"batch: {n / total_s:,.0f} rows/s in all")

    # (b) single-declaration latency, contributions included
    by_decl: dict[str, list[dict[str, Any]]] = {}
    records = batch.loc[batch["declared_on"] >= pd.Timestamp(SPLIT)].to_dict("records")
    for r in records:
        by_decl.setdefault(str(r["declaration_id"]).split("/")[0], []).append({**r, "line": int(str(r["declaration_id"]).split("/")[1])})
    sample = list(by_decl.values())[:calls]
    for items in sample[:50]:
        model.score_one(items, snap, on=SPLIT)
    lat = []
    for items in sample:
        t = time.perf_counter_ns()
        model.score_one(items, snap, on=SPLIT)
        lat.append((time.perf_counter_ns() - t) / 1e6)
    arr = np.asarray(lat)
    latency = {
        "calls": len(lat),
        "items_per_declaration": float(np.mean([len(s) for s in sample])),
        "p50_ms": float(np.percentile(arr, 50)),
        "p99_ms": float(np.percentile(arr, 99)),
        "max_ms": float(arr.max()),
    }

    return {
        "command": f"OMP_NUM_THREADS=1 .venv/bin/python -m bench.risk_scoring --rows {rows} --calls {calls} --seed {seed}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpu": _cpu(),
            "cores_used": 1,
            "logical_cpus": os.cpu_count(),
            "python": platform.python_version(),
            "lightgbm": lgb.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "data": {
            "declarations": len(decls),
            "rows": len(frame),
            "fraud_rows": int(frame["label_fraud"].sum()),
            "train": f"{fitted.train_from} .. {SPLIT} (exclusive)",
            "evaluate": f"{SPLIT} .. {END} (exclusive)",
            "train_rows": fitted.rows,
            "train_seconds": train_s,
            "evaluate_seconds": evaluate_s,
        },
        "throughput": throughput,
        "latency": latency,
        "quality": quality,
        "targets": {
            "rows_per_second": TARGET_ROWS_PER_SECOND,
            "p99_ms": TARGET_P99_MS,
            "throughput_met": throughput["rows_per_second"]["total"] >= TARGET_ROWS_PER_SECOND,
            "latency_met": latency["p99_ms"] < TARGET_P99_MS,
            "beats_baselines_at_every_k": all(
                quality[m][k] > quality["baselines"][b][m][k]
                for m in ("precision_at", "recall_at")
                for k in ("1", "2", "5", "10")
                for b in ("rules", "random")
            ),
        },
    }


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def show(r: dict[str, Any], console: Console) -> None:
    th, lat, q = r["throughput"], r["latency"], r["quality"]
    t = Table(
        title=f"(a) batch scoring, {th['rows']:,} rows, one core ({th['trees']} trees, {th['features']} features, {th['rules']} rules)"
    )
    for c in ("part", "seconds", "rows / s"):
        t.add_column(c, justify="right")
    for part in ("features", "model", "rules", "total"):
        t.add_row(part, f"{th['seconds'][part]:.3f}", f"{th['rows_per_second'][part]:,.0f}")
    t.add_row("total, in declarations", "", f"{th['rows_per_second']['declarations_total']:,.0f} / s")
    t.add_row("leak-free history features (train, evaluate)", "", f"{th['rows_per_second']['history_features_leak_free']:,.0f}")
    console.print(t)
    console.print(
        f"(b) score_one with contributions, {lat['calls']} declarations ({lat['items_per_declaration']:.2f} items each): "
        f"p50 {lat['p50_ms']:.3f} ms, p99 {lat['p99_ms']:.3f} ms, max {lat['max_ms']:.3f} ms"
    )
    rules, rnd = q["baselines"]["rules"], q["baselines"]["random"]
    t = Table(title=f"(c) quality: {q['rows']:,} rows {q['from']} .. {q['to']}, {q['positives']} frauds; trained on {r['data']['train']}")
    for c in ("top k", "by", "precision", "recall", "revenue"):
        t.add_column(c, justify="right")
    for k in ("1", "2", "5", "10"):
        for who, src in (("model", q), ("rules", rules), ("random", rnd)):
            t.add_row(
                f"{k} %" if who == "model" else "",
                who,
                *(_pct(src[m][k]) for m in ("precision_at", "recall_at", "revenue_at")),
                end_section=who == "random",
            )
    console.print(t)
    console.print(f"AUC model {q['auc']:.3f}, rules {rules['auc']:.3f}, random 0.500")
    t = Table(title="caught at a 5 % inspection rate, per pattern")
    for c in ("pattern", "rows", "model", "rules", "random"):
        t.add_column(c, justify="right")
    for p, v in q.get("patterns", {}).items():
        t.add_row(p, str(v["rows"]), _pct(v["model"]), _pct(v["rules"]), _pct(v["random"]))
    console.print(t)
    console.print(
        f"targets: ≥ {TARGET_ROWS_PER_SECOND:,} rows/s: {r['targets']['throughput_met']}; p99 < {TARGET_P99_MS} ms: "
        f"{r['targets']['latency_met']}; beats rules and random at every k: {r['targets']['beats_baselines_at_every_k']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000, help="history rows to simulate (about)")
    parser.add_argument("--calls", type=int, default=2000, help="single-declaration calls")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    console = Console(stderr=args.json)
    result = run(args.rows, args.calls, args.seed, lambda m: console.print(f"[dim]{m}[/dim]"))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        show(result, console)


if __name__ == "__main__":
    main()
