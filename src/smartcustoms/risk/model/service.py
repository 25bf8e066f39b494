"""The model library: train LightGBM fraud models on labelled history, evaluate them as if the
history arrived then, keep a registry (champion and challenger per procedure), score, explain and
watch score drift.

LightGBM and scikit-learn are imported where they are used: they take seconds to import, and every
command of the console script imports this module.

Training and evaluation use `features.build_training_features`, which computes every row's
features from earlier rows only; scoring at lodging time uses a `Snapshot` of the same
statistics. Models are stored in LightGBM's text format, never pickled.
"""

from __future__ import annotations

import calendar
import math
import os
import re
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.errors import Conflict, NotFound, Problem, ValidationFailed
from smartcustoms.risk.history import service as history
from smartcustoms.risk.model import features as F
from smartcustoms.risk.model.models import ModelRole, RiskModel
from smartcustoms.risk.parameter.domain import compile_condition
from smartcustoms.risk.parameter.service import ActiveRule, score_frame

KS = (1, 2, 5, 10)
PATTERN_K = 5
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
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,59}$")

# The rules-only baseline when the parameter library has no rule in force: conditions any customs
# analyst would start from, written in the facts language (risk/facts.py). Weights add up.
HUBS = ["SG", "HK", "AE", "MY", "PA"]
STARTER_RULES: tuple[dict[str, Any], ...] = (
    {
        "code": "START-PRICE",
        "name": "Unit price far under the reference",
        "weight": 3.0,
        "condition": {"fact": "price_ratio", "op": "lt", "value": 0.6},
    },
    {
        "code": "START-NEW",
        "name": "First declaration of the importer",
        "weight": 1.0,
        "condition": {"fact": "importer_first", "op": "is", "value": True},
    },
    {
        "code": "START-HUB",
        "name": "Shipped through a transshipment hub",
        "weight": 1.0,
        "condition": {"fact": "departure_country", "op": "in", "value": HUBS},
    },
    {
        "code": "START-CREDIT",
        "name": "Importer with a low credit rating",
        "weight": 1.0,
        "condition": {"fact": "importer_credit", "op": "eq", "value": "low"},
    },
    {
        "code": "START-WATCH",
        "name": "A party is on a watch list",
        "weight": 3.0,
        "condition": {
            "any": [
                {"fact": "consignor_watchlisted", "op": "is", "value": True},
                {"fact": "importer_watchlisted", "op": "is", "value": True},
                {"fact": "declarant_watchlisted", "op": "is", "value": True},
            ]
        },
    },
    {"code": "START-PROHIBITED", "name": "Prohibited goods", "weight": 5.0, "condition": {"fact": "prohibited", "op": "is", "value": True}},
)


def starter_rules() -> tuple[ActiveRule, ...]:
    """The built-in starter rule set, compiled."""
    return tuple(
        ActiveRule(0, r["code"], 1, r["name"], r["name"], "", None, float(r["weight"]), None, compile_condition(r["condition"], {}))
        for r in STARTER_RULES
    )


# --- loaded models -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """Why a declaration scored what it did: the riskiest item's feature contributions (log-odds)."""

    score: float  # probability of fraud, the riskiest item
    raw: float  # log-odds = base + sum of contributions
    base: float  # the model's expected log-odds
    line: Any  # the item line that scored highest
    contributions: list[dict[str, Any]]  # {"feature", "description", "value", "contribution"}, largest |contribution| first

    def top(self, n: int = 8) -> list[dict[str, Any]]:
        """The n largest contributions, for storing with an assessment."""
        return self.contributions[:n]


