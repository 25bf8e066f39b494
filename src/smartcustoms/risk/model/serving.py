"""Serving models: load registered versions (cached), score and explain a declaration, build and
cache the history snapshot that lodgings score against, and which versions serve a procedure.

LightGBM is imported where it is used: it takes seconds to import.
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from smartcustoms.errors import NotFound
from smartcustoms.risk.history import service as history
from smartcustoms.risk.model import features as F
from smartcustoms.risk.model.descriptions import DESCRIPTIONS
from smartcustoms.risk.model.models import ModelRole, RiskModel

if TYPE_CHECKING:
    from smartcustoms.risk.model.training import Fitted


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
                "description": DESCRIPTIONS.get(
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
