"""The mapping file of a history import: which CSV column holds each canonical field (or a table
with a scale, a default or a fixed value), which extra columns to keep, and the options."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.risk.facts import FACTS

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
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


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
