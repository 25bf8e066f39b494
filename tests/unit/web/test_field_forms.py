"""The field pages' forms as the services' bodies, and the services' problems back at the forms' fields."""

from __future__ import annotations

from typing import Any

import pytest

from smartcustoms.errors import Problem
from smartcustoms.inspection import domain
from smartcustoms.web import field_forms
from tests.conftest import example


@pytest.mark.parametrize(
    ("kind", "fields", "result"),
    [
        ("container_number", {"found": " MSKU1234565 ", "note": ""}, {"found": "MSKU1234565"}),
        ("seal", {"found": "ML-1", "condition": "broken", "note": "cut"}, {"found": "ML-1", "condition": "broken", "note": "cut"}),
        ("goods_description", {"description": "Phones", "matches_declared": "no"}, {"description": "Phones", "matches_declared": False}),
        (
            "goods_description",
            {"description": "Phones", "matches_declared": "maybe"},
            {"description": "Phones", "matches_declared": "maybe"},
        ),
        ("marks", {"marks": "SMD 1-120", "colour": "red"}, {"marks": "SMD 1-120"}),
        (
            "counted_quantity",
            {"count-1": "1200", "count-3": " 1199 ", "count-9": "5"},
            {"counts": [{"line": 1, "quantity": "1200"}, {"line": 3, "quantity": "1199"}]},
        ),
        ("counted_quantity", {"count-1": ""}, {}),
        ("weighed_mass", {"gross_mass_kg": "195.5"}, {"gross_mass_kg": "195.5"}),
        ("packaging", {"type": "cartons", "packages": "60", "condition": "good"}, {"type": "cartons", "packages": 60, "condition": "good"}),
        ("packaging", {"type": "cartons", "packages": "sixty"}, {"type": "cartons", "packages": "sixty"}),
        ("container_body", {"condition": "intact", "false_compartment": "yes"}, {"condition": "intact", "false_compartment": True}),
    ],
)
def test_a_steps_form_becomes_the_result_the_api_takes(kind: str, fields: dict[str, str], result: dict[str, Any]) -> None:
    assert field_forms.step_result(kind, fields, example())[0] == result


def test_every_step_kind_has_a_form_and_a_title() -> None:
    assert set(field_forms.STEP_FIELDS) == set(domain.STEP_TITLES)
    assert {k: field_forms.STEP_TITLES[k] for k in domain.STEP_TITLES} == domain.STEP_TITLES
    assert set(field_forms.FINDING_TYPES) == set(domain.FINDING_TYPES)
    assert set(domain.SEAL_CONDITIONS + domain.BODY_CONDITIONS + domain.PACKAGING_CONDITIONS) == set(field_forms.CONDITIONS)


def test_a_filled_form_passes_the_services_check_and_a_blank_one_says_what_is_missing_at_its_fields() -> None:
    payload = example()
    result, count_fields = field_forms.step_result("counted_quantity", {"count-2": "3000", "count-3": "x"}, payload)
    _, problems = domain.check_result(payload, "MSKU1234565", "counted_quantity", result)
    assert [p.pointer for p in problems] == ["/result/counts/1/quantity"] and count_fields == ["count-2", "count-3"]
    names = {"/result/counts": "counts"} | {f"/result/counts/{n}": f for n, f in enumerate(count_fields)}
    by_field, rest = field_forms.at_fields(problems, names, "zh-Hans")
    assert by_field == {"count-3": ["请填写不小于零的数字，例如 1250.5（不带单位）。"]} and rest == []
    result, _ = field_forms.step_result("seal", {"found": "", "condition": ""}, payload)
    _, problems = domain.check_result(payload, "MSKU1234565", "seal", result)
    by_field, rest = field_forms.at_fields(problems, {"/result/found": "found", "/result/condition": "condition"}, "en")
    assert by_field == {"found": ["Fill this in."], "condition": ["Choose one of the options."]} and rest == []


def test_the_completion_form_sends_only_the_rows_with_a_kind_and_the_reason_when_written() -> None:
    fields = {
        "reason": "  ",
        "finding-0-type": "",
        "finding-0-found": "ignored: no kind",
        "finding-1-type": "quantity",
        "finding-1-line": "2",
        "finding-1-found": "2990",
        "finding-1-container": "",
        "finding-2-type": "concealment",
        "finding-2-line": "two",
        "finding-2-note": "Cigarettes behind the cartons",
    }
    body, rows = field_forms.findings_body(fields)
    assert rows == [1, 2]
    assert body == {
        "findings": [
            {"type": "quantity", "found": "2990", "line": 2},
            {"type": "concealment", "note": "Cigarettes behind the cartons", "line": "two"},
        ],
        "reason": None,
    }
    _, verdict, problems = domain.check_findings(example(), body["findings"], body["reason"])
    assert [p.pointer for p in problems] == ["/findings/1/line"] and verdict.hit
    assert field_forms.findings_body({"reason": "All as declared."}) == ({"findings": [], "reason": "All as declared."}, [])


@pytest.mark.parametrize(("text", "regions"), [("", []), ('[{"x": 1}]', [{"x": 1}]), ("{}", None), ("[1,", None)])
def test_the_regions_the_xray_script_writes_are_read_as_a_list_or_not_at_all(text: str, regions: list[Any] | None) -> None:
    assert field_forms.regions_of(text) == regions


def test_a_problem_no_field_shows_is_listed_once_and_a_code_without_a_sentence_keeps_the_services_words() -> None:
    problems = [
        Problem("INS-STEP-003", "/step_id", "Record step A first."),
        Problem("INS-STEP-003", "/step_id", "Again."),
        Problem("X-1", "", "Odd."),
    ]
    by_field, rest = field_forms.at_fields(problems, {"/result/found": "found"}, "en")
    assert by_field == {} and rest == [
        "An earlier step is still open: steps are recorded in order. The page shows the step to do now.",
        "Odd.",
    ]
