"""The field pages' forms as the services' bodies, and the services' problems as sentences at the forms' fields.

An inspection step's form has a few plain fields per step kind (web/templates/inspection.html);
`step_result` turns them into the `result` object the API takes, leaving out what was left blank so
that the service says what is missing. The completion form has rows of findings; the X-ray form
carries the regions the analyst drew as JSON (web/static/xray.js writes it). Every problem comes
back at the field its JSON pointer names, in the page's language, with a sentence per code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from smartcustoms.errors import Problem
from smartcustoms.web import forms, i18n
from smartcustoms.web.i18n import N_

FINDING_ROWS = 3  # rows of findings the completion form offers (blank rows are left out)
YES_NO = {"yes": True, "no": False}
# The fields of each step kind's form (besides `note` and the photos), in the order shown.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "container_number": ("found",),
    "seal": ("found", "condition"),
    "goods_description": ("description", "matches_declared"),
    "marks": ("marks",),
    "counted_quantity": (),  # one field per declared line: count-<line>
    "weighed_mass": ("gross_mass_kg",),
    "packaging": ("type", "packages", "condition"),
    "container_body": ("condition", "false_compartment"),
}
STEP_TITLES = {
    "container_number": N_("Container number"),
    "seal": N_("Seal number and condition"),
    "goods_description": N_("Goods: description"),
    "marks": N_("Goods: marks"),
    "counted_quantity": N_("Goods: counted quantity"),
    "weighed_mass": N_("Goods: weighed mass"),
    "packaging": N_("Goods: packaging"),
    "container_body": N_("Container body"),
    "image": N_("X-ray image"),
}
CONDITIONS = {
    "intact": N_("intact"),
    "broken": N_("broken"),
    "missing": N_("missing"),
    "tampered": N_("tampered with"),
    "damaged": N_("damaged"),
    "modified": N_("modified"),
    "good": N_("good"),
    "repacked": N_("repacked"),
}
FINDING_TYPES = {
    "quantity": N_("quantity differs"),
    "description": N_("description differs"),
    "value": N_("value differs"),
    "origin": N_("origin differs"),
    "prohibited": N_("prohibited goods"),
    "concealment": N_("concealment"),
}
# The names of a recorded step's answers, as the assistance view lists them.
RESULT_KEYS = {
    "found": N_("found"),
    "matches": N_("matches the declaration"),
    "condition": N_("condition"),
    "description": N_("description"),
    "matches_declared": N_("matches the declaration"),
    "marks": N_("marks"),
    "counts": N_("counted"),
    "gross_mass_kg": N_("gross mass (kg)"),
    "type": N_("packaging"),
    "packages": N_("packages"),
    "false_compartment": N_("false compartment"),
    "note": N_("note"),
}
VERDICTS = {"clear": N_("clear"), "suspect": N_("suspect: physical inspection")}
# What a problem means to the person at the form, by the service's stable code.
PROBLEMS = {
    "INS-RES-001": N_("The step's answers could not be read; fill in the form again."),
    "INS-RES-002": N_("Fill this in."),
    "INS-RES-003": N_("Write 1 to 1000 characters."),
    "INS-RES-004": N_("Choose one of the options."),
    "INS-RES-005": N_("Choose yes or no."),
    "INS-RES-006": N_("This field is not part of this step."),
    "INS-RES-007": N_("Enter a number that is not negative, such as 1250.5 (no units)."),
    "INS-RES-008": N_("Enter a whole number of packages, 0 or more."),
    "INS-RES-009": N_("Enter the counted quantity of at least one line."),
    "INS-RES-010": N_("This is not a line of the declaration."),
    "INS-RES-011": N_("This line is counted twice."),
    "INS-PHO-001": N_("A photo is larger than the limit; take it again at a lower resolution."),
    "INS-PHO-002": N_("A file is not a photo: only JPEG or PNG images are accepted (known by their content, not their name)."),
    "INS-PHO-003": N_("Too many photos for one step: at most 20."),
    "INS-STEP-001": N_("The inspection has no such step."),
    "INS-STEP-002": N_("This step is already recorded (perhaps by the other inspector); the page shows the step to do now."),
    "INS-STEP-003": N_("An earlier step is still open: steps are recorded in order. The page shows the step to do now."),
    "INS-DONE-001": N_("Record every step before completing the inspection."),
    "INS-FND-001": N_("Too many findings."),
    "INS-FND-002": N_("Say in 3 to 500 characters what was checked (needed when there are no findings)."),
    "INS-FND-003": N_("A finding could not be read."),
    "INS-FND-004": N_("A finding could not be read."),
    "INS-FND-005": N_("Choose the kind of finding."),
    "INS-FND-006": N_("Choose the declared line this finding is about."),
    "INS-FND-007": N_("Choose a container of the declaration."),
    "INS-FND-008": N_("Write 1 to 1000 characters."),
    "INS-FND-009": N_("Say what was found."),
    "INS-FND-010": N_("Enter what was found (the measured value)."),
    "INS-FND-011": N_("Enter a number that is not negative, such as 120."),
    "INS-FND-012": N_("Enter the country of origin as two capital letters, such as VN."),
    "INS-FND-013": N_("What was found is what was declared: that is no finding."),
    "INS-FND-014": N_("This is not what the line declares; leave it empty to take the declaration's value."),
    "INS-INS-001": N_("Write an instruction of 1 to 2000 characters."),
    "INS-INS-002": N_("Choose a step of this inspection."),
    "XRY-REV-001": N_("The review could not be read; mark the regions again."),
    "XRY-REV-003": N_("Choose clear or suspect."),
    "XRY-REV-004": N_("Too many regions: at most 100."),
    "XRY-REV-005": N_("A suspect verdict needs at least one region marked on the image, for the inspectors."),
    "XRY-REV-006": N_("Write a note of 1 to 1000 characters, or none."),
    "XRY-REG-001": N_("A marked region could not be read; remove it and draw it again."),
    "XRY-REG-002": N_("A marked region could not be read; remove it and draw it again."),
    "XRY-REG-003": N_("A marked region has no size or lies outside the image; remove it and draw it again."),
    "XRY-REG-004": N_("A marked region runs past the edge of the image; remove it and draw it again."),
    "XRY-REG-005": N_("A region's label is 1 to 200 characters."),
}
# Titles and sentences of the errors that end a request (not a field's problem), by the error's code.
ERRORS = {
    "task_not_found": (N_("Not found"), N_("No such task, or it is not yours to see.")),
    "not_an_inspection": (N_("Not found"), N_("This task is not an inspection.")),
    "not_an_image_review": (N_("Not found"), N_("This task is not an X-ray image review.")),
    "scan_not_found": (N_("Not found"), N_("No such scan, or it is not yours to see.")),
    "task_not_assigned": (N_("Forbidden"), N_("This task is not assigned to you: only its assignees record it; nothing was changed.")),
    "task_done": (N_("Already done"), N_("This task is already done; nothing was changed.")),
    "task_waiting": (N_("Not open"), N_("This task is waiting and cannot be worked now; nothing was changed.")),
    "task_conflict": (
        N_("Conflict"),
        N_("Someone changed this task at the same moment; nothing was changed. Reload the page and try again."),
    ),
    "instruction_forbidden": (N_("Forbidden"), N_("Only a supervisor of the office gives instructions on an inspection.")),
    "assist_forbidden": (N_("Forbidden"), N_("Remote assistance is for the supervisors of the task's office.")),
    "csrf_failed": (N_("Forbidden"), N_("The form has expired or did not come from this site; reload the page and try again.")),
    "payload_too_large": (N_("File too large"), N_("A photo is larger than the limit; take it again at a lower resolution.")),
    "unsupported_media_type": (N_("File type not accepted"), N_("Only JPEG or PNG photos are accepted.")),
}


def problem_text(lang: str, p: Problem) -> str:
    """A problem in the page's language: the sentence of its code (the service's own words for a code without one)."""
    text = PROBLEMS.get(p.code)
    return i18n.gettext(lang, text) if text else p.message


def _blank_out(fields: Mapping[str, str], names: Iterable[str]) -> dict[str, Any]:
    return {name: fields[name].strip() for name in names if fields.get(name, "").strip()}


def counted_lines(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The declaration's lines as the counting step shows them: line, description, declared quantity and unit."""
    return [
        {"line": i.get("line"), "description": i.get("description"), "quantity": i.get("quantity"), "unit": i.get("unit")}
        for i in payload.get("items") or []
        if isinstance(i.get("line"), int)
    ]


