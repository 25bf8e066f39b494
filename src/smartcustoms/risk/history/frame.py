"""Reading labelled history back as a facts frame (risk/facts.py column names), with the
importer counts of earlier days and what the knowledge base knows."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smartcustoms.risk.history.models import HistoryRecord

# Canonical history field -> facts-frame column (risk/facts.py).
FACT_NAMES = {
    "declarant_id": "declarant",
    "importer_id": "importer",
    "consignor_id": "consignor",
    "carrier_id": "carrier",
    "origin_country": "origin",
}


def to_facts(canonical: pd.DataFrame) -> pd.DataFrame:
    """A facts frame (risk/facts.py column names) from rows in the canonical history format, plus labels and extras."""
    df = canonical.rename(columns=FACT_NAMES).copy()
    df["declared_on"] = pd.to_datetime(df["declared_on"])
    for c in ("quantity", "net_mass_kg", "value", "duty_rate", "revenue_recovered"):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    for c in ("label_fraud", "label_critical"):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    hs = df["hs_code"].astype(str)
    df["hs_code"], df["hs6"], df["hs4"], df["hs2"] = hs, hs.str[:6], hs.str[:4], hs.str[:2]
    if "consignor" in df.columns:
        c = df["consignor"]
        df["consignor"] = c.where(c.isna(), c.astype(str).str.upper().str.split().str.join(" "))
    qty, value = df["quantity"].to_numpy(dtype=float), df["value"].to_numpy(dtype=float)
    mass = df["net_mass_kg"].to_numpy(dtype=float) if "net_mass_kg" in df.columns else np.full(len(df), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["unit_price"] = np.where(qty > 0, value / qty, np.nan)
        df["kg_price"] = np.where(mass > 0, value / mass, np.nan)
        df["kg_per_unit"] = np.where(qty > 0, mass / qty, np.nan)
    df["kind"] = "import"
    return df


def frame(session: Session, *, date_from: date | None = None, date_to: date | None = None, knowledge: bool = True) -> pd.DataFrame:
    """History declared in [date_from, date_to) as a facts frame, oldest first.

    Columns: the facts of risk/facts.py a history row can tell (declarant, importer, consignor,
    carrier, origin, departure_country, office, transport_mode, hs_code, hs6, hs4, hs2, quantity,
    net_mass_kg, value, unit_price, kg_price, kg_per_unit, importer_declarations, importer_first),
    declaration_id, declared_on, duty_rate, label_fraud, label_critical, revenue_recovered, source,
    and one column per extra. With `knowledge`, also what the knowledge base knows today:
    reference_price and price_ratio, the watch-list flags (lists in force on each row's day),
    licence_required and prohibited.
    """
    cols = [
        HistoryRecord.declaration_id,
        HistoryRecord.declared_on,
        HistoryRecord.office,
        HistoryRecord.declarant_id,
        HistoryRecord.importer_id,
        HistoryRecord.consignor_id,
        HistoryRecord.carrier_id,
        HistoryRecord.hs_code,
        HistoryRecord.origin_country,
        HistoryRecord.departure_country,
        HistoryRecord.transport_mode,
        HistoryRecord.quantity,
        HistoryRecord.net_mass_kg,
        HistoryRecord.value,
        HistoryRecord.duty_rate,
        HistoryRecord.label_fraud,
        HistoryRecord.label_critical,
        HistoryRecord.revenue_recovered,
        HistoryRecord.source,
        HistoryRecord.extras,
    ]
    stmt = select(*cols)
    if date_from is not None:
        stmt = stmt.where(HistoryRecord.declared_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(HistoryRecord.declared_on < date_to)
    stmt = stmt.order_by(HistoryRecord.declared_on, HistoryRecord.id)
    names = [c.key for c in cols]
    records = session.execute(stmt).all()
    raw = pd.DataFrame.from_records(records, columns=names)
    extras = raw.pop("extras")
    df = to_facts(raw)
    if len(df):
        df["label_critical"] = df["label_critical"].fillna(0).astype(int)
        df["label_fraud"] = df["label_fraud"].astype(int)
        df["revenue_recovered"] = df["revenue_recovered"].fillna(0.0)
    if extras.notna().any():
        ex = pd.DataFrame([e or {} for e in extras], index=df.index)
        for c in ex.columns:
            col = ex[c]
            if col.map(lambda v: v is None or (isinstance(v, int | float) and not isinstance(v, bool))).all():
                df[c] = pd.to_numeric(col, errors="coerce").astype(float)
            else:
                df[c] = col.where(col.notna(), None).astype(object)
    before = _importer_counts(session, date_from) if date_from is not None else {}
    day = df["declared_on"].to_numpy().astype("datetime64[D]").astype(np.int64) if len(df) else np.zeros(0, dtype=np.int64)
    counts = _earlier_day_counts(df["importer"].astype(object), day) if len(df) else np.zeros(0)
    base = df["importer"].map(before).fillna(0).to_numpy(dtype=float) if before else 0.0
    df["importer_declarations"] = (counts + base).astype(int) if len(df) else pd.Series(dtype=int)
    df["importer_first"] = df["importer_declarations"] == 0
    if knowledge and len(df):
        _add_knowledge(session, df)
    return df


def _earlier_day_counts(keys: pd.Series, day: np.ndarray) -> np.ndarray:
    """Per row: rows of the same key on strictly earlier days."""
    work = pd.DataFrame({"k": keys.to_numpy(dtype=object), "d": day})
    per_day = work.groupby(["k", "d"], sort=True).size()
    cum = per_day.groupby(level=0).cumsum() - per_day
    idx = pd.MultiIndex.from_arrays([work["k"], work["d"]])
    return np.asarray(cum.reindex(idx).to_numpy(), dtype=float)


def _importer_counts(session: Session, before: date) -> dict[str, int]:
    rows = session.execute(
        select(HistoryRecord.importer_id, func.count()).where(HistoryRecord.declared_on < before).group_by(HistoryRecord.importer_id)
    )
    return {str(k): int(n) for k, n in rows}


def _add_knowledge(session: Session, df: pd.DataFrame) -> None:
    from smartcustoms.risk.knowledge import service as knowledge

    refs = knowledge.reference_prices(session)
    if refs:
        by_pair = pd.Series({f"{h}|{o}": v for (h, o), v in refs.items()}, dtype=float)
        pair = df["hs6"].astype(str) + "|" + df["origin"].astype(str)
        ref = pair.map(by_pair).fillna((df["hs6"].astype(str) + "|*").map(by_pair))
        df["reference_price"] = ref.astype(float)
        df["price_ratio"] = df["unit_price"] / df["reference_price"]
    else:
        df["reference_price"] = np.nan
        df["price_ratio"] = np.nan
    day = df["declared_on"].dt.date
    from smartcustoms.risk.knowledge.models import RestrictedGood, WatchlistEntry

    for kind in ("consignor", "importer", "declarant"):
        df[f"{kind}_watchlisted"] = False
    for e in session.scalars(select(WatchlistEntry)):
        col = {"consignor": "consignor", "importer": "importer", "declarant": "declarant"}.get(e.party_kind)
        if col is None or col not in df.columns:
            continue
        hit = (df[col] == e.identifier) & (day >= e.valid_from)
        if e.valid_to is not None:
            hit &= day < e.valid_to
        df.loc[hit, f"{col}_watchlisted"] = True
    df["licence_required"] = None
    df["prohibited"] = False
    for r in session.scalars(select(RestrictedGood).order_by(func.length(RestrictedGood.hs_prefix))):
        hit = df["hs_code"].str.startswith(r.hs_prefix) & (day >= r.valid_from)
        if r.valid_to is not None:
            hit &= day < r.valid_to
        if r.licence:
            df.loc[hit, "licence_required"] = r.licence
        if r.prohibited:
            df.loc[hit, "prohibited"] = True
