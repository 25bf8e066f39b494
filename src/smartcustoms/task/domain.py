"""Tasks as pure rules: how long each kind may take, which HS chapters a declaration needs, the queue order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from smartcustoms.errors import Problem

# How long a task may take from its draw before it is overdue.
DUE = {
    "review": timedelta(hours=24),
    "inspection": timedelta(hours=48),
    "image_review": timedelta(hours=4),
    "audit": timedelta(days=90),
}
ASSIGNEES = {"review": 1, "inspection": 2, "image_review": 1, "audit": 1}  # how many officers a kind draws
STATUS_ORDER = {"open": 0, "waiting": 1, "done": 2}  # a caller's list: open first
REASON_MIN, REASON_MAX = 3, 500


def chapters_of(payload: Mapping[str, Any]) -> set[int]:
    """The HS chapters of a declaration's goods (the first two digits of each line's code)."""
    found: set[int] = set()
    for item in payload.get("items") or []:
        code = str((item or {}).get("hs_code") or "")
        if len(code) >= 2 and code[:2].isdigit() and 1 <= int(code[:2]) <= 97:
            found.add(int(code[:2]))
    return found


def reason_problems(reason: Any, *, pointer: str = "/reason", code: str = "TSK-RSN-001") -> list[Problem]:
    """A reason is 3 to 500 characters of text that is not only spaces."""
    if not isinstance(reason, str) or not REASON_MIN <= len(reason.strip()) <= REASON_MAX:
        return [Problem(code, pointer, f"Give a reason of {REASON_MIN} to {REASON_MAX} characters.")]
    return []
