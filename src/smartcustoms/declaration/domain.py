"""The declaration lifecycle as an explicit state machine, and other pure rules."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from smartcustoms.declaration.models import Status

S = Status
# Which status may follow which; anything else is an illegal transition.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.lodged: frozenset({S.accepted, S.rejected, S.withdrawn}),
    S.accepted: frozenset({S.assessed, S.held, S.rejected, S.withdrawn}),
    S.assessed: frozenset({S.under_review, S.under_inspection, S.duty_assessed, S.released, S.held, S.withdrawn}),
    S.under_review: frozenset({S.under_inspection, S.duty_assessed, S.released, S.held, S.rejected, S.withdrawn}),
    S.under_inspection: frozenset({S.under_review, S.duty_assessed, S.released, S.held}),
    S.duty_assessed: frozenset({S.under_review, S.under_inspection, S.released, S.held}),
    S.held: frozenset({S.under_review, S.under_inspection, S.duty_assessed, S.released, S.rejected}),
    S.released: frozenset(),
    S.rejected: frozenset(),
    S.withdrawn: frozenset(),
}
# Amendments are allowed until release, and never on a closed declaration. An amended version is
# assessed again and routed like a fresh assessment (clearance.service.amend), so every status it
# may be amended in reaches the checks its new lane asks for: under_review and under_inspection
# from assessed, duty_assessed, under_review, under_inspection (held waits for the officer first).
AMENDABLE: frozenset[Status] = frozenset(s for s in Status if s not in (S.released, S.rejected, S.withdrawn))
TERMINAL: frozenset[Status] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


def can_transition(current: Status, target: Status) -> bool:
    """Whether the lifecycle allows going from `current` to `target`."""
    return target in TRANSITIONS[current]


def event_name(target: Status) -> str:
    """The dotted past-tense event name of reaching a status."""
    return f"declaration.{target.value}"


def content_sha256(payload: dict[str, Any]) -> str:
    """A hash of the declaration content that ignores key order and whitespace."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON merge patch (RFC 7396): objects merge, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def declaration_number(office: str, year: int, kind: str, sequence: int) -> str:
    """The 18-character number: office (4), year (4), direction (1: import, 0: export), sequence (9)."""
    flag = "1" if kind == "import" else "0"
    return f"{office:0>4}{year:04d}{flag}{sequence:09d}"
