"""Model quality through the product's own commands, beside a plain LightGBM baseline on the same split.

    python -m bench.model_quality [--profile wide|date] [--rows 60000 --seed 1] [--csv FILE --mapping MAP.toml]
        [--train-until 2020-12-31 --from 2021-04-01 --to 2021-06-30] [--no-tune] [--json]

Without --csv it writes the wide-market simulation (`risk/market.py`: thousands of importers,
sellers and subheadings, fraud concentrated in identifiers and their crosses, no quantity, tax in
percent) and maps it with docs/examples/wide-history.toml; `--profile date` writes the market
calibrated to the held-back dataset (HS6 codes, "Tax Rate (%)") and maps it with
docs/examples/date-history.toml. Then, in a fresh SQLite database:
`smartcustoms init`, `risk import-history`, `risk train` (defaults, and `--tune`), `risk
evaluate` for each (the period's rows scored as if they arrived then). The baseline is a plain
LightGBM on the raw columns with careful encoding: every categorical column (and the crosses
importer×HS6, HS6×origin, office×importer, declarant×importer) target-encoded out of fold (5
folds, smoothed) on the training rows and with all training rows for the test rows, plus
frequency encoding, native categorical codes for the small columns, early stopping on the last
15 % (by date) of training. It sees no label after --train-until.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import machine, temporary_database

ROOT = Path(__file__).resolve().parents[1]
KS = (1, 5, 10)


def _cli(url: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, "SMARTCUSTOMS_DATABASE_URL": url, "OMP_NUM_THREADS": "1", "SMARTCUSTOMS_ENV": "development"}
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", "from smartcustoms.cli.main import app; app()", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"smartcustoms {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    out: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip().startswith(("{", "[")) else {}
    out["_seconds"] = round(time.monotonic() - t0, 1)
    return out


def _precision(y: np.ndarray, s: np.ndarray, k: int) -> float:
    m = max(1, round(len(s) * k / 100))
    return float(y[np.argsort(-s, kind="stable")[:m]].mean())


def _te(train_key: pd.Series, y: np.ndarray, test_key: pd.Series, folds: np.ndarray, prior: float, a: float = 10.0) -> tuple[Any, Any]:
    """Out-of-fold smoothed target encoding for the training rows; all training rows for the test rows."""
    oof = np.full(len(train_key), prior)
    for f in np.unique(folds):
        inside = folds == f
        g = pd.DataFrame({"k": train_key[~inside].to_numpy(), "y": y[~inside]}).groupby("k")["y"].agg(["sum", "count"])
        enc = (g["sum"] + a * prior) / (g["count"] + a)
        oof[inside] = train_key[inside].map(enc).fillna(prior).to_numpy()
    g = pd.DataFrame({"k": train_key.to_numpy(), "y": y}).groupby("k")["y"].agg(["sum", "count"])
    return oof, test_key.map((g["sum"] + a * prior) / (g["count"] + a)).fillna(prior).to_numpy()


def _oracle(columns: dict[str, Any], date_from: str, date_to: str) -> dict[str, Any]:
    """The simulator's true probability as a ranking over the period: the ceiling of any model."""
    from sklearn.metrics import roc_auc_score

    d = pd.to_datetime(pd.Series(columns["Date"]))
    period = ((d >= pd.Timestamp(date_from)) & (d <= pd.Timestamp(date_to))).to_numpy()
    y, p = columns["Fraud"][period].astype(int), np.asarray(columns["probability"])[period]
    return {
        "rows": int(period.sum()),
        "positives": int(y.sum()),
        "precision_at": {str(k): _precision(y, p, k) for k in KS},
        "auc": float(roc_auc_score(y, p)),
    }


