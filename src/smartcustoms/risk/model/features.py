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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from smartcustoms.risk.model.statistics import codes as _codes
from smartcustoms.risk.model.statistics import lookup_refs as _lookup_refs
from smartcustoms.risk.model.statistics import past_sums as _past_sums
from smartcustoms.risk.model.statistics import references as _references

FEATURES_VERSION = 3  # 2: target-encoded categorical columns and crosses, named in the Meta; 3: past fraud counts,
# the seller × importer cross, the worst track record, no native codes for columns of > MAX_NATIVE_LEVELS levels
SMOOTHING = 5.0  # pseudo-declarations at the prior rate in a smoothed fraud rate
DEFAULT_PRIOR = 0.05  # prior fraud rate until 100 labelled rows are known
MIN_REF = 5  # honest rows of a subheading needed for a reference
MIN_PAIR = 10  # honest rows of a subheading and origin needed for an origin-specific reference
MIN_LEVEL = 5  # rows a categorical level needs in training to get its own code
# A categorical column with more levels gets no native LightGBM codes (its splits over hundreds of
# levels overfit); extras that many levels still have their track records.
MAX_NATIVE_LEVELS = 100
ENTITIES = ("importer", "declarant", "consignor", "carrier", "hs6", "origin")
REVENUE_ENTITIES = ("importer", "consignor", "hs6")
PAIRS = (("hs6", "origin"), ("importer", "hs6"))  # the crosses of version 1
# Crosses whose track records (past rows, smoothed fraud rate) are features: risk often sits in a
# combination (an importer with one subheading, a broker with one importer) more than in either.
CROSSES = (("hs6", "origin"), ("importer", "hs6"), ("office", "importer"), ("declarant", "importer"), ("consignor", "importer"))
BASE_CATEGORICAL = ("office", "origin", "departure_country", "transport_mode", "hs2", "hs4")
# Categorical columns that are target-encoded too (besides ENTITIES and the categorical extras).
BASE_ENCODED = ("office", "departure_country", "transport_mode")
# The parties and crosses whose worst track record is a feature of its own (`worst_rate`, `worst_frauds`):
# one split then finds a declaration with any bad party, wherever the risk sits.
WORST_OF = ("importer", "declarant", "consignor", "hs6")
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


def _entity_names(entities: Sequence[str] = ENTITIES, *, frauds: bool = False) -> list[str]:
    names: list[str] = []
    for e in entities:
        names += [f"{e}_n", f"{e}_rate", *([f"{e}_frauds"] if frauds else [])]
        if e in REVENUE_ENTITIES:
            names.append(f"{e}_revenue")
    return names


def _cross_names(crosses: Sequence[tuple[str, str]], *, frauds: bool = False) -> list[str]:
    return [f"{a}_{b}_{s}" for a, b in crosses for s in ("n", "rate", *(["frauds"] if frauds else []))]


