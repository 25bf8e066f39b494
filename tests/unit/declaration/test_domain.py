"""The lifecycle state machine and the other pure rules of the declaration."""

from __future__ import annotations

import pytest

from smartcustoms.declaration import domain
from smartcustoms.declaration.models import Status


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (Status.lodged, Status.accepted, True),
        (Status.lodged, Status.rejected, True),
        (Status.lodged, Status.released, False),
        (Status.accepted, Status.withdrawn, True),
        (Status.accepted, Status.lodged, False),
        (Status.under_inspection, Status.withdrawn, False),
        (Status.duty_assessed, Status.released, True),
        (Status.released, Status.withdrawn, False),
        (Status.withdrawn, Status.accepted, False),
        (Status.rejected, Status.accepted, False),
    ],
)
def test_the_lifecycle_allows_only_its_transitions(current: Status, target: Status, allowed: bool) -> None:
    assert domain.can_transition(current, target) is allowed


def test_every_status_has_a_transition_entry_and_terminal_states_are_closed() -> None:
    assert set(domain.TRANSITIONS) == set(Status)
    assert {Status.released, Status.rejected, Status.withdrawn} == domain.TERMINAL
    assert not domain.AMENDABLE & domain.TERMINAL


def test_a_declaration_number_has_eighteen_characters() -> None:
    assert domain.declaration_number("2248", 2026, "import", 123) == "224820261000000123"
    assert domain.declaration_number("0202", 2026, "export", 1) == "020220260000000001"
    assert len(domain.declaration_number("2248", 2026, "import", 999_999_999)) == 18


def test_merge_patch_follows_rfc_7396() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "items": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "items": [3]}
    assert domain.merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "items": [3]}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}, "items": [1, 2]}


def test_content_hash_ignores_key_order() -> None:
    assert domain.content_sha256({"a": 1, "b": [1, 2]}) == domain.content_sha256({"b": [1, 2], "a": 1})
    assert domain.content_sha256({"a": 1}) != domain.content_sha256({"a": 2})
