"""Tariff use cases: load a schedule or preferential rates from CSV (all or nothing), look a code up on a day."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.errors import NotFound, Problem, ValidationFailed
from smartcustoms.tariff import domain
from smartcustoms.tariff.models import PreferentialRate, TariffLine

DATA = Path(__file__).parent / "data"
SAMPLE_SCHEDULE = DATA / "sample_schedule.csv"  # SAMPLE DATA: illustrative rates for the demo's goods, not the law
SAMPLE_PREFERENCES = DATA / "sample_preferences.csv"
MAX_PROBLEMS = 200  # a file of bad rows lists this many, then says how many more
_DECLARED = re.compile(r"[0-9]{8,10}")
Row = TypeVar("Row", domain.LineRow, domain.PreferenceRow)


@dataclass
class TariffLoad:
    """What a load did: rows read, added, replaced, and earlier periods closed."""

    kind: str
    rows: int = 0
    added: int = 0
    replaced: int = 0
    closed: int = 0
    sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rates:
    """A declared code's tariff line in force on a day, with the preferential rates of its code."""

    declared: str
    line: TariffLine
    preferences: tuple[PreferentialRate, ...]


def _read(
    text: str, columns: Sequence[str], parse: Callable[[Mapping[str, str | None], int], tuple[Row | None, list[Problem]]], what: str
) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text))
    problems = domain.header_problems(reader.fieldnames, columns)
    rows: list[Row] = []
    seen: dict[tuple[str, ...], int] = {}
    if not problems:
        for raw in reader:
            line = reader.line_num
            row, found = parse(raw, line)
            problems += found
            if row is not None:
                key = (row.code, getattr(row, "agreement", ""), row.valid_from.isoformat())
                if key in seen:
                    problems.append(
                        Problem("TAR-CSV-011", f"/line/{line}", f"Line {line} repeats line {seen[key]} (same code and valid_from).")
                    )
                seen.setdefault(key, line)
                rows.append(row)
    if not rows and not problems:
        problems.append(Problem("TAR-CSV-012", "/line/2", "The file has no rows."))
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = f" (the first {MAX_PROBLEMS} of {len(problems)} shown)" if len(problems) > MAX_PROBLEMS else ""
        raise ValidationFailed(f"The {what} has {len(problems)} problem(s); nothing was loaded{more}.", shown, code="tariff_file_invalid")
    return rows


def _merge(
    session: Session, model: type[Any], rows: Sequence[Row], key: Callable[[Row], tuple[str, ...]], values: Callable[[Row], dict[str, Any]]
) -> TariffLoad:
    """Insert new periods, replace the same period's rates, and end the earlier open period of a key the day before a new one starts."""
    table = model.__table__
    have: dict[tuple[str, ...], list[tuple[int, date, date | None]]] = {}
    cols = [table.c.id, table.c.code, table.c.valid_from, table.c.valid_to] + ([table.c.agreement] if "agreement" in table.c else [])
    for r in session.execute(select(*cols)):
        k = (r.code, r.agreement) if "agreement" in table.c else (r.code,)
        have.setdefault(k, []).append((r.id, r.valid_from, r.valid_to))
    out = TariffLoad(kind=model.__tablename__, rows=len(rows))
    adds: list[dict[str, Any]] = []
    changes: dict[int, dict[str, Any]] = {}
    pending: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # this file's new periods, by key
    for row in sorted(rows, key=lambda r: r.valid_from):
        for earlier in pending.get(key(row), []):
            if earlier["valid_from"] < row.valid_from and (earlier["valid_to"] is None or earlier["valid_to"] >= row.valid_from):
                earlier["valid_to"] = row.valid_from - timedelta(days=1)
        periods = have.get(key(row), [])
        same = next((p for p in periods if p[1] == row.valid_from), None)
        if same is not None:
            changes[same[0]] = {"id": same[0], **values(row)}
            out.replaced += 1
        else:
            adds.append(values(row))
            pending.setdefault(key(row), []).append(adds[-1])
            out.added += 1
        for pid, start, end in periods:
            if start < row.valid_from and (end is None or end >= row.valid_from):
                changes.setdefault(pid, {"id": pid})["valid_to"] = row.valid_from - timedelta(days=1)
                out.closed += 1
    if adds:
        session.execute(insert(table), adds)
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes.values():
        by_shape.setdefault(tuple(sorted(change)), []).append(change)
    for batch in by_shape.values():
        session.execute(update(model), batch)
    return out


def _line_values(r: domain.LineRow) -> dict[str, Any]:
    return {c: getattr(r, c) for c in domain.SCHEDULE_COLUMNS}


