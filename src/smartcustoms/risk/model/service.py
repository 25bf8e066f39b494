"""The model library: train LightGBM fraud models on labelled history, evaluate them as if the
history arrived then, keep a registry (champion and challenger per procedure), score, explain and
watch score drift.

One name for the library's use cases; the work is split by responsibility:

- `training`: fit and register (features from earlier rows only; `tune` searches hyper-parameters);
- `evaluation`: out-of-time evaluation beside rules-only and random baselines, drift;
- `registry`: listing, activation, retirement, retraining against the champion;
- `serving`: loaded models, scoring and explanations, the history snapshot lodgings score against;
- `metrics`: ranking metrics and histograms (pure).

Training and evaluation use `features.build_training_features`, which computes every row's
features from earlier rows only; scoring at lodging time uses a `Snapshot` of the same
statistics. Models are stored in LightGBM's text format, never pickled.
"""

from __future__ import annotations

from smartcustoms.risk.model.evaluation import (
    HUBS,
    STARTER_RULES,
    drift,
    drift_of,
    evaluate,
    evaluate_frame,
    starter_rules,
)
from smartcustoms.risk.model.metrics import KS, PATTERN_K, psi, ranking
from smartcustoms.risk.model.registry import NotBetter, activate, champion, describe, listing, retire, retrain
from smartcustoms.risk.model.serving import (
    SERVING_TTL_SECONDS,
    SNAPSHOT_TTL_SECONDS,
    Explanation,
    LoadedModel,
    _snapshots,
    for_procedure,
    get,
    invalidate,
    load,
    score_batch,
    snapshot,
)
from smartcustoms.risk.model.training import MAX_ROUNDS, PARAMS, Fitted, fit, train

__all__ = [
    "HUBS",
    "KS",
    "MAX_ROUNDS",
    "PARAMS",
    "PATTERN_K",
    "SERVING_TTL_SECONDS",
    "SNAPSHOT_TTL_SECONDS",
    "STARTER_RULES",
    "Explanation",
    "Fitted",
    "LoadedModel",
    "NotBetter",
    "_snapshots",
    "activate",
    "champion",
    "describe",
    "drift",
    "drift_of",
    "evaluate",
    "evaluate_frame",
    "fit",
    "for_procedure",
    "get",
    "invalidate",
    "listing",
    "load",
    "psi",
    "ranking",
    "retire",
    "retrain",
    "score_batch",
    "snapshot",
    "starter_rules",
    "train",
]
