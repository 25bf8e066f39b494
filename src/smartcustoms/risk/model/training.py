"""Training: fit LightGBM fraud models on labelled history (features from earlier rows only) and
register them; `--tune` searches hyper-parameters on a time-ordered validation window.

LightGBM is imported where it is used: it takes seconds to import.
"""

from __future__ import annotations

import os
import re
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.risk.history import service as history
from smartcustoms.risk.model import features as F
from smartcustoms.risk.model.metrics import _clean_dict, _histogram, ranking
from smartcustoms.risk.model.models import ModelRole, RiskModel

SEED = 20261122
VALIDATION_SHARE = 0.15
MIN_ROWS = 200
MIN_POSITIVES = 10
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "max_cat_to_onehot": 8,
    "metric": "average_precision",
    "num_threads": 1,
    "deterministic": True,
    "force_col_wise": True,
    "seed": SEED,
    "verbose": -1,
}
MAX_ROUNDS = 150  # with 15 leaves: bounded scoring cost (batch and TreeSHAP contributions)
EARLY_STOPPING = 50
# `--tune`: a seeded random sample of this grid, each tried on the time-ordered validation window
# (the last 15 % of the training window), the best average precision kept. Bounded: at most
# TUNE_TRIALS trials and TUNE_SECONDS; at most TUNE_MAX_ROUNDS trees (scoring cost stays bounded).
TUNE_GRID: dict[str, tuple[Any, ...]] = {
    "num_leaves": (15, 31, 63),
    "learning_rate": (0.05, 0.1),
    "min_data_in_leaf": (10, 20, 50, 100),
    "feature_fraction": (0.5, 0.7, 0.9),
    "lambda_l2": (0.0, 1.0, 10.0),
    "native_categorical": (True, False),  # LightGBM's own categorical splits, or the codes as numbers
}
TUNE_TRIALS = 12
TUNE_SECONDS = 240.0
TUNE_MAX_ROUNDS = 300
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,59}$")


def _month_after(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Fitted:
    """A trained booster with everything the registry keeps about it."""

    text: str  # LightGBM's text format
    meta: F.Meta
    train_from: date
    rows: int
    positives: int
    metrics: dict[str, Any]
    histogram: dict[str, Any]


def _trials(n: int) -> list[dict[str, Any]]:
    """The default parameters first, then a seeded sample of the grid (no repeats)."""
    rng = np.random.default_rng(SEED)
    keys = list(TUNE_GRID)
    default = {k: PARAMS.get(k, True) for k in keys}
    out, seen = [default], {tuple(default.values())}
    for _ in range(50 * n):
        if len(out) >= n:
            break
        t = {k: TUNE_GRID[k][int(rng.integers(len(TUNE_GRID[k])))] for k in keys}
        if tuple(t.values()) not in seen:
            seen.add(tuple(t.values()))
            out.append(t)
    return out


def _boost(
    params: dict[str, Any], xv: np.ndarray, y: np.ndarray, fitting: np.ndarray, valid: np.ndarray, names: list[str], cat: list[int]
) -> tuple[str, int, float | None]:
    """One booster: trained on `fitting`, stopped early on `valid`; its text, trees and validation average precision."""
    import lightgbm as lgb

    p = {**PARAMS, **{k: v for k, v in params.items() if k not in ("native_categorical", "max_rounds")}}
    rounds_cap = int(params.get("max_rounds", MAX_ROUNDS))
    cats = cat if params.get("native_categorical", True) else []
    dfit = lgb.Dataset(xv[fitting], y[fitting], feature_name=names, categorical_feature=cats, free_raw_data=True)
    if not valid.any():
        booster = lgb.train(p, dfit, num_boost_round=rounds_cap)
        return booster.model_to_string(num_iteration=rounds_cap), rounds_cap, None
    dvalid = lgb.Dataset(xv[valid], y[valid], reference=dfit)
    booster = lgb.train(
        p, dfit, num_boost_round=rounds_cap, valid_sets=[dvalid], callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)]
    )
    rounds = booster.best_iteration or rounds_cap
    best = booster.best_score.get("valid_0", {}).get("average_precision")
    return booster.model_to_string(num_iteration=rounds), rounds, None if best is None else float(best)