def _preference_values(r: domain.PreferenceRow) -> dict[str, Any]:
    return {
        "code": r.code,
        "agreement": r.agreement,
        "origins": " ".join(r.origins),
        "rate": r.rate,
        "valid_from": r.valid_from,
        "valid_to": r.valid_to,
    }


def load_schedule(session: Session, *, text: str, source: str, actor: Actor, now: datetime) -> TariffLoad:
    """Load a tariff schedule (CSV with `domain.SCHEDULE_COLUMNS`): every row or, if any row is bad, none. Journaled."""
    rows = _read(text, domain.SCHEDULE_COLUMNS, domain.parse_line, "schedule")
    out = _merge(session, TariffLine, rows, lambda r: (r.code,), _line_values)
    return _journal(session, out, text=text, source=source, actor=actor, now=now)


def load_preferences(session: Session, *, text: str, source: str, actor: Actor, now: datetime) -> TariffLoad:
    """Load preferential rates (CSV with `domain.PREFERENCE_COLUMNS`): every row or none. Journaled."""
    rows = _read(text, domain.PREFERENCE_COLUMNS, domain.parse_preference, "preference file")
    out = _merge(session, PreferentialRate, rows, lambda r: (r.code, r.agreement), _preference_values)
    return _journal(session, out, text=text, source=source, actor=actor, now=now)


def _journal(session: Session, out: TariffLoad, *, text: str, source: str, actor: Actor, now: datetime) -> TariffLoad:
    out.sha256 = hashlib.sha256(text.encode()).hexdigest()
    session.flush()
    record(
        session,
        actor=actor,
        action="tariff.loaded",
        subject_type=out.kind,
        subject_id=out.sha256[:16],
        now=now,
        after={
            "source": source,
            "sha256": out.sha256,
            "rows": out.rows,
            "added": out.added,
            "replaced": out.replaced,
            "closed": out.closed,
        },
    )
    return out


def load_sample(session: Session, *, actor: Actor, now: datetime) -> tuple[TariffLoad, TariffLoad]:
    """Load the SAMPLE schedule and preferences shipped with the product (illustrative rates for the demo's goods)."""
    return (
        load_schedule(session, text=SAMPLE_SCHEDULE.read_text(encoding="utf-8"), source="sample", actor=actor, now=now),
        load_preferences(session, text=SAMPLE_PREFERENCES.read_text(encoding="utf-8"), source="sample", actor=actor, now=now),
    )


def _in_force(model: type[Any], codes: Iterable[str], on: date) -> Any:
    return select(model).where(model.code.in_(list(codes)), model.valid_from <= on, (model.valid_to.is_(None)) | (model.valid_to >= on))


def rates_on(session: Session, *, code: str, on: date) -> Rates | None:
    """The longest tariff line starting the declared code in force on the day, and its code's preferences then; None if none."""
    candidates = domain.candidate_codes(code)
    lines = {ln.code: ln for ln in session.scalars(_in_force(TariffLine, candidates, on))}
    best = domain.longest(lines)
    if best is None:
        return None
    prefs = tuple(session.scalars(_in_force(PreferentialRate, [best], on).order_by(PreferentialRate.agreement)))
    return Rates(declared=code, line=lines[best], preferences=prefs)


def rates_on_many(session: Session, *, codes: Iterable[str], on: date) -> dict[str, Rates | None]:
    """`rates_on` for many declared codes at once, in two queries (the lines, then the chosen lines' preferences)."""
    wanted = {code: domain.candidate_codes(code) for code in set(codes)}
    everything = {c for cands in wanted.values() for c in cands}
    lines = {ln.code: ln for ln in session.scalars(_in_force(TariffLine, everything, on))} if everything else {}
    best = {code: domain.longest({c: lines[c] for c in cands if c in lines}) for code, cands in wanted.items()}
    chosen = {b for b in best.values() if b is not None}
    prefs: dict[str, list[PreferentialRate]] = {b: [] for b in chosen}
    if chosen:
        for p in session.scalars(_in_force(PreferentialRate, chosen, on).order_by(PreferentialRate.agreement)):
            prefs[p.code].append(p)
    return {code: None if b is None else Rates(declared=code, line=lines[b], preferences=tuple(prefs[b])) for code, b in best.items()}


def lookup(session: Session, *, code: str, on: date) -> Rates:
    """`rates_on`, refusing a malformed code (422) and an unknown one (404, code `tariff_code_unknown`)."""
    if not _DECLARED.fullmatch(code):
        raise ValidationFailed("A tariff code has 8 to 10 digits.", [Problem("TAR-CODE-001", "/code", f"{code!r} is not 8 to 10 digits.")])
    found = rates_on(session, code=code, on=on)
    if found is None:
        raise NotFound(f"No tariff line starts {code} on {on.isoformat()}.", code="tariff_code_unknown")
    return found
