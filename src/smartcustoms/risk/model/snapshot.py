"""Scoring features: track records and references frozen from all history before a day (a
`Snapshot`), looked up for new declarations, a frame at a time or one row at a time (the lodging
path: dictionary lookups, no DataFrame). Pure: pandas and numpy only.

The statistics are those `features.build_training_features` computes from earlier rows, and both
go through `features._assemble`, so a row declared on the snapshot's day gets the same features
from either path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from smartcustoms.risk.model.features import (
    BASE_ENCODED,
    CROSSES,
    ENTITIES,
    PAIRS,
    Meta,
    _assemble,
    _day_number,
    _days,
    _prepare,
    _prior,
    _row_stats,
    extra_columns,
)
from smartcustoms.risk.model.statistics import join_keys as _join
from smartcustoms.risk.model.statistics import references as _references

_EMPTY: dict[str, dict[str, float]] = {"n": {}, "pos": {}, "rev": {}}


@dataclass
class Snapshot:
    """Track records and references from all history before `until`, for scoring new declarations."""

    until: date
    rows: int
    positives: float
    track: dict[str, dict[str, dict[str, float]]]  # "importer" / "hs6|origin" -> "n"/"pos"/"rev" -> key -> value
    first_day: dict[str, int]  # importer -> first day number seen
    refs: dict[str, dict[str, dict[str, float]]]  # "price"/"pair"/"kgpu"/"kgprice" -> "med"/"mad"/"n" -> key -> value

    @property
    def prior(self) -> float:
        """The global fraud rate used as prior."""
        return float(_prior(self.rows, self.positives))

    def table(self, key: str) -> dict[str, dict[str, float]]:
        """The track records of a column or cross ("importer", "office|importer"); empty when the history has none."""
        return self.track.get(key, _EMPTY)


def make_snapshot(frame: pd.DataFrame, until: date) -> Snapshot:
    """Freeze track records and references from the rows of `frame` declared before `until`.

    Track records are kept for the identifiers, the target-encoded base columns, every categorical
    extra of the frame, and the crosses, whatever model will read them.
    """
    days = _days(frame) if len(frame) else np.zeros(0, dtype=np.int64)
    past = frame.loc[days < _day_number(until)]
    cats, _ = extra_columns(past)
    entities = tuple(dict.fromkeys((*ENTITIES, *BASE_ENCODED, *cats)))
    p = _prepare(past, (), entities)
    label = np.nan_to_num(p.label)
    track: dict[str, dict[str, dict[str, float]]] = {}
    work = pd.DataFrame({"label": label, "rev": p.revenue}, index=past.index)
    for e in entities:
        g = work.groupby(p.keys[e].to_numpy(dtype=object), dropna=True)
        track[e] = {"n": g.size().astype(float).to_dict(), "pos": g["label"].sum().to_dict(), "rev": g["rev"].sum().to_dict()}
    for a, b in dict.fromkeys((*PAIRS, *CROSSES)):
        key = _join(p.keys[a], p.keys[b])
        g = work.groupby(key.to_numpy(dtype=object), dropna=True)
        track[f"{a}|{b}"] = {"n": g.size().astype(float).to_dict(), "pos": g["label"].sum().to_dict()}
    first = pd.Series(p.day, index=past.index).groupby(p.keys["importer"].to_numpy(dtype=object), dropna=True).min()
    honest = label == 0
    refs_tables = _references(p.lp[honest], p.lk[honest], p.lkp[honest], p.keys["hs6"][honest], p.keys["origin"][honest])
    refs = {name: {col: t[col].to_dict() for col in t.columns} for name, t in refs_tables.items()}
    return Snapshot(until, len(past), float(label.sum()), track, {str(k): int(v) for k, v in first.items()}, refs)


class _Keys:
    """A key column factorised once: lookups go through its distinct values only."""

    def __init__(self, texts: Sequence[Any], codes: np.ndarray) -> None:
        self.texts, self.codes = texts, codes

    @classmethod
    def of(cls, series: pd.Series) -> _Keys:
        codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
        return cls([str(u) for u in uniques], np.asarray(codes, dtype=np.int64))

    @classmethod
    def pair(cls, a: _Keys, b: _Keys) -> _Keys:
        nb = len(b.texts) + 1
        combined = np.where((a.codes < 0) | (b.codes < 0), -1, a.codes * nb + b.codes)
        codes, uniques = pd.factorize(combined, use_na_sentinel=False)
        texts = [f"{a.texts[c // nb]}|{b.texts[c % nb]}" if c >= 0 else None for c in uniques]
        return cls(texts, np.asarray(codes, dtype=np.int64))

    def look(self, table: Mapping[str, float], default: float) -> np.ndarray:
        values = np.fromiter((table.get(t, default) if t is not None else default for t in self.texts), dtype=float, count=len(self.texts))
        out: np.ndarray = np.append(values, default)[self.codes]  # code -1 (missing) reads the default at the end
        return out


def _crosses(meta: Meta) -> tuple[tuple[str, str], ...]:
    return tuple(dict.fromkeys((*PAIRS, *meta.crosses)))


def build_scoring_features(frame: pd.DataFrame, snapshot: Snapshot, meta: Meta) -> pd.DataFrame:
    """Features of new rows (declared on or after `snapshot.until`) from the snapshot, vectorised."""
    entities = tuple(dict.fromkeys((*ENTITIES, *meta.entities)))
    p = _prepare(frame, meta.categorical, entities)
    n = len(frame)
    stats = _row_stats(p, meta, frame)
    keys = {e: _Keys.of(p.keys[e]) for e in entities}
    for e in entities:
        t = snapshot.table(e)
        stats[f"{e}:n"], stats[f"{e}:pos"], stats[f"{e}:rev"] = (keys[e].look(t[c], 0.0) for c in ("n", "pos", "rev"))
    for a, b in _crosses(meta):
        t, pk = snapshot.table(f"{a}|{b}"), _Keys.pair(keys[a], keys[b])
        stats[f"{a}|{b}:n"], stats[f"{a}|{b}:pos"] = pk.look(t["n"], 0.0), pk.look(t["pos"], 0.0)
    stats["prior"] = np.full(n, snapshot.prior)
    first = keys["importer"].look({k: float(v) for k, v in snapshot.first_day.items()}, np.nan)
    stats["importer_days"] = np.where(np.isnan(first), 0.0, p.day - first)
    hs6, pair = keys["hs6"], _Keys.pair(keys["hs6"], keys["origin"])
    r = snapshot.refs
    stats.update(
        {
            "price_med": hs6.look(r["price"]["med"], np.nan),
            "price_mad": hs6.look(r["price"]["mad"], np.nan),
            "price_n": hs6.look(r["price"]["n"], np.nan),
            "pair_med": pair.look(r["pair"]["med"], np.nan),
            "pair_n": pair.look(r["pair"]["n"], np.nan),
            "kgpu_med": hs6.look(r["kgpu"]["med"], np.nan),
            "kgpu_mad": hs6.look(r["kgpu"]["mad"], np.nan),
            "kgprice_med": hs6.look(r["kgprice"]["med"], np.nan),
        }
    )
    return pd.DataFrame(_assemble(stats, n, meta), columns=list(meta.names), index=frame.index, copy=False)


def _f(v: Any) -> float:
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _lr(a: float, b: float) -> float:
    return math.log(a / b) if a > 0 and b > 0 else math.nan


class RowEncoder:
    """Features of one facts row by dictionary lookups only (the lodging path: no DataFrame)."""

    def __init__(self, snapshot: Snapshot, meta: Meta) -> None:
        self.snapshot = snapshot
        self.meta = meta
        self.levels = {c: {lv: float(i) for i, lv in enumerate(levels)} for c, levels in meta.categorical.items()}
        self.prior = np.array([snapshot.prior])
        self.entities = tuple(dict.fromkeys((*ENTITIES, *meta.entities)))
        self.tables = {e: snapshot.table(e) for e in self.entities}
        self.crosses = [(a, b, snapshot.table(f"{a}|{b}")) for a, b in _crosses(meta)]

    def stats(self, facts: Mapping[str, Any], day: int) -> dict[str, np.ndarray]:
        """Raw statistics of one row, as 1-element arrays for `_assemble`."""
        s = self.snapshot
        hs = facts.get("hs_code")
        hs = str(hs) if hs is not None else None
        keys: dict[str, str | None] = {e: (None if facts.get(e) is None else str(facts.get(e))) for e in self.entities}
        keys["hs6"] = str(facts["hs6"]) if facts.get("hs6") is not None else (hs[:6] if hs else None)
        qty, value, mass = _f(facts.get("quantity")), _f(facts.get("value")), _f(facts.get("net_mass_kg"))
        origin, dep = keys["origin"], facts.get("departure_country")
        out: dict[str, float] = {
            "lp": _lr(value, qty),
            "lk": _lr(mass, qty),
            "lkp": _lr(value, mass),
            "value": value,
            "quantity": qty,
            "mass": mass,
            "transship": math.nan if origin is None or dep is None else float(origin != dep),
        }
        for e, t in self.tables.items():
            k = keys[e]
            out[f"{e}:n"] = t["n"].get(k, 0.0) if k is not None else 0.0
            out[f"{e}:pos"] = t["pos"].get(k, 0.0) if k is not None else 0.0
            out[f"{e}:rev"] = t["rev"].get(k, 0.0) if k is not None else 0.0
        for a, b, t in self.crosses:
            ka, kb = keys[a], keys[b]
            k2 = f"{ka}|{kb}" if ka is not None and kb is not None else None
            out[f"{a}|{b}:n"] = t["n"].get(k2, 0.0) if k2 is not None else 0.0
            out[f"{a}|{b}:pos"] = t["pos"].get(k2, 0.0) if k2 is not None else 0.0
        first = s.first_day.get(keys["importer"] or "")
        out["importer_days"] = 0.0 if first is None else float(day - first)
        hs6 = keys["hs6"]
        pair = f"{hs6}|{origin}" if hs6 is not None and origin is not None else None
        r = s.refs
        nan = math.nan
        out["price_med"] = r["price"]["med"].get(hs6, nan) if hs6 else nan
        out["price_mad"] = r["price"]["mad"].get(hs6, nan) if hs6 else nan
        out["price_n"] = r["price"]["n"].get(hs6, nan) if hs6 else nan
        out["pair_med"] = r["pair"]["med"].get(pair, nan) if pair else nan
        out["pair_n"] = r["pair"]["n"].get(pair, nan) if pair else nan
        out["kgpu_med"] = r["kgpu"]["med"].get(hs6, nan) if hs6 else nan
        out["kgpu_mad"] = r["kgpu"]["mad"].get(hs6, nan) if hs6 else nan
        out["kgprice_med"] = r["kgprice"]["med"].get(hs6, nan) if hs6 else nan
        for c, lv in self.levels.items():
            v = facts.get(c)
            if v is None and c in ("hs2", "hs4") and hs:
                v = hs[: int(c[2])]
            out[f"cat:{c}"] = lv.get(str(v), nan) if v is not None else nan
        for c in self.meta.numeric_extras:
            out[f"num:{c}"] = _f(facts.get(c))
        arrays = {k: np.array([v], dtype=float) for k, v in out.items()}
        arrays["prior"] = self.prior
        return arrays

    def features(self, rows: Sequence[Mapping[str, Any]], on: date) -> np.ndarray:
        """Feature matrix (len(rows) × features) for facts rows assessed on a day."""
        day = _day_number(on)
        out = np.empty((len(rows), len(self.meta.names)))
        for i, facts in enumerate(rows):
            out[i] = _assemble(self.stats(facts, day), 1, self.meta)[0]
        return out