def fit(
    frame: pd.DataFrame, *, train_until: date, train_from: date | None = None, exclude: Sequence[str] = (), tune: bool = False
) -> Fitted:
    """Train on the rows of a facts frame declared in [train_from, train_until) (pure: no database).

    Features of each row come from the frame's rows before it (also those before train_from).
    Without train_from, training starts with the second month of the frame (the first has no
    reference prices yet). The last 15 % of the window (by date) is held out for early stopping,
    the validation metrics, and the score histogram drift is measured against. With `tune`, the
    hyper-parameters are chosen on that window among `TUNE_TRIALS` combinations of `TUNE_GRID`
    (the defaults among them); the trials and the choice are kept in the metrics (`tuning`).
    """
    frame = frame.loc[frame["declared_on"] < pd.Timestamp(train_until)]
    if len(frame) == 0:
        raise ValidationFailed("No history to train on.", [Problem("RSK-MDL-003", "/train_until", f"No history before {train_until}.")])
    start = train_from or _month_after(frame["declared_on"].min().date())
    x, meta = F.build_training_features(frame, exclude=exclude)
    days = frame["declared_on"].dt.date.to_numpy()
    window = days >= start
    y = frame["label_fraud"].to_numpy(dtype=float)
    if window.sum() < MIN_ROWS or y[window].sum() < MIN_POSITIVES:
        raise ValidationFailed(
            "Too little labelled history in the training window.",
            [
                Problem(
                    "RSK-MDL-004",
                    "/train_until",
                    f"{int(window.sum())} rows and {int(y[window].sum())} frauds from {start} to {train_until}; "
                    f"training needs at least {MIN_ROWS} rows and {MIN_POSITIVES} frauds.",
                )
            ],
        )
    win_days = np.sort(days[window])
    split = win_days[min(int(len(win_days) * (1 - VALIDATION_SHARE)), len(win_days) - 1)]
    fitting = window & (days < split)
    valid = window & (days >= split)
    if y[fitting].sum() < MIN_POSITIVES // 2 or y[valid].sum() == 0:
        fitting, valid = window, np.zeros(len(window), dtype=bool)
    import lightgbm as lgb

    cat = [meta.names.index(c) for c in meta.categorical_names]
    xv = x.to_numpy()
    names = list(meta.names)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    chosen: dict[str, Any] = {"native_categorical": True}
    tuning: dict[str, Any] | None = None
    if not (tune and valid.any()):
        text, rounds, _ap = _boost(chosen, xv, y, fitting, valid, names, cat)
    else:
        started, trials = time.monotonic(), []
        best_ap = -1.0
        for params in _trials(TUNE_TRIALS):
            if time.monotonic() - started > TUNE_SECONDS:
                break
            t_text, t_rounds, ap = _boost({**params, "max_rounds": TUNE_MAX_ROUNDS}, xv, y, fitting, valid, names, cat)
            trials.append({**params, "rounds": t_rounds, "average_precision": ap})
            if ap is not None and ap > best_ap:
                best_ap, chosen, text, rounds = ap, params, t_text, t_rounds
        tuning = {"trials": trials, "chosen": chosen, "seconds": time.monotonic() - started, "criterion": "average_precision"}
    final = lgb.Booster(model_str=text)
    holdout = valid if valid.any() else window
    scores = np.asarray(final.predict(xv[holdout], num_threads=1), dtype=float)
    revenue = frame["revenue_recovered"].to_numpy(dtype=float)
    gain = final.feature_importance("gain")
    importance = sorted(zip(meta.names, (float(g) for g in gain), strict=True), key=lambda t: -t[1])
    metrics: dict[str, Any] = {
        "validation": {
            "from": str(split) if valid.any() else None,
            "rows": int(holdout.sum()),
            "positives": int(y[holdout].sum()),
            **ranking(y[holdout], scores, revenue[holdout]),
        },
        "rounds": int(rounds),
        "importance": [{"feature": f, "gain": g} for f, g in importance[:15]],
        "params": {**{k: v for k, v in PARAMS.items() if k not in ("verbose",)}, **chosen},
        "tuned": tuning is not None,
    }
    if tuning is not None:
        metrics["tuning"] = tuning
    return Fitted(text, meta, start, int(window.sum()), int(y[window].sum()), _clean_dict(metrics), _clean_dict(_histogram(scores)))


def train(
    session: Session,
    *,
    name: str,
    train_until: date,
    train_from: date | None = None,
    procedure: str = "*",
    exclude: Sequence[str] = (),
    tune: bool = False,
    actor: Actor,
    now: datetime,
) -> RiskModel:
    """Train a LightGBM fraud model on the history declared in [train_from, train_until) and register it (see `fit`)."""
    problems = []
    if not _NAME.match(name):
        problems.append(Problem("RSK-MDL-001", "/name", "A model name is 1 to 60 characters: lower case letters, digits, '.', '_', '-'."))
    if train_from is not None and train_from >= train_until:
        problems.append(Problem("RSK-MDL-002", "/train_from", "train_from must be before train_until."))
    if problems:
        raise ValidationFailed("The model cannot be trained.", problems)
    fitted = fit(
        history.frame(session, date_to=train_until, knowledge=False),
        train_until=train_until,
        train_from=train_from,
        exclude=exclude,
        tune=tune,
    )
    version = (session.scalar(select(func.max(RiskModel.version)).where(RiskModel.name == name)) or 0) + 1
    row = RiskModel(
        name=name,
        version=version,
        kind="fraud",
        procedure=procedure,
        role=ModelRole.registered,
        train_from=fitted.train_from,
        train_until=train_until,
        rows=fitted.rows,
        positives=fitted.positives,
        metrics=fitted.metrics,
        features=fitted.meta.as_json(),
        score_histogram=fitted.histogram,
        artefact=zlib.compress(fitted.text.encode("utf-8"), 6),
        created_by=actor.name,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="risk_model.trained",
        subject_type="risk_model",
        subject_id=f"{name}/v{version}",
        now=now,
        after={
            "train_from": fitted.train_from.isoformat(),
            "train_until": train_until.isoformat(),
            "rows": row.rows,
            "positives": row.positives,
            "rounds": fitted.metrics["rounds"],
            "validation_auc": fitted.metrics["validation"]["auc"],
            "features": len(fitted.meta.names),
            "tuned": fitted.metrics["tuned"],
            "params": {k: fitted.metrics["params"][k] for k in TUNE_GRID},
        },
    )
    return row
