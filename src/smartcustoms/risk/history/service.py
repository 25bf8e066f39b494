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
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.risk.facts import FACTS
from smartcustoms.risk.history.models import HistoryRecord

Progress = Callable[[int, int], None]

CANONICAL = (
    "declaration_id",
    "declared_on",
    "office",
    "declarant_id",
    "importer_id",
    "consignor_id",
    "carrier_id",
    "hs_code",
    "origin_country",
    "departure_country",
    "transport_mode",
    "quantity",
    "net_mass_kg",
    "value",
    "duty_rate",
    "label_fraud",
    "label_critical",
    "revenue_recovered",
)
REQUIRED = frozenset({"declaration_id", "declared_on", "importer_id", "hs_code", "origin_country", "value", "label_fraud"})
NUMERIC = frozenset({"quantity", "net_mass_kg", "value", "duty_rate", "revenue_recovered"})
MAX_DUTY_RATE = 10.0  # 1,000 %: some agricultural tariffs are above 500 %
SHOWN_LINES = 5  # line numbers kept per rejection reason in the summary
TEXT_LIMITS = {
    "declaration_id": 80,
    "office": 8,
    "declarant_id": 40,
    "importer_id": 40,
    "consignor_id": 200,
    "carrier_id": 40,
    "transport_mode": 12,
}
# Canonical history field -> facts-frame column (risk/facts.py).
FACT_NAMES = {
    "declarant_id": "declarant",
    "importer_id": "importer",
    "consignor_id": "consignor",
    "carrier_id": "carrier",
    "origin_country": "origin",
}
FRAME_COLUMNS = (
    "declaration_id",
    "declared_on",
    "office",
    "declarant",
    "importer",
    "consignor",
    "carrier",
    "hs_code",
    "origin",
    "departure_country",
    "transport_mode",
    "quantity",
    "net_mass_kg",
    "value",
    "duty_rate",
    "label_fraud",
    "label_critical",
    "revenue_recovered",
)
RESERVED = (
    frozenset(FACTS) - {"importer_credit", "procedure", "port", "currency", "unit", "description", "line", "gross_mass_kg"}
    | set(FRAME_COLUMNS)
    | {"source", "id", "imported_at", "extras"}
)
BATCH = 5000
_generation = 0  # bumped whenever this process changes history (caches built on it compare)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class HistoryMapping:
    """A checked mapping: CSV column of each canonical field and of each extra, and the options."""

    columns: dict[str, str]
    extra_categorical: dict[str, str]
    extra_numeric: dict[str, str]
    source: str | None
    delimiter: str
    encoding: str
    date_format: str | None
    scales: dict[str, float] = field(default_factory=dict)  # numeric field -> factor applied to the CSV value
    constants: dict[str, str] = field(default_factory=dict)  # field -> value for every row (no CSV column)
    defaults: dict[str, str] = field(default_factory=dict)  # field -> value where its CSV cell is empty


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


def _mapping_problem(code: str, pointer: str, message: str) -> Problem:
    return Problem(code, pointer, message)