class LoadedModel:
    """A registered model ready to score: the booster and its feature metadata."""

    def __init__(
        self,
        *,
        name: str,
        version: int,
        meta: F.Meta,
        histogram: dict[str, Any],
        model_text: str,
        procedure: str = "*",
        role: str = "registered",
    ) -> None:
        self.name, self.version, self.procedure, self.role = name, version, procedure, role
        import lightgbm as lgb

        self.meta = meta
        self.histogram = dict(histogram)
        self.booster = lgb.Booster(model_str=model_text)
        self._encoders: dict[int, F.RowEncoder] = {}

    @classmethod
    def from_row(cls, row: RiskModel) -> LoadedModel:
        """From the registry."""
        return cls(
            name=row.name,
            version=row.version,
            meta=F.Meta.from_json(row.features),
            histogram=row.score_histogram,
            model_text=zlib.decompress(row.artefact).decode("utf-8"),
            procedure=row.procedure,
            role=row.role.value,
        )

    @classmethod
    def from_fitted(cls, fitted: Fitted, *, name: str = "unregistered", version: int = 0) -> LoadedModel:
        """Straight from `fit` (benchmarks, experiments)."""
        return cls(name=name, version=version, meta=fitted.meta, histogram=fitted.histogram, model_text=fitted.text)

    @property
    def label(self) -> str:
        """name/vN."""
        return f"{self.name}/v{self.version}"

    def predict(self, x: np.ndarray | pd.DataFrame) -> np.ndarray:
        """Probabilities for a feature matrix."""
        arr = x.to_numpy() if isinstance(x, pd.DataFrame) else x
        if len(arr) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(arr, num_threads=1), dtype=float)

    def encoder(self, snapshot: F.Snapshot) -> F.RowEncoder:
        """The row encoder for a snapshot (kept while the snapshot is the same object)."""
        enc = self._encoders.get(id(snapshot))
        if enc is None or enc.snapshot is not snapshot:
            self._encoders = {id(snapshot): (enc := F.RowEncoder(snapshot, self.meta))}
        return enc

    def score_one(self, facts_rows: Sequence[dict[str, Any]], snapshot: F.Snapshot, *, on: date) -> tuple[float, Explanation]:
        """Score one declaration (its items' facts rows) without building a DataFrame; the riskiest item decides."""
        if not facts_rows:
            raise ValueError("a declaration has at least one item")
        x = self.encoder(snapshot).features(facts_rows, on)
        raws = np.asarray(self.booster.predict(x, raw_score=True, num_threads=1), dtype=float)
        i = int(np.argmax(raws))
        # Contributions (TreeSHAP) cost far more than a prediction: only for the item that decides.
        contrib = np.asarray(self.booster.predict(x[i : i + 1], pred_contrib=True, num_threads=1), dtype=float)[0]
        raw, base = float(raws[i]), float(contrib[-1])
        parts = contrib[:-1]
        order = np.argsort(-np.abs(parts), kind="stable")
        items = [
            {
                "feature": self.meta.names[j],
                "description": F.DESCRIPTIONS.get(
                    self.meta.names[j], self.meta.names[j].removeprefix("cat_").replace("_", " ") + " (extra column)"
                ),
                "value": None if math.isnan(x[i, j]) else float(x[i, j]),
                "contribution": float(parts[j]),
            }
            for j in order
        ]
        score = 1.0 / (1.0 + math.exp(-raw))
        return score, Explanation(score, raw, base, facts_rows[i].get("line"), items)


_lock = threading.Lock()
_models: dict[tuple[str, str, int], LoadedModel] = {}


def _url(session: Session) -> str:
    return str(session.get_bind().engine.url)


def get(session: Session, *, name: str, version: int | None = None) -> RiskModel:
    """A registered model version (the newest when no version is given)."""
    stmt = select(RiskModel).where(RiskModel.name == name)
    stmt = stmt.where(RiskModel.version == version) if version is not None else stmt.order_by(RiskModel.version.desc()).limit(1)
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"No model {name}" + (f" version {version}." if version is not None else "."), code="model_not_found")
    return row


def load(session: Session, *, name: str, version: int | None = None) -> LoadedModel:
    """A model ready to score; boosters are cached per database, name and version (artefacts never change)."""
    row = get(session, name=name, version=version)
    return _serving(session, row.name, row.version, row.procedure, row.role, row)


def _serving(session: Session, name: str, version: int, procedure: str, role: ModelRole, row: RiskModel | None = None) -> LoadedModel:
    """The cached model of a version (read from the registry on a miss), marked with its current procedure and role."""
    key = (_url(session), name, version)
    hit = _models.get(key)
    if hit is None:
        hit = LoadedModel.from_row(row if row is not None else get(session, name=name, version=version))
        with _lock:
            if len(_models) > 32:
                _models.clear()
            _models[key] = hit
    hit.procedure, hit.role = procedure, role.value
    return hit


