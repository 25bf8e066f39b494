"""The inspection's fixed steps, their results and the findings, as pure functions."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest

from smartcustoms.inspection import domain
from smartcustoms.kit.images import dimensions, image_type
from smartcustoms.xray.domain import check_review

PAYLOAD: dict[str, Any] = {
    "containers": [{"number": "MSCU1234565", "seals": ["SL001"]}, {"number": "TGHU7654321", "seals": []}],
    "items": [
        {"line": 1, "description": "Laptop computers", "quantity": "100", "unit": "PCE", "value": "50000.00", "origin": "CN"},
        {"line": 2, "description": "Mice", "quantity": "500", "unit": "PCE", "value": "2500.00", "origin": "VN"},
    ],
}


def codes(problems: list[Any]) -> list[str]:
    return [p.code for p in problems]


def test_plan_lists_the_fixed_steps_per_container_in_order() -> None:
    steps = domain.plan(PAYLOAD)
    assert [s["kind"] for s in steps[:8]] == [
        "container_number",
        "seal",
        "goods_description",
        "marks",
        "counted_quantity",
        "weighed_mass",
        "packaging",
        "container_body",
    ]
    assert len(steps) == 16
    assert steps[0]["id"] == "MSCU1234565.container_number" and steps[8]["id"] == "TGHU7654321.container_number"
    assert all(s["status"] == "pending" and s["photos"] == [] for s in steps)
    assert domain.parse_step_id("MSCU1234565.seal") == ("MSCU1234565", "seal")
    assert domain.parse_step_id("MSCU1234565.nothing") is None


def test_goods_without_containers_get_the_goods_steps_only() -> None:
    steps = domain.plan({"items": PAYLOAD["items"]})
    assert [s["id"] for s in steps] == [f"LOOSE.{k}" for k in domain.GOODS_STEPS]


def test_steps_are_recorded_in_order() -> None:
    steps = domain.plan(PAYLOAD)
    assert domain.out_of_order(steps, steps[0]["id"]) is None
    problem = domain.out_of_order(steps, "MSCU1234565.marks")
    assert problem is not None and problem.code == "INS-STEP-003" and "MSCU1234565.container_number" in problem.message
    steps[0]["status"] = "done"
    assert domain.out_of_order(steps, steps[0]["id"]).code == "INS-STEP-002"  # type: ignore[union-attr]
    assert domain.out_of_order(steps, steps[1]["id"]) is None
    assert domain.out_of_order(steps, "XXXU0000000.seal").code == "INS-STEP-001"  # type: ignore[union-attr]


def test_results_compare_with_the_declaration() -> None:
    out, problems = domain.check_result(PAYLOAD, "MSCU1234565", "seal", {"found": "SL009", "condition": "broken"})
    assert problems == [] and out == {"found": "SL009", "declared": ["SL001"], "matches": False, "condition": "broken"}
    out, problems = domain.check_result(PAYLOAD, "MSCU1234565", "counted_quantity", {"counts": [{"line": 1, "quantity": "98"}]})
    assert problems == [] and out["counts"] == [{"line": 1, "quantity": "98", "declared": "100", "unit": "PCE"}]
    out, problems = domain.check_result(PAYLOAD, "MSCU1234565", "weighed_mass", {"gross_mass_kg": "1250.5", "note": "on the bridge"})
    assert problems == [] and out == {"gross_mass_kg": "1250.5", "note": "on the bridge"}


@pytest.mark.parametrize(
    ("kind", "result", "expected"),
    [
        ("seal", {"found": "SL001", "condition": "melted"}, ["INS-RES-004"]),
        ("seal", {"condition": "intact", "colour": "red"}, ["INS-RES-006", "INS-RES-002"]),
        ("counted_quantity", {"counts": [{"line": 7, "quantity": "1"}, {"line": 1, "quantity": "-1"}]}, ["INS-RES-010", "INS-RES-007"]),
        ("counted_quantity", {"counts": []}, ["INS-RES-009"]),
        ("weighed_mass", {"gross_mass_kg": "NaN"}, ["INS-RES-007"]),
        ("packaging", {"type": "cartons", "packages": True, "condition": "good"}, ["INS-RES-008"]),
        ("container_body", {"condition": "intact", "false_compartment": "no"}, ["INS-RES-005"]),
        ("marks", ["not", "an", "object"], ["INS-RES-001"]),
    ],
)
def test_bad_results_name_every_problem(kind: str, result: Any, expected: list[str]) -> None:
    _, problems = domain.check_result(PAYLOAD, "MSCU1234565", kind, result)
    assert codes(problems) == expected


def test_no_findings_needs_a_reason() -> None:
    _, verdict, problems = domain.check_findings(PAYLOAD, [], None)
    assert codes(problems) == ["INS-FND-002"]
    found, verdict, problems = domain.check_findings(PAYLOAD, [], "All 16 steps done, nothing found")
    assert problems == [] and found == [] and not verdict.hit and verdict.critical == 0


def test_findings_take_the_declared_value_and_grade_the_hit() -> None:
    findings = [
        {"type": "quantity", "line": 1, "container": "MSCU1234565", "found": "120"},
        {"type": "origin", "line": 2, "found": "CN", "declared": "VN"},
    ]
    out, verdict, problems = domain.check_findings(PAYLOAD, findings, None)
    assert problems == []
    assert out[0] == {"type": "quantity", "line": 1, "container": "MSCU1234565", "declared": "100", "found": "120", "note": None}
    assert verdict.hit and verdict.critical == 1 and verdict.summary == "quantity line 1; origin line 2"
    _, verdict, problems = domain.check_findings(
        PAYLOAD, [{"type": "concealment", "container": "TGHU7654321", "note": "cigarettes behind a false wall"}], None
    )
    assert problems == [] and verdict.critical == 2


@pytest.mark.parametrize(
    ("finding", "expected"),
    [
        ({"type": "weight"}, ["INS-FND-005"]),
        ({"type": "quantity", "found": "120"}, ["INS-FND-006"]),
        ({"type": "quantity", "line": 1, "found": "100.0"}, ["INS-FND-013"]),
        ({"type": "quantity", "line": 1, "found": "many"}, ["INS-FND-011"]),
        ({"type": "value", "line": 1, "found": "40000", "declared": "45000"}, ["INS-FND-014"]),
        ({"type": "origin", "line": 1, "found": "china"}, ["INS-FND-012"]),
        ({"type": "description", "line": 1}, ["INS-FND-010"]),
        ({"type": "prohibited", "container": "ABCU0000000"}, ["INS-FND-007", "INS-FND-009"]),
        ({"type": "prohibited", "note": "ivory", "weight": 3}, ["INS-FND-004"]),
        ("quantity", ["INS-FND-003"]),
    ],
)
def test_bad_findings_name_every_problem(finding: Any, expected: list[str]) -> None:
    out, verdict, problems = domain.check_findings(PAYLOAD, [finding], "checked")
    assert codes(problems) == expected and out == [] and not verdict.hit


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    idat = zlib.compress(raw)

    def block(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + block(b"IHDR", ihdr) + block(b"IDAT", idat) + block(b"IEND", b"")


def test_images_are_known_by_their_bytes() -> None:
    assert image_type(png(4, 3)) == "image/png" and dimensions(png(4, 3)) == (4, 3)
    jpeg = b"\xff\xd8\xff\xe0" + struct.pack(">H", 4) + b"JF" + b"\xff\xc0" + struct.pack(">HBHH", 11, 8, 30, 40) + b"\x03" * 6
    assert image_type(jpeg) == "image/jpeg" and dimensions(jpeg) == (40, 30)
    assert image_type(b"%PDF-1.7") is None and dimensions(b"GIF89a") is None


def test_review_regions_stay_inside_the_image() -> None:
    verdict, regions, _, problems = check_review(
        {"verdict": "suspect", "regions": [{"x": 10, "y": 5, "width": 20, "height": 20, "label": "dense"}]}, width=100, height=50
    )
    assert problems == [] and verdict == "suspect" and regions == [{"x": 10, "y": 5, "width": 20, "height": 20, "label": "dense"}]
    _, _, _, problems = check_review({"verdict": "suspect", "regions": []}, width=100, height=50)
    assert codes(problems) == ["XRY-REV-005"]
    _, _, _, problems = check_review(
        {"verdict": "maybe", "regions": [{"x": 90, "y": 0, "width": 20, "height": 60}, {"x": -1, "y": 0, "width": 0, "height": 1}]},
        width=100,
        height=50,
    )
    assert codes(problems) == ["XRY-REV-003", "XRY-REG-004", "XRY-REG-004", "XRY-REG-003", "XRY-REG-003"]