def load_mapping(path: Path) -> HistoryMapping:
    """Read and check a mapping file (the CSV header is checked later, by `import_history`)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationFailed(f"{path.name} is not a readable TOML mapping file.", [Problem("RSK-HIS-001", "/mapping", str(exc))]) from exc
    problems: list[Problem] = []
    for key in data:
        if key not in ("columns", "extra_categorical", "extra_numeric", "options"):
            problems.append(
                _mapping_problem(
                    "RSK-HIS-002", f"/{key}", f"Unknown section [{key}]; use [columns], [extra_categorical], [extra_numeric] and [options]."
                )
            )
    columns = data.get("columns", {})
    if not isinstance(columns, dict):
        columns = {}
        problems.append(_mapping_problem("RSK-HIS-002", "/columns", '[columns] is a table of canonical field = "CSV column".'))
    plain: dict[str, str] = {}
    scales: dict[str, float] = {}
    constants: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for name, col in columns.items():
        if name not in CANONICAL:
            problems.append(
                _mapping_problem(
                    "RSK-HIS-003", f"/columns/{name}", f"Unknown canonical field {name!r}; the fields are {', '.join(CANONICAL)}."
                )
            )
        elif isinstance(col, dict):
            problems += _column_table(name, col, plain, scales, constants, defaults)
        elif not isinstance(col, str) or not col:
            problems.append(_mapping_problem("RSK-HIS-004", f"/columns/{name}", "The CSV column is a non-empty text."))
        else:
            plain[name] = col
    for name in sorted(REQUIRED - set(columns)):
        problems.append(_mapping_problem("RSK-HIS-005", f"/columns/{name}", f"The required field {name} is not mapped."))
    extras: dict[str, dict[str, str]] = {}
    for section in ("extra_categorical", "extra_numeric"):
        table = data.get(section, {})
        if not isinstance(table, dict):
            problems.append(_mapping_problem("RSK-HIS-002", f"/{section}", f'[{section}] is a table of name = "CSV column".'))
            table = {}
        for name, col in table.items():
            if not _NAME.match(name):
                problems.append(
                    _mapping_problem(
                        "RSK-HIS-006",
                        f"/{section}/{name}",
                        "An extra column's name is lower case letters, digits and _, starting with a letter.",
                    )
                )
            elif name in RESERVED:
                problems.append(
                    _mapping_problem(
                        "RSK-HIS-006", f"/{section}/{name}", f"{name!r} is a canonical or computed column; choose another name."
                    )
                )
            elif not isinstance(col, str) or not col:
                problems.append(_mapping_problem("RSK-HIS-004", f"/{section}/{name}", "The CSV column is a non-empty text."))
        extras[section] = {k: v for k, v in table.items() if isinstance(v, str)}
    both = set(extras["extra_categorical"]) & set(extras["extra_numeric"])
    for name in sorted(both):
        problems.append(_mapping_problem("RSK-HIS-006", f"/extra_numeric/{name}", f"{name!r} is both categorical and numeric."))
    options = data.get("options", {})
    if not isinstance(options, dict):
        options = {}
    for key in options:
        if key not in ("source", "delimiter", "encoding", "date_format"):
            problems.append(
                _mapping_problem(
                    "RSK-HIS-002", f"/options/{key}", f"Unknown option {key!r}; options are source, delimiter, encoding, date_format."
                )
            )
    delimiter = options.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        problems.append(_mapping_problem("RSK-HIS-007", "/options/delimiter", "The delimiter is one character."))
        delimiter = ","
    source = options.get("source")
    if source is not None and (not isinstance(source, str) or not 1 <= len(source) <= 120):
        problems.append(_mapping_problem("RSK-HIS-007", "/options/source", "The source is a text of 1 to 120 characters."))
    if problems:
        raise ValidationFailed("The mapping file has problems.", problems)
    return HistoryMapping(
        plain,
        extras["extra_categorical"],
        extras["extra_numeric"],
        source,
        delimiter,
        str(options.get("encoding", "utf-8-sig")),
        options.get("date_format"),
        scales,
        constants,
        defaults,
    )


def _column_table(
    name: str, table: dict[str, Any], plain: dict[str, str], scales: dict[str, float], constants: dict[str, str], defaults: dict[str, str]
) -> list[Problem]:
    """Check one `field = {column = ..., scale = ..., default = ...}` or `field = {value = ...}` entry."""
    ptr = f"/columns/{name}"
    problems = [
        _mapping_problem("RSK-HIS-011", f"{ptr}/{k}", f"Unknown key {k!r}; a column table has column, scale, default or value.")
        for k in table
        if k not in ("column", "scale", "default", "value")
    ]
    col, scale = table.get("column"), table.get("scale")
    if "value" in table:
        if col is not None or "default" in table or scale is not None:
            problems.append(_mapping_problem("RSK-HIS-011", ptr, "A fixed value stands alone: no column, scale or default with it."))
        elif isinstance(table["value"], bool) or not isinstance(table["value"], str | int | float) or str(table["value"]) == "":
            problems.append(_mapping_problem("RSK-HIS-011", f"{ptr}/value", "The value is a non-empty text or a number."))
        else:
            constants[name] = str(table["value"])
        return problems
    if not isinstance(col, str) or not col:
        problems.append(_mapping_problem("RSK-HIS-004", f"{ptr}/column", "The CSV column is a non-empty text."))
    else:
        plain[name] = col
    if scale is not None:
        if name not in NUMERIC:
            problems.append(_mapping_problem("RSK-HIS-011", f"{ptr}/scale", f"Only numeric fields scale ({', '.join(sorted(NUMERIC))})."))
        elif isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale) or scale <= 0:
            problems.append(_mapping_problem("RSK-HIS-011", f"{ptr}/scale", "The scale is a number more than 0."))
        else:
            scales[name] = float(scale)
    if "default" in table:
        d = table["default"]
        if isinstance(d, bool) or not isinstance(d, str | int | float) or str(d) == "":
            problems.append(_mapping_problem("RSK-HIS-011", f"{ptr}/default", "The default is a non-empty text or a number."))
        else:
            defaults[name] = str(d)
    return problems


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
    if not hs.isdigit() or len(hs) not in (6, 8, 10):
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


# --- reading history back as a facts frame ---------------------------------------------------------


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


def generation() -> int:
    """A number that changes whenever this process imports history or records an outcome."""
    return _generation


def _changed() -> None:
    global _generation
    _generation += 1


def count(session: Session) -> int:
    """Rows of history held."""
    return int(session.scalar(select(func.count()).select_from(HistoryRecord)) or 0)