def score_batch(model: LoadedModel, frame: pd.DataFrame, snapshot: F.Snapshot | None = None) -> np.ndarray:
    """Scores of a facts frame: new rows against a snapshot, or (no snapshot) history rows from their own past."""
    if snapshot is not None:
        x = F.build_scoring_features(frame, snapshot, model.meta)
    else:
        x, _ = F.build_training_features(frame, model.meta)
    return model.predict(x)


_snapshots: dict[tuple[str, date], tuple[float, int, F.Snapshot]] = {}
SNAPSHOT_TTL_SECONDS = 600.0


def snapshot(session: Session, *, until: date, max_age: float = SNAPSHOT_TTL_SECONDS) -> F.Snapshot:
    """Track records and references from all history before `until`, cached per database and day.

    The cache holds for ten minutes (`max_age`), or until history changes in this process (an
    import or an outcome); another process's changes are seen within the ten minutes. The
    runtime's worker rebuilds it before it expires (`selectivity.keep_warm`), so that lodgings
    do not pay for the rebuild.
    """
    key = (_url(session), until)
    n = history.generation()
    hit = _snapshots.get(key)
    if hit is not None and hit[1] == n and time.monotonic() - hit[0] < max_age:
        return hit[2]
    snap = F.make_snapshot(history.frame(session, date_to=until, knowledge=False), until)
    with _lock:
        if len(_snapshots) > 8:
            _snapshots.clear()
        _snapshots[key] = (time.monotonic(), n, snap)
    return snap


def invalidate() -> None:
    """Forget loaded models and history snapshots (a database was reset, or tests share one URL)."""
    with _lock:
        _models.clear()
        _snapshots.clear()
        _serving_rows.clear()


# Built once: this runs in every lodging's transaction, and building a statement costs more than
# running it. Only the columns that say which version serves; the artefact is read on a cache miss.
_SERVING = select(RiskModel.name, RiskModel.version, RiskModel.procedure, RiskModel.role).where(
    RiskModel.role.in_((ModelRole.champion, ModelRole.challenger)), RiskModel.procedure.in_(bindparam("procedures", expanding=True))
)


SERVING_TTL_SECONDS = 10.0
_serving_rows: dict[tuple[str, str], tuple[float, list[Any]]] = {}


def _forget_serving(session: Session) -> None:
    """A model changed role: forget who serves now, and once more when the change is committed."""
    _serving_rows.clear()
    event.listen(session, "after_commit", lambda _s: _serving_rows.clear(), once=True)


def for_procedure(session: Session, *, procedure: str) -> tuple[LoadedModel | None, LoadedModel | None]:
    """The champion and the challenger serving a procedure (a procedure's own, else those for "*").

    Which versions serve is remembered for `SERVING_TTL_SECONDS`: an activation or retirement in
    this process is seen at once, one in another process (the CLI) within that time.
    """
    key = (_url(session), procedure)
    hit = _serving_rows.get(key)
    if hit is not None and time.monotonic() - hit[0] < SERVING_TTL_SECONDS:
        rows = hit[1]
    else:
        rows = list(session.execute(_SERVING, {"procedures": sorted({procedure, "*"})}).all())
        with _lock:
            if len(_serving_rows) > 64:
                _serving_rows.clear()
            _serving_rows[key] = (time.monotonic(), rows)
    out: list[LoadedModel | None] = []
    for role in (ModelRole.champion, ModelRole.challenger):
        own = [r for r in rows if r.role == role and r.procedure == procedure]
        row = own[0] if own else next((r for r in rows if r.role == role and r.procedure == "*"), None)
        out.append(_serving(session, row.name, row.version, row.procedure, row.role) if row is not None else None)
    return out[0], out[1]


# --- metrics ---------------------------------------------------------------------------------------


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


# --- training ----------------------------------------------------------------------------------------


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


