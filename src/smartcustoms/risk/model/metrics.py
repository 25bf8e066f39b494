"""Ranking metrics (precision, recall and revenue at the top k %, AUC), score histograms and the
population stability index; JSON-safe rounding (pure: numpy, scikit-learn)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

KS = (1, 2, 5, 10)
PATTERN_K = 5  # the inspection rate (%) the per-pattern catch is reported at


def _clean_dict(d: dict[str, Any]) -> dict[str, Any]:
    """`_clean` of a dictionary."""
    return {str(k): _clean(v) for k, v in d.items()}


def _clean(x: Any) -> Any:
    """JSON-safe: floats rounded, NaN as null, numpy scalars as Python numbers."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        f = float(x)
        return None if math.isnan(f) or math.isinf(f) else round(f, 6)
    return x


def _top_weights(score: np.ndarray, share: float) -> np.ndarray:
    """Weights selecting the top `share` of rows; rows tied at the cut share the remaining places (the expected value)."""
    n = len(score)
    m = max(1, round(n * share))
    if m >= n:
        return np.ones(n)
    cut = np.partition(-score, m - 1)[m - 1] * -1
    above = score > cut
    tied = score == cut
    w = above.astype(float)
    w[tied] = (m - above.sum()) / tied.sum()
    return np.asarray(w, dtype=float)


def ranking(y: np.ndarray, score: np.ndarray, revenue: np.ndarray, ks: Sequence[int] = KS) -> dict[str, Any]:
    """Precision, recall and revenue captured when the top k % are checked, and AUC."""
    from sklearn.metrics import roc_auc_score

    pos, rev = float(y.sum()), float(revenue.sum())
    out: dict[str, Any] = {"precision_at": {}, "recall_at": {}, "revenue_at": {}}
    for k in ks:
        w = _top_weights(score, k / 100)
        caught = float((w * y).sum())
        out["precision_at"][str(k)] = caught / w.sum() if w.sum() else None
        out["recall_at"][str(k)] = caught / pos if pos else None
        out["revenue_at"][str(k)] = float((w * revenue).sum()) / rev if rev else None
    out["auc"] = float(roc_auc_score(y, score)) if 0 < pos < len(y) else None
    return out


def _random_baseline(y: np.ndarray, revenue: np.ndarray, ks: Sequence[int] = KS) -> dict[str, Any]:
    rate = float(y.mean()) if len(y) else None
    return {
        "precision_at": {str(k): rate for k in ks},
        "recall_at": {str(k): k / 100 for k in ks},
        "revenue_at": {str(k): (k / 100 if revenue.sum() else None) for k in ks},
        "auc": 0.5,
    }


def psi(edges: Sequence[float], expected: Sequence[float], scores: np.ndarray) -> tuple[float, list[float]]:
    """Population stability index of scores against expected bin shares (bins cut at `edges`)."""
    counts = np.bincount(np.searchsorted(np.asarray(edges, dtype=float), scores, side="right"), minlength=len(expected))
    actual = counts / max(len(scores), 1)
    e = np.maximum(np.asarray(expected, dtype=float), 1e-4)
    a = np.maximum(actual, 1e-4)
    return float(np.sum((a - e) * np.log(a / e))), [float(v) for v in actual]


def _histogram(scores: np.ndarray) -> dict[str, Any]:
    edges = sorted({float(v) for v in np.quantile(scores, np.linspace(0.1, 0.9, 9))}) if len(scores) else []
    counts = np.bincount(np.searchsorted(np.asarray(edges), scores, side="right"), minlength=len(edges) + 1)
    return {
        "edges": edges,
        "expected": [float(c) for c in counts / max(len(scores), 1)],
        "rows": len(scores),
        "mean": float(scores.mean()) if len(scores) else None,
        "basis": "validation",
        # Scores at probabilities 0, 0.005, ..., 1: selectivity turns an office's target rates into thresholds.
        "quantiles": [float(v) for v in np.quantile(scores, np.linspace(0.0, 1.0, 201))] if len(scores) else [],
    }
