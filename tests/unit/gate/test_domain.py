"""The gate's decision rules, pure and table-driven: what is asked against the release lines on record."""

from __future__ import annotations

import pytest

from smartcustoms.gate.domain import Ask, Line, decide, normalise


def line(line_id: int = 1, release: str = "22482026R000000002", container: str | None = "MSKU1234565", **kw: object) -> Line:
    base: dict[str, object] = {
        "declaration": "224820261000000001",
        "office": "2248",
        "released_at": "2026-12-04T10:00:00Z",
        "plate": None,
        "seals": ("ML-CN4471208",),
    }
    return Line(line_id=line_id, release=release, container=container, **{**base, **kw})  # type: ignore[arg-type]


OLD = line(1, "22482026R000000001", gated_out=True)
NEW = line(2, "22482026R000000002")
TRUCK = line(3, "22482026R000000003", container=None, plate="沪A12345", seals=())
PAIR = [line(4, "22482026R000000004"), line(5, "22482026R000000004", container="TGHU9876542", seals=("S2",))]

CASES = [
    ("a reused container passes on its open release", Ask(container="MSKU1234565"), [NEW, OLD], (), "pass", []),
    ("every release of the container gone", Ask(container="MSKU1234565"), [OLD], (), "hold", ["GATE-CHK-005"]),
    ("no release at all", Ask(container="MSKU1234565"), [], (), "hold", ["GATE-CHK-001"]),
    ("no release, and held: both reasons", Ask(container="MSKU1234565"), [], ("smuggling tip",), "hold", ["GATE-CHK-001", "GATE-CHK-004"]),
    ("the seal on record", Ask(container="MSKU1234565", seal="ML-CN4471208"), [NEW], (), "pass", []),
    ("another seal", Ask(container="MSKU1234565", seal="X1"), [NEW], (), "hold", ["GATE-CHK-003"]),
    ("the seal an inspector put on", Ask(container="MSKU1234565", seal="CUS-77"), [line(inspected_seals=("CUS-77",))], (), "pass", []),
    (
        "held, wrong seal and gone: every reason",
        Ask(container="MSKU1234565", seal="X1"),
        [OLD],
        ("x",),
        "hold",
        ["GATE-CHK-004", "GATE-CHK-003", "GATE-CHK-005"],
    ),
    ("a release for other containers", Ask(container="CSQU3054383", release="22482026R000000004"), PAIR, (), "hold", ["GATE-CHK-002"]),
    ("a release with several containers, none named", Ask(release="22482026R000000004"), PAIR, (), "hold", ["GATE-CHK-007"]),
    ("release and container", Ask(container="TGHU9876542", release="22482026R000000004"), PAIR, (), "pass", []),
    ("a vehicle by its plate", Ask(plate="沪A12345"), [TRUCK], (), "pass", []),
    ("the release of another vehicle", Ask(plate="沪B99999", release="22482026R000000003"), [TRUCK], (), "hold", ["GATE-CHK-006"]),
    ("an unknown release number", Ask(release="22482026R000000009"), [], (), "hold", ["GATE-CHK-001"]),
]


@pytest.mark.parametrize(("ask", "lines", "holds", "decision", "codes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_gate_decides(ask: Ask, lines: list[Line], holds: tuple[str, ...], decision: str, codes: list[str]) -> None:
    outcome = decide(ask, lines, holds=holds)
    assert (outcome.decision, [r.code for r in outcome.reasons]) == (decision, codes)
    assert all(r.message for r in outcome.reasons)


def test_a_pass_names_the_line_it_read() -> None:
    assert decide(Ask(container="MSKU1234565"), [NEW, OLD]).line == NEW


@pytest.mark.parametrize(
    ("raw", "ask", "codes"),
    [
        ((" msku1234565 ", None, None, None), Ask(container="MSKU1234565"), []),
        ((None, " 沪a12345 ", None, " SL-1 "), Ask(plate="沪A12345", seal="SL-1"), []),
        ((None, None, None, "SL-1"), Ask(seal="SL-1"), ["GATE-REQ-001"]),
        (("MSKU1234566", None, None, None), Ask(container="MSKU1234566"), ["GATE-REQ-003"]),
        (("MSK1234565", None, "2248R1", None), Ask(), ["GATE-REQ-002", "GATE-REQ-002"]),
    ],
)
def test_requests_are_cleaned_and_every_problem_named(raw: tuple[object, ...], ask: Ask, codes: list[str]) -> None:
    got, problems = normalise(*raw)
    assert [p.code for p in problems] == codes
    if not codes:
        assert got == ask