def fit(frame: pd.DataFrame, *, train_until: date, train_from: date | None = None, exclude: Sequence[str] = ()) -> Fitted:
    """Train on the rows of a facts frame declared in [train_from, train_until) (pure: no database).

    Features of each row come from the frame's rows before it (also those before train_from).
    Without train_from, training starts with the second month of the frame (the first has no
    reference prices yet). The last 15 % of the window (by date) is held out for early stopping,
    the validation metrics, and the score histogram drift is measured against.
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
    dfit = lgb.Dataset(xv[fitting], y[fitting], feature_name=list(meta.names), categorical_feature=cat, free_raw_data=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if valid.any():
        dvalid = lgb.Dataset(xv[valid], y[valid], reference=dfit)
        booster = lgb.train(
            PARAMS, dfit, num_boost_round=MAX_ROUNDS, valid_sets=[dvalid], callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)]
        )
        rounds = booster.best_iteration or MAX_ROUNDS
    else:
        rounds = 150
        booster = lgb.train(PARAMS, dfit, num_boost_round=rounds)
    text = booster.model_to_string(num_iteration=rounds)
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
        "params": {k: v for k, v in PARAMS.items() if k not in ("verbose",)},
    }
    return Fitted(text, meta, start, int(window.sum()), int(y[window].sum()), _clean_dict(metrics), _clean_dict(_histogram(scores)))


def train(
    session: Session,
    *,
    name: str,
    train_until: date,
    train_from: date | None = None,
    procedure: str = "*",
    exclude: Sequence[str] = (),
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
        history.frame(session, date_to=train_until, knowledge=False), train_until=train_until, train_from=train_from, exclude=exclude
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
        },
    )
    return row


# --- evaluation -----------------------------------------------------------------------------------------


def evaluate(
    session: Session,
    *,
    model_name: str,
    version: int | None = None,
    date_from: date,
    date_to: date,
    rules: Sequence[ActiveRule] | None = None,
) -> dict[str, Any]:
    """Score the history declared in [date_from, date_to) as if it arrived then, beside a random and a rules-only baseline.

    The rules baseline uses `rules`, else the rules in force on date_from, else the starter set
    (`STARTER_RULES`). See `evaluate_frame`.
    """
    if date_from >= date_to:
        raise ValidationFailed("Empty period.", [Problem("RSK-MDL-005", "/to", "The end of the period must be after its start.")])
    model = load(session, name=model_name, version=version)
    source = "given"
    if rules is None:
        rules, source = _baseline_rules(session, on=date_from)
    return evaluate_frame(
        model, history.frame(session, date_to=date_to), date_from=date_from, date_to=date_to, rules=rules, rules_source=source
    )


def _baseline_rules(session: Session, *, on: date) -> tuple[Sequence[ActiveRule], str]:
    """The rules baseline of an evaluation: the rules in force on a day, else the starter set."""
    from smartcustoms.risk.parameter import service as parameters

    rules: Sequence[ActiveRule] = parameters.active(session, on=on)
    if not rules:
        return starter_rules(), "starter rules"
    return rules, f"{len(rules)} rules in force on {on}"


def evaluate_frame(
    model: LoadedModel, frame: pd.DataFrame, *, date_from: date, date_to: date, rules: Sequence[ActiveRule], rules_source: str = "given"
) -> dict[str, Any]:
    """Evaluate on the rows of a facts frame declared in [date_from, date_to), as if they arrived then (pure).

    Every row's features come from the frame's rows before its day, so nothing of the period's
    future is used. The rules baseline scores the same rows; its price_ratio uses the same
    leak-free reference prices as the model.
    """
    if date_from >= date_to:
        raise ValidationFailed("Empty period.", [Problem("RSK-MDL-005", "/to", "The end of the period must be after its start.")])
    frame = frame.loc[frame["declared_on"] < pd.Timestamp(date_to)]
    period = (frame["declared_on"] >= pd.Timestamp(date_from)).to_numpy()
    if not period.any():
        raise ValidationFailed(
            "No history in the period.", [Problem("RSK-MDL-006", "/from", f"No history declared from {date_from} to {date_to}.")]
        )
    x, _ = F.build_training_features(frame, model.meta)
    scores = model.predict(x.to_numpy()[period])
    rows = frame.loc[period].copy()
    y = rows["label_fraud"].to_numpy(dtype=float)
    revenue = rows["revenue_recovered"].to_numpy(dtype=float)
    out: dict[str, Any] = {
        "model": {"name": model.name, "version": model.version},
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "rows": int(period.sum()),
        "positives": int(y.sum()),
        **ranking(y, scores, revenue),
    }
    ratio = np.exp(x["price_dev"].to_numpy()[period])
    rows["price_ratio"] = ratio
    rows["reference_price"] = rows["unit_price"].to_numpy(dtype=float) / ratio
    rule_scores, errors = score_frame(rules, rows)
    out["baselines"] = {
        "rules": {
            **ranking(y, rule_scores, revenue),
            "source": rules_source,
            "rules": [r.code for r in rules],
            "rows_with_errors": int((errors > 0).sum()),
        },
        "random": _random_baseline(y, revenue),
    }
    if "pattern" in rows.columns:
        pat = rows["pattern"].fillna("").astype(str).to_numpy()
        wm, wr = _top_weights(scores, PATTERN_K / 100), _top_weights(rule_scores, PATTERN_K / 100)
        out["patterns"] = {
            p: {
                "rows": int((pat == p).sum()),
                "model": float(wm[pat == p].mean()),
                "rules": float(wr[pat == p].mean()),
                "random": PATTERN_K / 100,
            }
            for p in sorted(set(pat) - {""})
        }
        out["patterns_at"] = str(PATTERN_K)
    return _clean_dict(out)


# --- registry -----------------------------------------------------------------------------------------


def listing(session: Session, *, name: str | None = None) -> Sequence[RiskModel]:
    """Registered models by name, newest version first."""
    stmt = select(RiskModel).order_by(RiskModel.name, RiskModel.version.desc())
    if name is not None:
        stmt = stmt.where(RiskModel.name == name)
    return session.scalars(stmt).all()


def describe(row: RiskModel) -> dict[str, Any]:
    """A registry entry for listings (no artefact)."""
    return {
        "name": row.name,
        "version": row.version,
        "kind": row.kind,
        "procedure": row.procedure,
        "role": row.role.value,
        "train_from": row.train_from.isoformat(),
        "train_until": row.train_until.isoformat(),
        "rows": row.rows,
        "positives": row.positives,
        "validation_auc": (row.metrics.get("validation") or {}).get("auc"),
        "features": len(row.features.get("names", [])),
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }


def activate(session: Session, *, name: str, version: int, role: str, procedure: str = "*", actor: Actor, now: datetime) -> RiskModel:
    """Make a model version the champion (decides) or the challenger (scores in shadow) of a procedure.

    The version that held the role for the procedure goes back to registered.
    """
    try:
        new_role = ModelRole(role)
    except ValueError:
        new_role = None
    if new_role not in (ModelRole.champion, ModelRole.challenger):
        raise ValidationFailed("Unknown role.", [Problem("RSK-MDL-007", "/role", "The role is champion or challenger.")])
    assert new_role is not None
    row = get(session, name=name, version=version)
    if row.role is ModelRole.retired:
        raise Conflict(f"Model {name}/v{version} is retired.", code="model_retired")
    before = {"role": row.role.value, "procedure": row.procedure}
    for old in session.scalars(
        select(RiskModel).where(RiskModel.role == new_role, RiskModel.procedure == procedure, RiskModel.id != row.id)
    ):
        old_before = {"role": old.role.value, "procedure": old.procedure}
        old.role = ModelRole.registered
        record(
            session,
            actor=actor,
            action="risk_model.replaced",
            subject_type="risk_model",
            subject_id=f"{old.name}/v{old.version}",
            now=now,
            before=old_before,
            after={"role": old.role.value, "procedure": old.procedure},
            reason=f"{name}/v{version} became {new_role.value} for {procedure}",
        )
    row.role, row.procedure = new_role, procedure
    session.flush()
    _forget_serving(session)
    record(
        session,
        actor=actor,
        action="risk_model.activated",
        subject_type="risk_model",
        subject_id=f"{name}/v{version}",
        now=now,
        before=before,
        after={"role": row.role.value, "procedure": procedure},
    )
    return row


def retire(session: Session, *, name: str, version: int, reason: str, actor: Actor, now: datetime) -> RiskModel:
    """Take a model version out of use for good (it stays in the registry)."""
    row = get(session, name=name, version=version)
    before = {"role": row.role.value, "procedure": row.procedure}
    row.role = ModelRole.retired
    session.flush()
    _forget_serving(session)
    record(
        session,
        actor=actor,
        action="risk_model.retired",
        subject_type="risk_model",
        subject_id=f"{name}/v{version}",
        now=now,
        before=before,
        after={"role": row.role.value},
        reason=reason,
    )
    return row


# --- retraining: the model learns from outcomes ------------------------------------------------------


class NotBetter(Conflict):
    """A retrained version that is not at least as good as the champion is not activated; nothing was stored."""

    default_code = "model_not_better"

    def __init__(self, detail: str, report: dict[str, Any]) -> None:
        super().__init__(detail)
        self.report = report


def champion(session: Session, *, procedure: str) -> RiskModel | None:
    """The champion registered for exactly this procedure (no fallback to "*")."""
    return session.scalar(select(RiskModel).where(RiskModel.role == ModelRole.champion, RiskModel.procedure == procedure))


def _month_before(d: date) -> date:
    """The same day a month earlier (the last day of that month when it is shorter)."""
    y, m = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("model", "rows", "positives", "auc", "precision_at", "recall_at", "revenue_at")
    return {**{k: result[k] for k in keep}, "rules_auc": result["baselines"]["rules"]["auc"]}


def retrain(
    session: Session,
    *,
    name: str,
    train_until: date,
    promote: bool = False,
    actor: Actor,
    now: datetime,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train a new version of `name` on all history before `train_until` (imported and outcome rows) and
    compare it with the champion of its procedure on the most recent month of that history.

    The procedure and excluded columns are those of the newest version of `name` ("*" and none for a
    new name). Both models are evaluated with `evaluate_frame` on [a month before the end, the day
    after the last history row); rows declared on or after `train_until` are never used. With
    `promote`, the new version becomes the champion when its AUC is at least the champion's (or there
    is no champion); otherwise `NotBetter` is raised and the caller's transaction must roll back,
    storing nothing. The comparison is journaled (`risk_model.retrained`), the activation too.
    """
    step = progress or (lambda _text: None)
    previous = session.scalar(select(RiskModel).where(RiskModel.name == name).order_by(RiskModel.version.desc()).limit(1))
    procedure = previous.procedure if previous is not None else "*"
    exclude = tuple(previous.features.get("exclude", ())) if previous is not None else ()
    current = champion(session, procedure=procedure)

    step(f"training {name} on history before {train_until}")
    row = train(session, name=name, train_until=train_until, procedure=procedure, exclude=exclude, actor=actor, now=now)
    new = LoadedModel.from_row(row)  # not load(): the version is not committed yet and may be rolled back

    step("reading the most recent month of history")
    frame = history.frame(session, date_to=train_until)
    eval_to = frame["declared_on"].max().date() + timedelta(days=1)
    eval_from = _month_before(eval_to)
    rules, source = _baseline_rules(session, on=eval_from)
    outcome_rows = int((frame["source"] == "outcome").sum())

    step(f"evaluating {new.label}")
    new_result = evaluate_frame(new, frame, date_from=eval_from, date_to=eval_to, rules=rules, rules_source=source)
    champ_result = None
    if current is not None:
        step(f"evaluating champion {current.name}/v{current.version}")
        champ = load(session, name=current.name, version=current.version)
        champ_result = evaluate_frame(champ, frame, date_from=eval_from, date_to=eval_to, rules=rules, rules_source=source)

    new_auc = new_result["auc"]
    champ_auc = champ_result["auc"] if champ_result is not None else None
    if current is None:
        better: bool | None = True
        verdict = f"There is no champion for procedure {procedure}: {new.label} may become the first."
    elif new_auc is None or champ_auc is None:
        better = None
        verdict = (
            f"AUC cannot be computed on {eval_from} – {eval_to} ({new_result['positives']} frauds in "
            f"{new_result['rows']} rows): {new.label} cannot be compared with {current.name}/v{current.version}."
        )
    else:
        better = new_auc >= champ_auc
        verdict = (
            f"{new.label} has AUC {new_auc:.4f} against {champ_auc:.4f} for champion {current.name}/v{current.version} "
            f"on {eval_from} – {eval_to}: {'at least as good' if better else 'worse'}."
        )
    caveats = []
    fitted_until = (row.metrics.get("validation") or {}).get("from")
    if fitted_until is None or date.fromisoformat(fitted_until) > eval_from:
        caveats.append(f"{new.label} was fitted on rows of the evaluation month (its held-out rows start {fitted_until or 'nowhere'}).")
    if current is not None and current.train_until > eval_from:
        caveats.append(f"Champion {current.name}/v{current.version} was trained on history until {current.train_until}.")
    report: dict[str, Any] = {
        "model": {**describe(row), "metrics": row.metrics},
        "procedure": procedure,
        "history": {"rows": len(frame), "outcome_rows": outcome_rows, "imported_rows": len(frame) - outcome_rows},
        "evaluation": {"from": eval_from.isoformat(), "to": eval_to.isoformat(), "rules": source},
        "new": _summary(new_result),
        "champion": _summary(champ_result) if champ_result is not None else None,
        "better": better,
        "verdict": verdict,
        "caveats": caveats,
        "activated": False,
    }
    if promote and not better:
        raise NotBetter(f"{verdict} The champion is unchanged and {new.label} was not stored.", report)
    if promote:
        step(f"activating {new.label} as champion for {procedure}")
        activate(session, name=name, version=row.version, role=ModelRole.champion.value, procedure=procedure, actor=actor, now=now)
        report["activated"] = True
        report["model"] = {**describe(row), "metrics": row.metrics}
    record(
        session,
        actor=actor,
        action="risk_model.retrained",
        subject_type="risk_model",
        subject_id=new.label,
        now=now,
        after={
            "evaluation_from": eval_from.isoformat(),
            "evaluation_to": eval_to.isoformat(),
            "auc": new_auc,
            "champion": f"{current.name}/v{current.version}" if current is not None else None,
            "champion_auc": champ_auc,
            "better": better,
            "activated": report["activated"],
            "outcome_rows": outcome_rows,
        },
        reason=verdict,
    )
    return report