def step_result(kind: str, fields: Mapping[str, str], payload: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The `result` of a step from its form, and the form field of each entry of `counts` (for problems at `/result/counts/n`).

    Blank fields are left out (the service says what is required); yes/no become booleans; the
    number of packages becomes a whole number when it is one (the service judges what it is not).
    """
    result = _blank_out(fields, (*STEP_FIELDS.get(kind, ()), "note"))
    for key in ("matches_declared", "false_compartment"):
        if key in result:
            result[key] = YES_NO.get(result[key], result[key])
    if "packages" in result and result["packages"].isdigit():
        result["packages"] = int(result["packages"])
    count_fields: list[str] = []
    if kind == "counted_quantity":
        counts = []
        for line in counted_lines(payload):
            name = f"count-{line['line']}"
            value = fields.get(name, "").strip()
            if value:
                counts.append({"line": line["line"], "quantity": value})
                count_fields.append(name)
        if counts:
            result["counts"] = counts
    return result, count_fields


def findings_body(fields: Mapping[str, str]) -> tuple[dict[str, Any], list[int]]:
    """The completion body of the completion form, and the form row of each finding (for problems at `/findings/n`).

    A row whose kind is left blank is no finding; the reason is sent when written.
    """
    findings: list[dict[str, Any]] = []
    rows: list[int] = []
    for row in range(FINDING_ROWS):
        at = f"finding-{row}-"
        if not fields.get(at + "type", "").strip():
            continue
        finding = _blank_out(
            {k[len(at) :]: v for k, v in fields.items() if k.startswith(at)}, ("type", "container", "declared", "found", "note")
        )
        line = fields.get(at + "line", "").strip()
        if line:
            finding["line"] = int(line) if line.isdigit() else line
        findings.append(finding)
        rows.append(row)
    reason = fields.get("reason", "").strip()
    return {"findings": findings, "reason": reason or None}, rows


def regions_of(text: str) -> list[Any] | None:
    """The regions the X-ray form carries (a JSON list, written by the page's script); None when they cannot be read."""
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def at_fields(problems: Sequence[Problem], fields: Mapping[str, str], lang: str) -> tuple[dict[str, list[str]], list[str]]:
    """The problems' sentences by the form field each pointer names (`fields`: pointer prefix -> field), and the rest.

    The longest prefix of a pointer that `fields` knows names its field (web/forms.py); a problem
    no field shows is listed above the form, once.
    """
    by_pointer, unplaced = forms.at_fields(problems, fields)
    by_field: dict[str, list[str]] = {}
    for pointer, found in by_pointer.items():
        by_field.setdefault(fields[pointer], []).extend(problem_text(lang, p) for p in found)
    rest: list[str] = []
    for p in unplaced:
        if (text := problem_text(lang, p)) not in rest:
            rest.append(text)
    return by_field, rest