def baseline(
    df: pd.DataFrame, label: str, date_col: str, train_until: str, date_from: str, date_to: str, crosses: list[tuple[str, str]]
) -> dict[str, Any]:
    """Plain LightGBM with careful encoding on the raw CSV columns (see the module docstring)."""
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    d = pd.to_datetime(df[date_col])
    train, test = (
        df[d <= pd.Timestamp(train_until)].reset_index(drop=True),
        df[(d >= pd.Timestamp(date_from)) & (d <= pd.Timestamp(date_to))].reset_index(drop=True),
    )
    y, yt = train[label].astype(int).to_numpy(), test[label].astype(int).to_numpy()
    cats = [
        c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c]) and c not in (date_col, label) and df[c].nunique() < len(df) * 0.5
    ]
    nums = [c for c in df.columns if c not in cats and c not in (label, date_col) and pd.api.types.is_numeric_dtype(df[c])]
    folds = np.random.default_rng(0).integers(0, 5, len(train))
    prior = float(y.mean())
    xtr, xte = pd.DataFrame(index=train.index), pd.DataFrame(index=test.index)
    keys = {c: (train[c].astype(str), test[c].astype(str)) for c in cats}
    for a, b in crosses:
        keys[f"{a}*{b}"] = (train[a].astype(str) + "|" + train[b].astype(str), test[a].astype(str) + "|" + test[b].astype(str))
    for name, (ktr, kte) in keys.items():
        xtr[f"te_{name}"], xte[f"te_{name}"] = _te(ktr, y, kte, folds, prior)
        freq = ktr.value_counts()
        xtr[f"fq_{name}"], xte[f"fq_{name}"] = ktr.map(freq).to_numpy(), kte.map(freq).fillna(0).to_numpy()
        if name in cats and ktr.nunique() <= 100:
            levels = {v: i for i, v in enumerate(sorted(ktr.unique()))}
            xtr[f"cat_{name}"], xte[f"cat_{name}"] = ktr.map(levels).to_numpy(), kte.map(levels).fillna(-1).to_numpy()
    for c in nums:
        xtr[c], xte[c] = np.log1p(train[c].clip(lower=0)), np.log1p(test[c].clip(lower=0))
    catcols = [c for c in xtr.columns if c.startswith("cat_")]
    cut = pd.to_datetime(train[date_col]).quantile(0.85)
    fit = (pd.to_datetime(train[date_col]) < cut).to_numpy()
    params = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.7,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "metric": "average_precision",
        "num_threads": 1,
        "seed": 1,
        "verbose": -1,
    }
    dfit = lgb.Dataset(xtr[fit], y[fit], categorical_feature=catcols)
    booster = lgb.train(
        params, dfit, 1000, valid_sets=[lgb.Dataset(xtr[~fit], y[~fit], reference=dfit)], callbacks=[lgb.early_stopping(50, verbose=False)]
    )
    s = np.asarray(booster.predict(xte, num_iteration=booster.best_iteration), dtype=float)
    return {
        "rows": len(test),
        "positives": int(yt.sum()),
        "precision_at": {str(k): _precision(yt, s, k) for k in KS},
        "auc": float(roc_auc_score(yt, s)),
        "trees": booster.best_iteration,
        "features": xtr.shape[1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=("wide", "date"), default="wide", help="the simulated market (without --csv)")
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--csv", type=Path)
    ap.add_argument("--mapping", type=Path)
    ap.add_argument("--train-until", default="2020-12-31")
    ap.add_argument("--from", dest="date_from", default="2021-04-01")
    ap.add_argument("--to", dest="date_to", default="2021-06-30")
    ap.add_argument("--no-tune", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    info: dict[str, Any] = {"machine": machine(None), "args": {k: str(v) for k, v in vars(a).items()}}
    with temporary_database("sqlite", "", name="quality") as (url, work):
        csv_path, mapping = a.csv, a.mapping or ROOT / "docs" / "examples" / f"{a.profile}-history.toml"
        if csv_path is None:
            from smartcustoms.risk import market

            csv_path = work / f"{a.profile}.csv"
            generated = market.generate(a.rows, seed=a.seed, profile=a.profile)
            market.write_csv(csv_path, generated)
            info["oracle"] = _oracle(generated, a.date_from, a.date_to)
        _cli(url, "init")
        imp = _cli(url, "risk", "import-history", str(csv_path), "--mapping", str(mapping))
        info["import"] = {k: imp.get(k) for k in ("read", "rejected", "stored", "reasons", "_seconds")}
        # The CLI's --to is exclusive; the periods are inclusive.
        to_excl = str((pd.Timestamp(a.date_to) + pd.Timedelta(days=1)).date())
        until_excl = str((pd.Timestamp(a.train_until) + pd.Timedelta(days=1)).date())
        for name, extra in (("default", []), *([] if a.no_tune else [("tuned", ["--tune"])])):
            t = _cli(url, "risk", "train", "--name", name, "--train-until", until_excl, *extra)
            e = _cli(url, "risk", "evaluate", "--model", name, "--from", a.date_from, "--to", to_excl)
            info[name] = {
                "train_seconds": t["_seconds"],
                "params": t.get("params"),
                "rows": e["rows"],
                "positives": e["positives"],
                "precision_at": {k: e["precision_at"][k] for k in ("1", "5", "10")},
                "auc": e["auc"],
                "rules": {
                    "precision_at": {k: e["baselines"]["rules"]["precision_at"][k] for k in ("1", "5", "10")},
                    "skipped": e["baselines"]["rules"].get("skipped"),
                },
            }
        raw = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        import tomllib

        cols = tomllib.loads(mapping.read_text(encoding="utf-8"))["columns"]
        col = {k: (v if isinstance(v, str) else v.get("column")) for k, v in cols.items()}
        for c in (col.get("value"), col.get("net_mass_kg"), col.get("duty_rate"), col.get("quantity")):
            if c in raw.columns:
                raw[c] = pd.to_numeric(raw[c], errors="coerce")
        raw = raw.drop(columns=[c for c in (col.get("declaration_id"), col.get("label_critical"), col.get("revenue_recovered")) if c])
        crosses = [
            (col["importer_id"], col["hs_code"]),
            (col["hs_code"], col["origin_country"]),
            (col["office"], col["importer_id"]),
            (col["declarant_id"], col["importer_id"]),
        ]
        t0 = time.monotonic()
        info["baseline"] = baseline(raw, col["label_fraud"], col["declared_on"], a.train_until, a.date_from, a.date_to, crosses)
        info["baseline"]["seconds"] = round(time.monotonic() - t0, 1)
    if a.json:
        print(json.dumps(info, indent=2))
        return
    print(f"{info['machine']['date']}  {info['machine']['cpu']}  import {info['import']}")
    for name in ("oracle", "default", "tuned", "baseline"):
        if name in info:
            r = info[name]
            p = r["precision_at"]
            print(
                f"{name:9s} precision@1/5/10 % = {p['1']:.3f} / {p['5']:.3f} / {p['10']:.3f}  AUC {r['auc']:.3f}  "
                f"({r['rows']} rows, {r['positives']} frauds; {r.get('train_seconds', r.get('seconds'))} s)"
            )


if __name__ == "__main__":
    main()
