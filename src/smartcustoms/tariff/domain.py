"""Pure tariff logic: reading schedule and preference rows (every problem with its line number), choosing lines."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from smartcustoms.errors import Problem

SCHEDULE_COLUMNS = (
    "code",
    "description",
    "mfn_rate",
    "general_rate",
    "provisional_rate",
    "specific_rate",
    "specific_unit",
    "consumption_rate",
    "vat_rate",
    "licence",
    "valid_from",
    "valid_to",
)
PREFERENCE_COLUMNS = ("code", "agreement", "origins", "rate", "valid_from", "valid_to")
PERCENT_COLUMNS = ("mfn_rate", "general_rate", "provisional_rate", "consumption_rate", "vat_rate")
UNITS = frozenset({"KGM", "PCE", "LTR", "MTR", "MTK", "MTQ", "TNE", "PR", "SET", "NPR", "GRM", "KWH"})
_CODE = re.compile(r"[0-9]{8}([0-9]{2})?")
_COUNTRY = re.compile(r"[A-Z]{2}")
_AGREEMENT = re.compile(r"[A-Za-z0-9_-]{1,20}")
HUNDRED = Decimal(100)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class LineRow:
    """A schedule row as loaded: rates in percent, None when the column was empty."""

    code: str
    description: str
    mfn_rate: Decimal | None
    general_rate: Decimal | None
    provisional_rate: Decimal | None
    specific_rate: Decimal | None
    specific_unit: str | None
    consumption_rate: Decimal | None
    vat_rate: Decimal | None
    licence: str | None
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True)
class PreferenceRow:
    """A preferential rate row: the agreement, the origins it covers (ISO alpha-2) and the rate in percent."""

    code: str
    agreement: str
    origins: tuple[str, ...]
    rate: Decimal
    valid_from: date
    valid_to: date | None


def header_problems(header: Sequence[str] | None, expected: Sequence[str]) -> list[Problem]:
    """A problem when the file's first line is not exactly the documented columns."""
    got = tuple(h.strip() for h in header or ())
    if got == tuple(expected):
        return []
    return [
        Problem("TAR-CSV-001", "/line/1", f"Line 1: the columns must be exactly {', '.join(expected)} (got {', '.join(got) or 'none'}).")
    ]


class _Row:
    """Reads one CSV row's fields, collecting every problem with its line number."""

    def __init__(self, raw: Mapping[str, str | None], line: int) -> None:
        self.raw, self.line, self.problems = raw, line, list[Problem]()

    def text(self, col: str) -> str:
        return (self.raw.get(col) or "").strip()

    def bad(self, code: str, col: str, message: str) -> None:
        self.problems.append(Problem(code, f"/line/{self.line}/{col}", f"Line {self.line}, {col}: {message}"))

    def code(self) -> str:
        value = self.text("code")
        if not _CODE.fullmatch(value):
            self.bad("TAR-CSV-002", "code", f"a tariff code has 8 or 10 digits (got {value!r}).")
        return value

    def decimal(self, col: str, *, percent: bool, required: bool = False) -> Decimal | None:
        value = self.text(col)
        if not value:
            if required:
                self.bad("TAR-CSV-003", col, "a rate is required.")
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.bad("TAR-CSV-003", col, f"{value!r} is not a number.")
            return None
        if not number.is_finite() or number < 0 or (percent and number > HUNDRED):
            self.bad("TAR-CSV-004", col, f"{value} is outside {'0-100 %' if percent else 'zero or more'}.")
            return None
        return number

    def day(self, col: str, *, required: bool) -> date | None:
        value = self.text(col)
        if not value:
            if required:
                self.bad("TAR-CSV-005", col, "a date (YYYY-MM-DD) is required.")
            return None
        try:
            if not _DAY.fullmatch(value):  # fromisoformat would also take 20261101 or week dates
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.bad("TAR-CSV-005", col, f"{value!r} is not a date (YYYY-MM-DD).")
            return None

    def period(self) -> tuple[date | None, date | None]:
        start, end = self.day("valid_from", required=True), self.day("valid_to", required=False)
        if start and end and end < start:
            self.bad("TAR-CSV-006", "valid_to", "the period ends before it starts.")
        return start, end


def parse_line(raw: Mapping[str, str | None], line: int) -> tuple[LineRow | None, list[Problem]]:
    """One schedule row (file line number `line`): the row, or None and its problems."""
    r = _Row(raw, line)
    code = r.code()
    description = r.text("description")
    if not description:
        r.bad("TAR-CSV-007", "description", "a description is required.")
    rates = {col: r.decimal(col, percent=True) for col in PERCENT_COLUMNS}
    specific = r.decimal("specific_rate", percent=False)
    unit = r.text("specific_unit").upper() or None
    if specific is not None and unit is None:
        r.bad("TAR-CSV-008", "specific_unit", "a specific rate needs its unit (e.g. KGM, PCE, LTR).")
    if unit is not None and unit not in UNITS:
        r.bad("TAR-CSV-008", "specific_unit", f"unknown unit {unit!r} (one of {', '.join(sorted(UNITS))}).")
    if rates["mfn_rate"] is None and rates["general_rate"] is None and specific is None and not r.problems:
        r.bad("TAR-CSV-003", "mfn_rate", "a line needs an MFN, general or specific rate.")
    start, end = r.period()
    if r.problems or start is None:
        return None, r.problems
    row = LineRow(
        code=code,
        description=description,
        specific_rate=specific,
        specific_unit=unit,
        licence=r.text("licence") or None,
        valid_from=start,
        valid_to=end,
        **rates,
    )
    return row, []


def parse_preference(raw: Mapping[str, str | None], line: int) -> tuple[PreferenceRow | None, list[Problem]]:
    """One preferential-rate row: the row, or None and its problems."""
    r = _Row(raw, line)
    code = r.code()
    agreement = r.text("agreement")
    if not _AGREEMENT.fullmatch(agreement):
        r.bad("TAR-CSV-009", "agreement", "an agreement is named by 1-20 letters, digits, '-' or '_'.")
    origins = tuple(r.text("origins").upper().split())
    if not origins or any(not _COUNTRY.fullmatch(o) for o in origins):
        r.bad("TAR-CSV-010", "origins", "origins are ISO 3166 alpha-2 codes separated by spaces.")
    rate = r.decimal("rate", percent=True, required=True)
    start, end = r.period()
    if r.problems or start is None or rate is None:
        return None, r.problems
    return PreferenceRow(code, agreement, origins, rate, start, end), []


def candidate_codes(declared: str) -> tuple[str, ...]:
    """The tariff codes that may start a declared code, longest first (tariff codes have 10 or 8 digits)."""
    return tuple(c for c in (declared[:10], declared[:8]) if len(c) in (8, 10) and declared.startswith(c))


def in_force(valid_from: date, valid_to: date | None, on: date) -> bool:
    """Whether a period covers a day."""
    return valid_from <= on and (valid_to is None or on <= valid_to)


def longest(codes: Iterable[str]) -> str | None:
    """The longest of the codes found (the most precise line), or None."""
    return max(codes, key=len, default=None)
