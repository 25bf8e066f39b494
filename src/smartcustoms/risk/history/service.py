"""Labelled history: import it from CSV with a mapping file, add outcomes, read it back as a facts frame.

The mapping file (TOML) says which CSV column holds each canonical field (or a table: `{column =
"Tax Rate", scale = 0.01}`, `{value = 1}`, `{column = "QTY", default = 1}`), and which extra columns
to keep; see docs/risk.md. Every row is checked; a bad row is rejected with its line number and
the reason, never coerced; the report also sums rejections up by reason. Importing the same rows again stores nothing new: rows are unique by
(source, declaration_id), and rows already present are counted as skipped, never updated.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.risk.history.frame import FACT_NAMES, frame, to_facts
from smartcustoms.risk.history.mapping import CANONICAL, MAX_DUTY_RATE, REQUIRED, SHOWN_LINES, TEXT_LIMITS, HistoryMapping, load_mapping
from smartcustoms.risk.history.models import HistoryRecord

# The mapping file lives in mapping.py, reading history back in frame.py; their names are part of this interface.
__all__ = ["CANONICAL", "FACT_NAMES", "REQUIRED", "HistoryMapping", "frame", "load_mapping", "to_facts"]

Progress = Callable[[int, int], None]

BATCH = 5000
_generation = 0  # bumped whenever this process changes history (caches built on it compare)
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass
class ImportReport:
    """What an import did: rows read, rejected (line, reason), stored, and skipped as already present.

    `reasons` sums the rejections up: per kind of reason (the reason without the row's value), how
    many rows and the first few line numbers.
    """

    source: str
    read: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    stored: int = 0
    skipped: int = 0
    reasons: dict[str, tuple[int, list[int]]] = field(default_factory=dict)

    def reject(self, line: int, reason: str, kind: str | None = None) -> None:
        """Count a rejected row under its kind of reason."""
        self.rejected.append((line, reason))
        n, lines = self.reasons.get(kind or reason, (0, []))
        if len(lines) < SHOWN_LINES:
            lines.append(line)
        self.reasons[kind or reason] = (n + 1, lines)

    def summary(self) -> list[dict[str, Any]]:
        """Rejections by reason, most frequent first: {"reason", "rows", "lines"} (the first few lines)."""
        items = sorted(self.reasons.items(), key=lambda kv: (-kv[1][0], kv[1][1][0]))
        return [{"reason": k, "rows": n, "lines": list(lines)} for k, (n, lines) in items]

    def as_dict(self, *, limit: int | None = None) -> dict[str, Any]:
        """For JSON output."""
        shown = self.rejected if limit is None else self.rejected[:limit]
        return {
            "source": self.source,
            "read": self.read,
            "rejected": len(self.rejected),
            "stored": self.stored,
            "skipped": self.skipped,
            "reasons": self.summary(),
            "rejections": [{"line": n, "reason": r} for n, r in shown],
        }


# --- checking one row ---------------------------------------------------------------------------


class _Bad(Exception):
    """A rejected row: the reason, and its kind (the reason without the row's value) for the summary."""

    def __init__(self, reason: str, kind: str | None = None) -> None:
        super().__init__(reason)
        self.kind = kind or reason


def _number(raw: str, name: str, *, minimum: float = 0.0, positive: bool = False) -> float:
    try:
        x = float(raw)
    except ValueError:
        raise _Bad(f"{name} {raw!r} is not a number", f"{name} is not a number") from None
    if not math.isfinite(x):
        raise _Bad(f"{name} {raw!r} is not a finite number", f"{name} is not a finite number")
    if positive and x <= 0:
        raise _Bad(f"{name} {raw!r} must be more than 0", f"{name} must be more than 0")
    if x < minimum:
        raise _Bad(f"{name} {raw!r} must be at least {minimum:g}", f"{name} must be at least {minimum:g}")
    return x


def _check_row(raw: Mapping[str, str], m: HistoryMapping, source: str, now: datetime) -> dict[str, Any]:
    def get(name: str) -> str | None:
        col = m.columns.get(name)
        if col is None:
            return m.constants.get(name)
        v = (raw.get(col) or "").strip()
        return v or m.defaults.get(name)

    def number(name: str, **kw: Any) -> float | None:
        v = get(name)
        if v is None:
            return None
        x = _number(v, name, **kw)
        return x * m.scales[name] if name in m.scales else x

    row: dict[str, Any] = {"source": source, "imported_at": now}
    for name in REQUIRED:
        if get(name) is None:
            raise _Bad(f"{name} is empty")
    for name, limit in TEXT_LIMITS.items():
        v = get(name)
        if v is not None and len(v) > limit:
            raise _Bad(f"{name} is longer than {limit} characters")
        row[name] = v
    d = get("declared_on")
    assert d is not None
    try:
        row["declared_on"] = datetime.strptime(d, m.date_format).date() if m.date_format else date.fromisoformat(d)
    except ValueError:
        written = f" written {m.date_format}" if m.date_format else " written YYYY-MM-DD"
        raise _Bad(f"declared_on {d!r} is not a date{written}", f"declared_on is not a date{written}") from None
    hs = get("hs_code") or ""
    if not (hs.isascii() and hs.isdigit()) or len(hs) not in (6, 8, 10):
        raise _Bad(f"hs_code {hs!r} is not 6, 8 or 10 digits", "hs_code is not 6, 8 or 10 digits")
    row["hs_code"] = hs
    for name in ("origin_country", "departure_country"):
        v = get(name)
        if v is not None and not _COUNTRY.match(v):
            raise _Bad(f"{name} {v!r} is not a two-letter ISO country code in capitals", f"{name} is not a two-letter ISO code in capitals")
        row[name] = v
    row["quantity"] = number("quantity", positive=True)
    row["value"] = number("value")
    for name in ("net_mass_kg", "revenue_recovered", "duty_rate"):
        row[name] = number(name)
    if row["duty_rate"] is not None and row["duty_rate"] > MAX_DUTY_RATE:
        scaled = f" (scaled by {m.scales['duty_rate']:g})" if "duty_rate" in m.scales else ""
        raise _Bad(
            f"duty_rate {get('duty_rate')!r}{scaled} is more than {MAX_DUTY_RATE:g}: rates are fractions (0.15 for 15 %); "
            "for percentages map {column = ..., scale = 0.01}",
            f"duty_rate is more than {MAX_DUTY_RATE:g}",
        )
    lf = get("label_fraud")
    if lf not in ("0", "1"):
        raise _Bad(f"label_fraud {lf!r} is not 0 or 1", "label_fraud is not 0 or 1")
    row["label_fraud"] = int(lf)
    lc = get("label_critical")
    if lc is not None and lc not in ("0", "1", "2"):
        raise _Bad(f"label_critical {lc!r} is not 0, 1 or 2", "label_critical is not 0, 1 or 2")
    row["label_critical"] = None if lc is None else int(lc)
    if row["label_critical"] and not row["label_fraud"]:
        raise _Bad(f"label_critical {lc} needs label_fraud 1", "label_critical above 0 needs label_fraud 1")
    extras: dict[str, Any] = {}
    for name, col in m.extra_categorical.items():
        ev = (raw.get(col) or "").strip()
        extras[name] = ev or None
    for name, col in m.extra_numeric.items():
        ev = (raw.get(col) or "").strip()
        extras[name] = None if not ev else _number(ev, name, minimum=-math.inf)
    row["extras"] = extras or None
    return row


def _count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            n += chunk.count(b"\n")
    return max(n - 1, 0)


def import_history(
    session: Session, *, path: Path, mapping_path: Path, actor: Actor, now: datetime, progress: Progress | None = None
) -> ImportReport:
    """Import labelled history rows from a CSV file; bad rows are rejected with their line and reason."""
    m = load_mapping(mapping_path)
    source = m.source or f"import:{path.name}"[:120]
    report = ImportReport(source)
    total = _count_lines(path)
    existing = set(session.scalars(select(HistoryRecord.declaration_id).where(HistoryRecord.source == source)))
    seen: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    digest = hashlib.sha256()

    def flush() -> None:
        if batch:
            session.execute(insert(HistoryRecord), batch)
            report.stored += len(batch)
            batch.clear()

    try:
        fh = path.open(encoding=m.encoding, newline="")
    except OSError as exc:
        raise ValidationFailed(f"{path.name} cannot be read.", [Problem("RSK-HIS-008", "/file", str(exc))]) from exc
    with fh:
        reader = csv.DictReader(fh, delimiter=m.delimiter)
        header = reader.fieldnames or []
        wanted = [(f"/columns/{k}", v) for k, v in m.columns.items()] + [
            (f"/extra_categorical/{k}", v) for k, v in m.extra_categorical.items()
        ]
        wanted += [(f"/extra_numeric/{k}", v) for k, v in m.extra_numeric.items()]
        missing = [Problem("RSK-HIS-009", ptr, f"The CSV file has no column {col!r}.") for ptr, col in wanted if col not in header]
        if missing:
            raise ValidationFailed(f"{path.name} does not have the columns the mapping names.", missing)
        line = 1
        try:
            for raw in reader:
                line = reader.line_num
                report.read += 1
                digest.update(repr(sorted(raw.items(), key=lambda kv: str(kv[0]))).encode())
                if None in raw:
                    report.reject(line, "the row has more fields than the header")
                    continue
                try:
                    row = _check_row(raw, m, source, now)
                except _Bad as exc:
                    report.reject(line, str(exc), exc.kind)
                    continue
                did = row["declaration_id"]
                if did in seen:
                    report.reject(line, f"declaration_id {did!r} repeats line {seen[did]}", "declaration_id repeats an earlier line")
                    continue
                seen[did] = line
                if did in existing:
                    report.skipped += 1
                    continue
                batch.append(row)
                if len(batch) >= BATCH:
                    flush()
                if progress and report.read % 1000 == 0:
                    progress(report.read, max(total, report.read))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ValidationFailed(
                f"{path.name} is not a readable CSV file.", [Problem("RSK-HIS-010", "/file", f"line {line}: {exc}")]
            ) from exc
    flush()
    _changed()
    if progress:
        progress(report.read, report.read)
    record(
        session,
        actor=actor,
        action="risk_history.imported",
        subject_type="risk_history",
        subject_id=source,
        now=now,
        after={
            "file": path.name,
            "sha256_rows": digest.hexdigest(),
            "read": report.read,
            "rejected": len(report.rejected),
            "stored": report.stored,
            "skipped": report.skipped,
        },
    )
    session.flush()
    return report


def record_outcome_row(
    session: Session,
    *,
    declaration_id: str,
    declared_on: date,
    facts: Mapping[str, Any],
    label_fraud: bool,
    label_critical: int,
    revenue_recovered: float,
    now: datetime,
) -> HistoryRecord:
    """Add (or correct) the labelled history row of one inspected item, from its facts (source "outcome").

    `declaration_id` names the item, e.g. "<declaration number>/<line>". The caller journals the
    outcome itself; this is its learning copy.
    """
    row = session.scalar(select(HistoryRecord).where(HistoryRecord.source == "outcome", HistoryRecord.declaration_id == declaration_id))
    if row is None:
        row = HistoryRecord(source="outcome", declaration_id=declaration_id)
        session.add(row)

    def text(name: str, limit: int) -> str | None:
        v = facts.get(name)
        return None if v is None else str(v)[:limit]

    row.declared_on = declared_on
    row.office, row.declarant_id, row.importer_id = text("office", 8), text("declarant", 40), text("importer", 40) or ""
    row.consignor_id, row.carrier_id = text("consignor", 200), text("carrier", 40)
    row.hs_code, row.origin_country = text("hs_code", 10) or "", text("origin", 2) or ""
    row.departure_country, row.transport_mode = text("departure_country", 2), text("transport_mode", 12)
    row.quantity = None if facts.get("quantity") is None else float(facts["quantity"])
    row.value = float(facts.get("value") or 0)
    row.net_mass_kg = None if facts.get("net_mass_kg") is None else float(facts["net_mass_kg"])
    row.duty_rate = None if facts.get("duty_rate") is None else float(facts["duty_rate"])
    row.label_fraud, row.label_critical, row.revenue_recovered = int(bool(label_fraud)), int(label_critical), float(revenue_recovered)
    credit = facts.get("importer_credit")
    row.extras = {"importer_credit": credit} if credit is not None else None
    row.imported_at = now
    session.flush()
    _changed()
    return row


def generation() -> int:
    """A number that changes whenever this process imports history or records an outcome."""
    return _generation


def _changed() -> None:
    global _generation
    _generation += 1


def count(session: Session) -> int:
    """Rows of history held."""
    return int(session.scalar(select(func.count()).select_from(HistoryRecord)) or 0)
