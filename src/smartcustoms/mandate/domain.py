"""Whether a mandate covers a lodging: pure logic on values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any


def in_force(*, valid_from: date, valid_to: date | None, revoked: bool, on: date) -> bool:
    """Whether a mandate applies on a day (valid_from inclusive, valid_to exclusive, not revoked)."""
    return not revoked and valid_from <= on and (valid_to is None or on < valid_to)


def covers(
    *,
    valid_from: date,
    valid_to: date | None,
    revoked: bool,
    procedures: Sequence[Any] | None,
    offices: Sequence[Any] | None,
    on: date,
    procedure: str,
    office: str,
) -> bool:
    """Whether a mandate in force on the day covers the procedure and the office (no list: all)."""
    if not in_force(valid_from=valid_from, valid_to=valid_to, revoked=revoked, on=on):
        return False
    return (procedures is None or procedure in procedures) and (offices is None or office in offices)


def status(*, valid_from: date, valid_to: date | None, revoked: bool, on: date) -> str:
    """in_force, pending (starts later), expired or revoked, as of a day."""
    if revoked:
        return "revoked"
    if on < valid_from:
        return "pending"
    if valid_to is not None and on >= valid_to:
        return "expired"
    return "in_force"
