"""Model features from a facts frame, built without leaking the future (pure: pandas and numpy only).

Two ways to the same numbers:

- `build_training_features(frame)`: every row of a labelled history gets features computed only
  from rows declared on an *earlier day* (track records) or in an *earlier calendar month*
  (reference prices and masses). Changing a later row never changes an earlier row's features.
- `make_snapshot(frame, until)` then `build_scoring_features(new_rows, snapshot, meta)` or
  `row_features(facts, snapshot, meta)`: the same statistics frozen from all history before
  `until`, looked up for new declarations. With `until` the first day of a month, a row declared
  on `until` gets exactly the features the training builder gives it.

Both paths compute a dictionary of raw statistics per row, then call one function, `_assemble`,
that turns statistics into features, so they cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

FEATURES_VERSION = 1
SMOOTHING = 5.0  # pseudo-declarations at the prior rate in a smoothed fraud rate
DEFAULT_PRIOR = 0.05  # prior fraud rate until 100 labelled rows are known
MIN_REF = 5  # honest rows of a subheading needed for a reference
MIN_PAIR = 10  # honest rows of a subheading and origin needed for an origin-specific reference
MIN_LEVEL = 5  # rows a categorical level needs in training to get its own code
ENTITIES = ("importer", "declarant", "consignor", "carrier", "hs6", "origin")
REVENUE_ENTITIES = ("importer", "consignor", "hs6")
PAIRS = (("hs6", "origin"), ("importer", "hs6"))
BASE_CATEGORICAL = ("office", "origin", "departure_country", "transport_mode", "hs2", "hs4")
# Columns of a facts frame that are never features: identifiers (their track records are), truth,
# free text, and facts that come from the knowledge base *today* (they would leak the future).
NOT_FEATURES = frozenset(
    {
        "declaration_id",
        "declared_on",
        "source",
        "importer",
        "declarant",
        "consignor",
        "carrier",
        "hs_code",
        "hs6",
        "description",
        "pattern",
        "label_fraud",
        "label_critical",
        "revenue_recovered",
        "quantity",
        "net_mass_kg",
        "gross_mass_kg",
        "value",
        "unit_price",
        "kg_price",
        "kg_per_unit",
        "duty_rate",
        "reference_price",
        "price_ratio",
        "importer_declarations",
        "importer_first",
        "consignor_watchlisted",
        "importer_watchlisted",
        "declarant_watchlisted",
        "licence_required",
        "licence_present",
        "prohibited",
        "kind",
        "currency",
        "unit",
        "total_value",
        "line",
        "documents",
        "port",
        "consignor_country",
        "imported_at",
        "id",
        *BASE_CATEGORICAL,
    }
)

# What each feature means, for explanations.
DESCRIPTIONS: dict[str, str] = {
    **{f"{e}_n": f"{e}: past declarations (log)" for e in ENTITIES},
    **{f"{e}_rate": f"{e}: past fraud rate (smoothed)" for e in ENTITIES},
    **{f"{e}_revenue": f"{e}: revenue recovered per past declaration (log)" for e in REVENUE_ENTITIES},
    "hs6_origin_n": "subheading from this origin: past declarations (log)",
    "hs6_origin_rate": "subheading from this origin: past fraud rate (smoothed)",
    "origin_share": "share of the subheading's past declarations from this origin",
    "importer_hs6_n": "importer's past declarations of this subheading (log)",
    "importer_days": "days since the importer was first seen",
    "importer_new": "first declaration of the importer",
    "price_dev": "log unit price minus the reference (honest past median)",
    "price_z": "unit price deviation in robust standard deviations",
    "ref_n": "honest past declarations behind the reference (log)",
    "kgpu_dev": "log mass per unit minus the usual for the subheading",
    "kgpu_z": "mass per unit deviation in robust standard deviations",
    "kgprice_dev": "log value per kg minus the usual for the subheading",
    "transship": "departure country differs from origin",
    "log_value": "item value (log)",
    "log_quantity": "quantity (log)",
    "log_mass": "net mass (log)",
    "cat_office": "the customs office itself",
    "cat_origin": "the country of origin itself",
    "cat_departure_country": "the departure country itself",
    "cat_transport_mode": "the mode of transport itself",
    "cat_hs2": "the HS chapter itself",
    "cat_hs4": "the HS heading itself",
}


def _entity_names() -> list[str]:
    names: list[str] = []
    for e in ENTITIES:
        names += [f"{e}_n", f"{e}_rate"]
        if e in REVENUE_ENTITIES:
            names.append(f"{e}_revenue")
    return names


NUMERIC_NAMES = (
    *_entity_names(),
    "hs6_origin_n",
    "hs6_origin_rate",
    "origin_share",
    "importer_hs6_n",
    "importer_days",
    "importer_new",
    "price_dev",
    "price_z",
    "ref_n",
    "kgpu_dev",
    "kgpu_z",
    "kgprice_dev",
    "transship",
    "log_value",
    "log_quantity",
    "log_mass",
)


@dataclass(frozen=True)
class Meta:
    """What scoring needs to rebuild features exactly: names, categorical levels, extras."""

    names: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]]  # column -> levels; code = index in the tuple, unknown = missing
    numeric_extras: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    version: int = FEATURES_VERSION

    @property
    def categorical_names(self) -> list[str]:
        """Feature names of the categorical features (LightGBM's categorical_feature)."""
        return [f"cat_{c}" for c in self.categorical]

    def as_json(self) -> dict[str, Any]:
        """For the model registry."""
        return {
            "version": self.version,
            "names": list(self.names),
            "categorical": {k: list(v) for k, v in self.categorical.items()},
            "numeric_extras": list(self.numeric_extras),
            "exclude": list(self.exclude),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Meta:
        """From the model registry."""
        return cls(
            tuple(data["names"]),
            {k: tuple(v) for k, v in data["categorical"].items()},
            tuple(data.get("numeric_extras", ())),
            tuple(data.get("exclude", ())),
            int(data.get("version", FEATURES_VERSION)),
        )


# --- preparing a frame -------------------------------------------------------------------------


def _text(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    s = frame[col]
    return s.where(s.notna(), None).astype(object)


def _num(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    return np.asarray(pd.to_numeric(frame[col], errors="coerce"), dtype=float)


def _days(frame: pd.DataFrame) -> np.ndarray:
    d = pd.to_datetime(frame["declared_on"]).to_numpy().astype("datetime64[D]")
    return np.asarray(d.astype(np.int64), dtype=np.int64)


def _day_number(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _month(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _log_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (a > 0) & (b > 0)
        out = np.full(len(a), np.nan)
        out[ok] = np.log(a[ok] / b[ok])
    return out


@dataclass
class _Prepared:
    keys: dict[str, pd.Series]  # entity -> key texts (None when missing)
    day: np.ndarray
    lp: np.ndarray  # log unit price
    lk: np.ndarray  # log kg per unit
    lkp: np.ndarray  # log value per kg
    value: np.ndarray
    quantity: np.ndarray
    mass: np.ndarray
    transship: np.ndarray
    label: np.ndarray
    revenue: np.ndarray
    texts: dict[str, pd.Series] = field(default_factory=dict)  # categorical columns


def _prepare(frame: pd.DataFrame, categorical: Iterable[str]) -> _Prepared:
    hs = _text(frame, "hs_code").astype(str).where(_text(frame, "hs_code").notna(), None)
    hs6 = _text(frame, "hs6") if "hs6" in frame.columns else hs.str[:6]
    keys = {e: (hs6 if e == "hs6" else _text(frame, e)) for e in ENTITIES}
    texts = {}
    for c in categorical:
        if c == "hs2" and "hs2" not in frame.columns:
            texts[c] = hs.str[:2]
        elif c == "hs4" and "hs4" not in frame.columns:
            texts[c] = hs.str[:4]
        else:
            t = _text(frame, c)
            texts[c] = t.where(t.isna(), t.astype(str))
    qty, value, mass = _num(frame, "quantity"), _num(frame, "value"), _num(frame, "net_mass_kg")
    origin, dep = _text(frame, "origin"), _text(frame, "departure_country")
    transship = np.where(origin.isna().to_numpy() | dep.isna().to_numpy(), np.nan, (origin != dep).to_numpy(dtype=float))
    label = _num(frame, "label_fraud")
    revenue = np.nan_to_num(_num(frame, "revenue_recovered"))
    return _Prepared(
        keys,
        _days(frame),
        _log_ratio(value, qty),
        _log_ratio(mass, qty),
        _log_ratio(value, mass),
        value,
        qty,
        mass,
        transship,
        label,
        revenue,
        texts,
    )


def extra_columns(frame: pd.DataFrame, exclude: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """Extra columns of a frame that become features: (categorical, numeric)."""
    skip = NOT_FEATURES | set(exclude)
    cats, nums = [], []
    for c in frame.columns:
        if c in skip:
            continue
        if pd.api.types.is_bool_dtype(frame[c]) or pd.api.types.is_numeric_dtype(frame[c]):
            nums.append(str(c))
        else:
            cats.append(str(c))
    return cats, nums


# --- statistics --------------------------------------------------------------------------------


def _codes(*series: pd.Series) -> np.ndarray:
    """One integer per distinct key (tuple of series), -1 where any part is missing."""
    if len(series) == 1:
        codes, _ = pd.factorize(series[0], use_na_sentinel=True)
        return np.asarray(codes, dtype=np.int64)
    parts = [np.asarray(pd.factorize(s, use_na_sentinel=True)[0], dtype=np.int64) for s in series]
    missing = np.zeros(len(parts[0]), dtype=bool)
    combined = np.zeros(len(parts[0]), dtype=np.int64)
    for p in parts:
        missing |= p < 0
        combined = combined * (int(p.max(initial=0)) + 2) + p + 1
    codes = np.asarray(pd.factorize(combined)[0], dtype=np.int64)
    codes[missing] = -1
    return codes


def _past_sums(keys: np.ndarray, day: np.ndarray, weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    """For each row, the count and weighted sums over rows of the same key on strictly earlier days."""
    n = len(keys)
    if n == 0:
        return [np.zeros(0) for _ in range(len(weights) + 1)]
    order = np.lexsort((day, keys))
    k, d = keys[order], day[order]
    new_group = np.r_[True, (k[1:] != k[:-1]) | (d[1:] != d[:-1])]
    gid = np.cumsum(new_group) - 1
    gk = k[new_group]
    g = len(gk)
    out = []
    for w in (np.ones(n), *weights):
        per_group = np.bincount(gid, weights=w[order], minlength=g)
        # Cumulative within each key only, so far-away keys never disturb a sum (no cancellation).
        past = pd.Series(per_group).groupby(gk, sort=False).cumsum().to_numpy() - per_group
        row = np.empty(n)
        row[order] = past[gid]
        row[keys < 0] = 0.0
        out.append(row)
    return out


def _references(lp: np.ndarray, lk: np.ndarray, lkp: np.ndarray, hs6: pd.Series, origin: pd.Series) -> dict[str, pd.DataFrame]:
    """Reference tables from honest basis rows: price by subheading and by subheading+origin, mass per unit, value per kg."""
    base = pd.DataFrame(
        {"hs6": hs6.to_numpy(dtype=object), "pair": _join(hs6, origin).to_numpy(dtype=object), "lp": lp, "lk": lk, "lkp": lkp}
    )
    out: dict[str, pd.DataFrame] = {}
    for name, key, col, spread in (
        ("price", "hs6", "lp", True),
        ("pair", "pair", "lp", False),
        ("kgpu", "hs6", "lk", True),
        ("kgprice", "hs6", "lkp", False),
    ):
        sub = base.loc[base[col].notna() & base[key].notna(), [key, col]]
        grouped = sub.groupby(key, sort=False)[col]
        table = pd.DataFrame({"med": grouped.median(), "n": grouped.size().astype(float)})
        if spread:
            dev = (sub[col] - sub[key].map(table["med"])).abs()
            table["mad"] = dev.groupby(sub[key], sort=False).median()
        out[name] = table
    return out


def _lookup_refs(refs: Mapping[str, pd.DataFrame], hs6: pd.Series, origin: pd.Series) -> dict[str, np.ndarray]:
    pair = _join(hs6, origin)
    price, pairs, kgpu, kgprice = refs["price"], refs["pair"], refs["kgpu"], refs["kgprice"]

    def get(table: pd.DataFrame, key: pd.Series, col: str) -> np.ndarray:
        return np.asarray(key.map(table[col]), dtype=float) if len(table) else np.full(len(key), np.nan)

    return {
        "price_med": get(price, hs6, "med"),
        "price_mad": get(price, hs6, "mad"),
        "price_n": get(price, hs6, "n"),
        "pair_med": get(pairs, pair, "med"),
        "pair_n": get(pairs, pair, "n"),
        "kgpu_med": get(kgpu, hs6, "med"),
        "kgpu_mad": get(kgpu, hs6, "mad"),
        "kgprice_med": get(kgprice, hs6, "med"),
    }


def _encode(texts: pd.Series, levels: Sequence[str]) -> np.ndarray:
    codes = np.asarray(pd.Index(list(levels), dtype=object).get_indexer(texts.to_numpy(dtype=object)), dtype=float)
    codes[codes < 0] = np.nan
    return codes


def _assemble(stats: Mapping[str, np.ndarray], n: int, meta: Meta) -> np.ndarray:
    """Features (rows × meta.names) from raw statistics: the one place both paths meet."""
    cols: dict[str, np.ndarray] = {}
    prior = stats["prior"]
    for e in ENTITIES:
        cnt, pos = stats[f"{e}:n"], stats[f"{e}:pos"]
        cols[f"{e}_n"] = np.log1p(cnt)
        cols[f"{e}_rate"] = (pos + SMOOTHING * prior) / (cnt + SMOOTHING)
        if e in REVENUE_ENTITIES:
            cols[f"{e}_revenue"] = np.log1p(stats[f"{e}:rev"] / np.maximum(cnt, 1.0))
    pn, ppos = stats["hs6|origin:n"], stats["hs6|origin:pos"]
    cols["hs6_origin_n"] = np.log1p(pn)
    cols["hs6_origin_rate"] = (ppos + SMOOTHING * prior) / (pn + SMOOTHING)
    hs6n = stats["hs6:n"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["origin_share"] = np.where(hs6n > 0, pn / np.maximum(hs6n, 1.0), np.nan)
    cols["importer_hs6_n"] = np.log1p(stats["importer|hs6:n"])
    cols["importer_days"] = stats["importer_days"]
    cols["importer_new"] = (stats["importer:n"] == 0).astype(float)
    use_pair = np.nan_to_num(stats["pair_n"]) >= MIN_PAIR
    ref_ok = np.nan_to_num(stats["price_n"]) >= MIN_REF
    ref = np.where(use_pair, stats["pair_med"], np.where(ref_ok, stats["price_med"], np.nan))
    cols["price_dev"] = stats["lp"] - ref
    cols["price_z"] = cols["price_dev"] / np.maximum(1.4826 * np.nan_to_num(stats["price_mad"]), 0.05)
    cols["ref_n"] = np.log1p(np.nan_to_num(stats["price_n"]))
    kg_ok = ref_ok
    cols["kgpu_dev"] = np.where(kg_ok, stats["lk"] - stats["kgpu_med"], np.nan)
    cols["kgpu_z"] = cols["kgpu_dev"] / np.maximum(1.4826 * np.nan_to_num(stats["kgpu_mad"]), 0.02)
    cols["kgprice_dev"] = np.where(kg_ok, stats["lkp"] - stats["kgprice_med"], np.nan)
    cols["transship"] = stats["transship"]
    cols["log_value"] = np.log1p(np.maximum(stats["value"], 0))
    cols["log_quantity"] = np.log1p(np.maximum(stats["quantity"], 0))
    cols["log_mass"] = np.log1p(np.maximum(stats["mass"], 0))
    for c in meta.categorical:
        cols[f"cat_{c}"] = stats[f"cat:{c}"]
    for c in meta.numeric_extras:
        cols[f"num_{c}"] = stats[f"num:{c}"]
    out = np.empty((n, len(meta.names)), order="F")  # column by column: contiguous writes
    for j, name in enumerate(meta.names):
        out[:, j] = cols[name]
    return out


def _row_stats(p: _Prepared, meta: Meta, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    stats: dict[str, np.ndarray] = {
        "lp": p.lp,
        "lk": p.lk,
        "lkp": p.lkp,
        "value": p.value,
        "quantity": p.quantity,
        "mass": p.mass,
        "transship": p.transship,
    }
    for c, levels in meta.categorical.items():
        stats[f"cat:{c}"] = _encode(p.texts[c], levels)
    for c in meta.numeric_extras:
        stats[f"num:{c}"] = _num(frame, c)
    return stats


# --- training: leak-free over a whole history ------------------------------------------------


def make_meta(frame: pd.DataFrame, *, exclude: Iterable[str] = ()) -> Meta:
    """Feature names and categorical encodings learned from a training frame (no labels involved)."""
    exclude = tuple(exclude)
    cat_extra, num_extra = extra_columns(frame, exclude)
    categorical: dict[str, tuple[str, ...]] = {}
    prepared_texts = _prepare(frame, [*BASE_CATEGORICAL, *cat_extra]).texts
    for c in (*BASE_CATEGORICAL, *cat_extra):
        counts = prepared_texts[c].dropna().astype(str).value_counts()
        categorical[c] = tuple(sorted(str(v) for v, k in counts.items() if k >= MIN_LEVEL))
    names = (*NUMERIC_NAMES, *(f"cat_{c}" for c in categorical), *(f"num_{c}" for c in num_extra))
    return Meta(names, categorical, tuple(num_extra), exclude)


def build_training_features(frame: pd.DataFrame, meta: Meta | None = None, *, exclude: Iterable[str] = ()) -> tuple[pd.DataFrame, Meta]:
    """Features of every row from earlier rows only; `meta` (encodings) is learned from the frame unless given."""
    meta = meta or make_meta(frame, exclude=exclude)
    p = _prepare(frame, meta.categorical)
    n = len(frame)
    label = np.nan_to_num(p.label)
    stats = _row_stats(p, meta, frame)
    for e in ENTITIES:
        cnt, pos, rev = _past_sums(_codes(p.keys[e]), p.day, [label, p.revenue])
        stats[f"{e}:n"], stats[f"{e}:pos"], stats[f"{e}:rev"] = cnt, pos, rev
    for a, b in PAIRS:
        cnt, pos = _past_sums(_codes(p.keys[a], p.keys[b]), p.day, [label])
        stats[f"{a}|{b}:n"], stats[f"{a}|{b}:pos"] = cnt, pos
    all_n, all_pos = _past_sums(np.zeros(n, dtype=np.int64), p.day, [label])
    stats["prior"] = _prior(all_n, all_pos)
    imp = _codes(p.keys["importer"])
    first = pd.Series(p.day).groupby(imp).transform("min").to_numpy(dtype=float) if n else np.zeros(0)
    stats["importer_days"] = np.where(imp >= 0, p.day - first, 0.0)
    # References: rows of month M compare with honest rows of the months before M.
    months = _month(p.day)
    honest = label == 0
    for key in ("price_med", "price_mad", "price_n", "pair_med", "pair_n", "kgpu_med", "kgpu_mad", "kgprice_med"):
        stats[key] = np.full(n, np.nan)
    hs6, origin = p.keys["hs6"], p.keys["origin"]
    for m in np.unique(months):
        rows = np.flatnonzero(months == m)
        basis = honest & (months < m)
        if not basis.any():
            continue
        refs = _references(p.lp[basis], p.lk[basis], p.lkp[basis], hs6[basis], origin[basis])
        got = _lookup_refs(refs, hs6.iloc[rows], origin.iloc[rows])
        for key, values in got.items():
            stats[key][rows] = values
    x = _assemble(stats, n, meta)
    return pd.DataFrame(x, columns=list(meta.names), index=frame.index), meta


def _prior(n: np.ndarray | float, pos: np.ndarray | float) -> Any:
    n_arr, pos_arr = np.asarray(n, dtype=float), np.asarray(pos, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n_arr >= 100, pos_arr / np.maximum(n_arr, 1.0), DEFAULT_PRIOR)


# --- scoring: a snapshot of history, looked up ------------------------------------------------


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


def _join(*parts: pd.Series) -> pd.Series:
    out = parts[0].astype(str)
    missing = parts[0].isna()
    for s in parts[1:]:
        out = out + "|" + s.astype(str)
        missing |= s.isna()
    return out.where(~missing, None)


def make_snapshot(frame: pd.DataFrame, until: date) -> Snapshot:
    """Freeze track records and references from the rows of `frame` declared before `until`."""
    days = _days(frame) if len(frame) else np.zeros(0, dtype=np.int64)
    past = frame.loc[days < _day_number(until)]
    p = _prepare(past, ())
    label = np.nan_to_num(p.label)
    track: dict[str, dict[str, dict[str, float]]] = {}
    work = pd.DataFrame({"label": label, "rev": p.revenue}, index=past.index)
    for e in ENTITIES:
        g = work.groupby(p.keys[e].to_numpy(dtype=object), dropna=True)
        track[e] = {"n": g.size().astype(float).to_dict(), "pos": g["label"].sum().to_dict(), "rev": g["rev"].sum().to_dict()}
    for a, b in PAIRS:
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


def build_scoring_features(frame: pd.DataFrame, snapshot: Snapshot, meta: Meta) -> pd.DataFrame:
    """Features of new rows (declared on or after `snapshot.until`) from the snapshot, vectorised."""
    p = _prepare(frame, meta.categorical)
    n = len(frame)
    stats = _row_stats(p, meta, frame)
    keys = {e: _Keys.of(p.keys[e]) for e in ENTITIES}
    for e in ENTITIES:
        t = snapshot.track[e]
        stats[f"{e}:n"], stats[f"{e}:pos"], stats[f"{e}:rev"] = (keys[e].look(t[c], 0.0) for c in ("n", "pos", "rev"))
    for a, b in PAIRS:
        t, pk = snapshot.track[f"{a}|{b}"], _Keys.pair(keys[a], keys[b])
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

    def stats(self, facts: Mapping[str, Any], day: int) -> dict[str, np.ndarray]:
        """Raw statistics of one row, as 1-element arrays for `_assemble`."""
        s = self.snapshot
        hs = facts.get("hs_code")
        hs = str(hs) if hs is not None else None
        keys: dict[str, str | None] = {e: (None if facts.get(e) is None else str(facts.get(e))) for e in ENTITIES}
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
        for e in ENTITIES:
            t, k = s.track[e], keys[e]
            out[f"{e}:n"] = t["n"].get(k, 0.0) if k is not None else 0.0
            out[f"{e}:pos"] = t["pos"].get(k, 0.0) if k is not None else 0.0
            out[f"{e}:rev"] = t["rev"].get(k, 0.0) if k is not None else 0.0
        for a, b in PAIRS:
            t = s.track[f"{a}|{b}"]
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
