"""Per-key statistics the model's features are made of: key codes, sums over strictly earlier days, price references."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


def codes(*series: pd.Series) -> np.ndarray:
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


def past_sums(keys: np.ndarray, day: np.ndarray, weights: Sequence[np.ndarray]) -> list[np.ndarray]:
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


def references(lp: np.ndarray, lk: np.ndarray, lkp: np.ndarray, hs6: pd.Series, origin: pd.Series) -> dict[str, pd.DataFrame]:
    """Reference tables from honest basis rows: price by subheading and by subheading+origin, mass per unit, value per kg."""
    base = pd.DataFrame(
        {"hs6": hs6.to_numpy(dtype=object), "pair": join_keys(hs6, origin).to_numpy(dtype=object), "lp": lp, "lk": lk, "lkp": lkp}
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


def lookup_refs(refs: Mapping[str, pd.DataFrame], hs6: pd.Series, origin: pd.Series) -> dict[str, np.ndarray]:
    pair = join_keys(hs6, origin)
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


def join_keys(*parts: pd.Series) -> pd.Series:
    """Keys joined with '|'; missing where any part is."""
    out = parts[0].astype(str)
    missing = parts[0].isna()
    for s in parts[1:]:
        out = out + "|" + s.astype(str)
        missing |= s.isna()
    return out.where(~missing, None)
