"""The knowledge base: reference prices, restricted goods, watch lists, enterprise profiles."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.errors import Conflict, NotFound, Problem, ValidationFailed
from smartcustoms.party.models import Enterprise
from smartcustoms.risk.facts import Context, normalise_name
from smartcustoms.risk.knowledge.models import ReferencePrice, RestrictedGood, WatchlistEntry

PARTY_KINDS = frozenset({"importer", "declarant", "consignor", "carrier"})
CONTEXT_TTL_SECONDS = 30.0


def _in_force(model: Any, on: date) -> Any:
    return (model.valid_from <= on) & or_(model.valid_to.is_(None), model.valid_to > on)


def add_watch(
    session: Session,
    *,
    list_name: str,
    party_kind: str,
    identifier: str,
    reason: str,
    valid_from: date,
    valid_to: date | None,
    actor: Actor,
    now: datetime,
) -> WatchlistEntry:
    """Put a party on a named watch list, with the reason and validity."""
    problems = []
    if party_kind not in PARTY_KINDS:
        problems.append(Problem("RSK-KB-001", "/party_kind", f"party_kind is one of {sorted(PARTY_KINDS)}."))
    if not list_name.strip() or len(list_name) > 40:
        problems.append(Problem("RSK-KB-002", "/list_name", "A list name has 1 to 40 characters."))
    if valid_to is not None and valid_to <= valid_from:
        problems.append(Problem("RSK-KB-003", "/valid_to", "valid_to must be after valid_from."))
    if problems:
        raise ValidationFailed("The entry cannot be added.", problems)
    ident = normalise_name(identifier) if party_kind == "consignor" else identifier.strip().upper()
    entry = WatchlistEntry(
        list_name=list_name,
        party_kind=party_kind,
        identifier=ident,
        reason=reason,
        valid_from=valid_from,
        valid_to=valid_to,
        added_by=actor.name,
        added_at=now,
    )
    session.add(entry)
    session.flush()
    record(
        session,
        actor=actor,
        action="watchlist.added",
        subject_type="watchlist",
        subject_id=f"{list_name}/{entry.id}",
        now=now,
        after={
            "party_kind": party_kind,
            "identifier": ident,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
        },
        reason=reason,
    )
    invalidate()
    return entry


def end_watch(session: Session, *, entry_id: int, on: date, reason: str, actor: Actor, now: datetime) -> WatchlistEntry:
    """End a watch-list entry from a day (it stays in the history)."""
    entry = session.get(WatchlistEntry, entry_id)
    if entry is None:
        raise NotFound(f"No watch-list entry {entry_id}.")
    if on < entry.valid_from:  # ending it on its first day voids it
        raise ValidationFailed(
            "The entry cannot end then.",
            [Problem("RSK-KB-003", "/on", f"The end cannot be before the start of the entry, {entry.valid_from}.")],
        )
    if entry.valid_to is not None and entry.valid_to <= on:
        raise Conflict(
            f"Watch-list entry {entry_id} already ended on {entry.valid_to}; ending it later would extend it.", code="already_ended"
        )
    before = {"valid_to": entry.valid_to.isoformat() if entry.valid_to else None}
    entry.valid_to = on
    record(
        session,
        actor=actor,
        action="watchlist.ended",
        subject_type="watchlist",
        subject_id=f"{entry.list_name}/{entry.id}",
        now=now,
        before=before,
        after={"valid_to": on.isoformat()},
        reason=reason,
    )
    invalidate()
    return entry


def add_restricted(
    session: Session, *, hs_prefix: str, licence: str | None, prohibited: bool, reason: str, valid_from: date, actor: Actor, now: datetime
) -> RestrictedGood:
    """Record that goods under an HS prefix need a licence or are prohibited."""
    problems = []
    if not (hs_prefix.isascii() and hs_prefix.isdigit()) or not 2 <= len(hs_prefix) <= 10:
        problems.append(Problem("RSK-KB-004", "/hs_prefix", "An HS prefix has 2 to 10 digits."))
    if not licence and not prohibited:
        problems.append(Problem("RSK-KB-005", "/licence", "Name the licence the goods need, or mark them prohibited."))
    if problems:
        raise ValidationFailed("The restriction cannot be added.", problems)
    row = RestrictedGood(
        hs_prefix=hs_prefix,
        licence=licence,
        prohibited=prohibited,
        reason=reason,
        valid_from=valid_from,
        valid_to=None,
        added_by=actor.name,
        added_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="restricted_good.added",
        subject_type="restricted_good",
        subject_id=hs_prefix,
        now=now,
        after={"licence": licence, "prohibited": prohibited, "valid_from": valid_from.isoformat()},
        reason=reason,
    )
    invalidate()
    return row


def watchlist(session: Session, *, on: date) -> Sequence[WatchlistEntry]:
    """Watch-list entries in force on a day."""
    return session.scalars(
        select(WatchlistEntry).where(_in_force(WatchlistEntry, on)).order_by(WatchlistEntry.list_name, WatchlistEntry.id)
    ).all()


def restricted(session: Session, *, on: date) -> Sequence[RestrictedGood]:
    """Restrictions in force on a day."""
    return session.scalars(select(RestrictedGood).where(_in_force(RestrictedGood, on)).order_by(RestrictedGood.hs_prefix)).all()


def named_lists(session: Session, *, on: date) -> dict[str, frozenset[str]]:
    """Named lists a rule may test with `on_list`: every watch list in force, by name."""
    out: dict[str, set[str]] = {}
    for e in watchlist(session, on=on):
        out.setdefault(e.list_name, set()).add(e.identifier)
    return {k: frozenset(v) for k, v in out.items()}


def refresh_reference_prices(
    session: Session, *, frame: pd.DataFrame, basis_from: date, basis_to: date, actor: Actor, now: datetime, min_observations: int = 5
) -> int:
    """Learn reference unit prices (median, spread of log price) per HS subheading and origin from honest history rows."""
    df = frame
    if "declared_on" in df.columns:
        d = pd.to_datetime(df["declared_on"]).dt.date
        df = df[(d >= basis_from) & (d < basis_to)]
    if "label_fraud" in df.columns:
        df = df[df["label_fraud"].fillna(0).astype(int) == 0]
    qty = pd.to_numeric(df["quantity"], errors="coerce")
    val = pd.to_numeric(df["value"], errors="coerce")
    ok = (qty > 0) & (val > 0)
    work = pd.DataFrame(
        {"hs6": df.loc[ok, "hs_code"].astype(str).str[:6], "origin": df.loc[ok, "origin"].astype(str), "lp": np.log(val[ok] / qty[ok])}
    )
    rows: list[dict[str, Any]] = []
    for keys, g in [*work.groupby(["hs6", "origin"])] + [((h, "*"), g) for h, g in work.groupby("hs6")]:
        if len(g) < min_observations:
            continue
        med = float(g["lp"].median())
        rows.append(
            {
                "hs6": keys[0],
                "origin": keys[1],
                "median": float(np.exp(med)),
                "mad": float((g["lp"] - med).abs().median()),
                "observations": len(g),
            }
        )
    session.execute(delete(ReferencePrice).where(ReferencePrice.computed_on == now.date()))
    for r in rows:
        session.add(ReferencePrice(**r, basis_from=basis_from, basis_to=basis_to, computed_on=now.date()))
    session.flush()
    record(
        session,
        actor=actor,
        action="reference_price.refreshed",
        subject_type="knowledge",
        subject_id="reference_price",
        now=now,
        after={"prices": len(rows), "basis_from": basis_from.isoformat(), "basis_to": basis_to.isoformat(), "rows": len(work)},
    )
    invalidate()
    return len(rows)


def reference_prices(session: Session) -> dict[tuple[str, str], float]:
    """The newest reference unit price per (HS subheading, origin or '*')."""
    latest = session.scalar(select(func.max(ReferencePrice.computed_on)))
    if latest is None:
        return {}
    return {(r.hs6, r.origin): r.median for r in session.scalars(select(ReferencePrice).where(ReferencePrice.computed_on == latest))}


def declarations_before(session: Session) -> dict[str, int]:
    """How many declarations each trader has lodged (for 'first declaration' facts)."""
    from smartcustoms.declaration.models import Declaration

    return {u: int(n) for u, n in session.execute(select(Declaration.trader_uscc, func.count()).group_by(Declaration.trader_uscc))}


_lock = threading.Lock()
_cache: dict[tuple[str, date], tuple[float, Context]] = {}


_generation = 0


def invalidate() -> None:
    """Forget cached contexts after the knowledge base changed (rules compiled against its lists follow)."""
    global _generation
    with _lock:
        _cache.clear()
        _generation += 1


def generation() -> int:
    """Counts knowledge-base changes in this process: caches built from it compare it."""
    return _generation


def context(session: Session, *, on: date, fresh_counts: dict[str, int] | None = None) -> Context:
    """What the knowledge base knows on a day, cached for half a minute; counts may be passed fresh."""
    key = (str(session.get_bind().engine.url), on)
    hit = _cache.get(key)
    if hit is None or time.monotonic() - hit[0] > CONTEXT_TTL_SECONDS:
        wl: dict[str, set[str]] = {}
        for e in watchlist(session, on=on):
            wl.setdefault(e.party_kind, set()).add(e.identifier)
        rs = restricted(session, on=on)
        ctx = Context(
            credit={u: c.value for u, c in session.execute(select(Enterprise.uscc, Enterprise.credit))},
            declarations={},
            reference_price=reference_prices(session),
            watchlist={k: frozenset(v) for k, v in wl.items()},
            licences={r.hs_prefix: r.licence for r in rs if r.licence},
            prohibited=frozenset(r.hs_prefix for r in rs if r.prohibited),
        )
        with _lock:
            _cache[key] = (time.monotonic(), ctx)
    else:
        ctx = hit[1]
    if fresh_counts is not None:
        return Context(ctx.credit, fresh_counts, ctx.reference_price, ctx.watchlist, ctx.licences, ctx.prohibited)
    return ctx