OTHER_NAMES = (
    "origin_share",
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
# The numeric features of version 1, in their order.
NUMERIC_NAMES = (*_entity_names(), "hs6_origin_n", "hs6_origin_rate", "origin_share", "importer_hs6_n", *OTHER_NAMES[1:])


@dataclass(frozen=True)
class Meta:
    """What scoring needs to rebuild features exactly: names, categorical levels, extras."""

    names: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]]  # column -> levels; code = index in the tuple, unknown = missing
    numeric_extras: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    version: int = FEATURES_VERSION
    entities: tuple[str, ...] = ENTITIES  # columns with track records (target and frequency encoded)
    crosses: tuple[tuple[str, str], ...] = PAIRS  # pairs of columns with track records

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
            "entities": list(self.entities),
            "crosses": [list(c) for c in self.crosses],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Meta:
        """From the model registry."""
        return cls(
            tuple(data["names"]),
            {k: tuple(v) for k, v in data["categorical"].items()},
            tuple(data.get("numeric_extras", ())),
            tuple(data.get("exclude", ())),
            int(data.get("version", 1)),
            tuple(data.get("entities", ENTITIES)),
            tuple((str(a), str(b)) for a, b in data.get("crosses", PAIRS)),
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


def _prepare(frame: pd.DataFrame, categorical: Iterable[str], entities: Iterable[str] = ENTITIES) -> _Prepared:
    hs = _text(frame, "hs_code").astype(str).where(_text(frame, "hs_code").notna(), None)
    hs6 = _text(frame, "hs6") if "hs6" in frame.columns else hs.str[:6]
    keys = {e: (hs6 if e == "hs6" else _text(frame, e)) for e in (*ENTITIES, *entities)}
    keys = {e: (k if e in ENTITIES or k.isna().all() else k.where(k.isna(), k.astype(str))) for e, k in keys.items()}
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


def _encode(texts: pd.Series, levels: Sequence[str]) -> np.ndarray:
    codes = np.asarray(pd.Index(list(levels), dtype=object).get_indexer(texts.to_numpy(dtype=object)), dtype=float)
    codes[codes < 0] = np.nan
    return codes


def _assemble(stats: Mapping[str, np.ndarray], n: int, meta: Meta) -> np.ndarray:
    """Features (rows × meta.names) from raw statistics: the one place both paths meet."""
    cols: dict[str, np.ndarray] = {}
    prior = stats["prior"]
    for e in meta.entities:
        cnt, pos = stats[f"{e}:n"], stats[f"{e}:pos"]
        cols[f"{e}_n"] = np.log1p(cnt)
        cols[f"{e}_rate"] = (pos + SMOOTHING * prior) / (cnt + SMOOTHING)
        cols[f"{e}_frauds"] = np.log1p(pos)
        if e in REVENUE_ENTITIES:
            cols[f"{e}_revenue"] = np.log1p(stats[f"{e}:rev"] / np.maximum(cnt, 1.0))
    for a, b in meta.crosses:
        cnt, pos = stats[f"{a}|{b}:n"], stats[f"{a}|{b}:pos"]
        cols[f"{a}_{b}_n"] = np.log1p(cnt)
        cols[f"{a}_{b}_rate"] = (pos + SMOOTHING * prior) / (cnt + SMOOTHING)
        cols[f"{a}_{b}_frauds"] = np.log1p(pos)
    if "worst_rate" in meta.names:
        parties = [*WORST_OF, *(f"{a}_{b}" for a, b in meta.crosses)]
        cols["worst_rate"] = np.max(np.column_stack([cols[f"{c}_rate"] for c in parties]), axis=1)
        cols["worst_frauds"] = np.max(np.column_stack([cols[f"{c}_frauds"] for c in parties]), axis=1)
    hs6n = stats["hs6:n"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["origin_share"] = np.where(hs6n > 0, stats["hs6|origin:n"] / np.maximum(hs6n, 1.0), np.nan)
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
        levels = tuple(sorted(str(v) for v, k in counts.items() if k >= MIN_LEVEL))
        if len(levels) <= MAX_NATIVE_LEVELS:
            categorical[c] = levels
    entities = (*ENTITIES, *(c for c in (*BASE_ENCODED, *cat_extra) if c not in ENTITIES))
    numeric = (*_entity_names(entities, frauds=True), *_cross_names(CROSSES, frauds=True), *OTHER_NAMES, "worst_rate", "worst_frauds")
    names = (*numeric, *(f"cat_{c}" for c in categorical), *(f"num_{c}" for c in num_extra))
    return Meta(names, categorical, tuple(num_extra), exclude, FEATURES_VERSION, entities, CROSSES)


def build_training_features(frame: pd.DataFrame, meta: Meta | None = None, *, exclude: Iterable[str] = ()) -> tuple[pd.DataFrame, Meta]:
    """Features of every row from earlier rows only; `meta` (encodings) is learned from the frame unless given."""
    meta = meta or make_meta(frame, exclude=exclude)
    p = _prepare(frame, meta.categorical, meta.entities)
    n = len(frame)
    label = np.nan_to_num(p.label)
    stats = _row_stats(p, meta, frame)
    for e in dict.fromkeys((*ENTITIES, *meta.entities)):
        cnt, pos, rev = _past_sums(_codes(p.keys[e]), p.day, [label, p.revenue])
        stats[f"{e}:n"], stats[f"{e}:pos"], stats[f"{e}:rev"] = cnt, pos, rev
    for a, b in dict.fromkeys((*PAIRS, *meta.crosses)):
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


# The scoring side lives in snapshot.py; its names are part of this module's interface.
from smartcustoms.risk.model.snapshot import RowEncoder, Snapshot, build_scoring_features, make_snapshot  # noqa: E402

__all__ = ["RowEncoder", "Snapshot", "build_scoring_features", "make_snapshot"]