# --- drift -------------------------------------------------------------------------------------------------


def drift_of(model: LoadedModel, scores: np.ndarray) -> dict[str, Any]:
    """Population stability index of recent scores against the model's validation histogram."""
    h = model.histogram
    value, actual = psi(h["edges"], h["expected"], scores)
    status = "stable" if value < 0.1 else "moderate" if value < 0.25 else "significant"
    return _clean_dict(
        {
            "model": {"name": model.name, "version": model.version},
            "rows": len(scores),
            "psi": value,
            "status": status,
            "edges": h["edges"],
            "expected": h["expected"],
            "actual": actual,
            "training_mean": h.get("mean"),
            "recent_mean": float(scores.mean()) if len(scores) else None,
        }
    )


def drift(session: Session, *, name: str, version: int | None = None, date_from: date, date_to: date) -> dict[str, Any]:
    """Score drift of the history declared in [date_from, date_to) against training (PSI < 0.1 stable, < 0.25 moderate)."""
    model = load(session, name=name, version=version)
    frame = history.frame(session, date_to=date_to, knowledge=False)
    period = (frame["declared_on"].dt.date.to_numpy() >= date_from) if len(frame) else np.zeros(0, dtype=bool)
    if not period.any():
        raise ValidationFailed(
            "No history in the period.", [Problem("RSK-MDL-006", "/from", f"No history declared from {date_from} to {date_to}.")]
        )
    x, _ = F.build_training_features(frame, model.meta)
    out = drift_of(model, model.predict(x.to_numpy()[period]))
    out.update({"from": date_from.isoformat(), "to": date_to.isoformat()})
    return out
