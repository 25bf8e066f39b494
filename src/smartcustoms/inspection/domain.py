"""Physical inspection as pure functions: the fixed steps per container, their results, findings.

Nothing here reads a clock or a database. A declaration's containers give the step list (each
container: number, seal, goods description, marks, counted quantity, weighed mass, packaging,
body); goods declared without a container get the goods steps only, under the container key
`LOOSE`. Steps are recorded in the list's order; results and findings are checked against the
declaration's content, every problem at once, each with a stable code and a JSON pointer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from smartcustoms.errors import Problem

LOOSE = "LOOSE"  # the container key of goods declared without a container
CONTAINER_STEPS = ("container_number", "seal")
GOODS_STEPS = ("goods_description", "marks", "counted_quantity", "weighed_mass", "packaging")
BODY_STEPS = ("container_body",)
STEP_TITLES = {
    "container_number": "Container number",
    "seal": "Seal number and condition",
    "goods_description": "Goods: description",
    "marks": "Goods: marks",
    "counted_quantity": "Goods: counted quantity",
    "weighed_mass": "Goods: weighed mass",
    "packaging": "Goods: packaging",
    "container_body": "Container body",
}
SEAL_CONDITIONS = ("intact", "broken", "missing", "tampered")
BODY_CONDITIONS = ("intact", "damaged", "modified")
PACKAGING_CONDITIONS = ("good", "damaged", "repacked")
FINDING_TYPES = ("quantity", "description", "value", "origin", "prohibited", "concealment")
# A finding of these types is about one declared line, which it must name.
LINE_FINDINGS = frozenset({"quantity", "description", "value", "origin"})
SERIOUS = frozenset({"prohibited", "concealment"})  # critical 2 for the risk engine; others 1
MAX_TEXT = 1000
MAX_FINDINGS = 200
_ORIGIN = re.compile(r"^[A-Z]{2}$")
_STEP_ID = re.compile(r"^([A-Z0-9]{1,11})\.([a-z_]{1,30})$")


def step_id(container: str, kind: str) -> str:
    """The id of one step, e.g. `MSCU1234565.seal`."""
    return f"{container}.{kind}"


def parse_step_id(value: str) -> tuple[str, str] | None:
    """(container, kind) of a step id, or None when it is not one."""
    m = _STEP_ID.match(value)
    if m is None or m.group(2) not in STEP_TITLES:
        return None
    return m.group(1), m.group(2)


def plan(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The fixed steps of an inspection of this declaration content, in the order they are done."""
    steps: list[dict[str, Any]] = []
    containers = [str(c.get("number", "")) for c in payload.get("containers") or []]
    for number in containers:
        for kind in CONTAINER_STEPS + GOODS_STEPS + BODY_STEPS:
            steps.append(_step(number, kind))
    if not containers:
        for kind in GOODS_STEPS:
            steps.append(_step(LOOSE, kind))
    return steps


def _step(container: str, kind: str) -> dict[str, Any]:
    return {
        "id": step_id(container, kind),
        "container": container,
        "kind": kind,
        "title": STEP_TITLES[kind],
        "status": "pending",
        "result": None,
        "photos": [],
        "done_by": None,
        "done_at": None,
    }


def out_of_order(steps: Sequence[Mapping[str, Any]], wanted: str) -> Problem | None:
    """Why the step `wanted` cannot be recorded now (unknown, already done, earlier ones open), or None."""
    index = next((i for i, s in enumerate(steps) if s["id"] == wanted), None)
    if index is None:
        return Problem("INS-STEP-001", "/step_id", f"The inspection has no step {wanted}.")
    if steps[index]["status"] == "done":
        return Problem("INS-STEP-002", "/step_id", f"Step {wanted} is already recorded.")
    open_before = [s["id"] for s in steps[:index] if s["status"] != "done"]
    if open_before:
        return Problem("INS-STEP-003", "/step_id", f"Record step {open_before[0]} before {wanted}: steps are done in order.")
    return None


def _text(result: Mapping[str, Any], key: str, problems: list[Problem], *, required: bool) -> str | None:
    value = result.get(key)
    if value is None:
        if required:
            problems.append(Problem("INS-RES-002", f"/result/{key}", f"{key} is required."))
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        problems.append(Problem("INS-RES-003", f"/result/{key}", f"{key} must be text of 1 to {MAX_TEXT} characters."))
        return None
    return value.strip()


def _choice(result: Mapping[str, Any], key: str, allowed: Sequence[str], problems: list[Problem]) -> str | None:
    value = result.get(key)
    if value not in allowed:
        problems.append(Problem("INS-RES-004", f"/result/{key}", f"{key} must be one of {', '.join(allowed)}."))
        return None
    return str(value)


def decimal_of(value: Any) -> Decimal | None:
    """A finite, non-negative decimal written as a string or an integer; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() and d >= 0 else None


def _bool(result: Mapping[str, Any], key: str, problems: list[Problem]) -> bool | None:
    value = result.get(key)
    if not isinstance(value, bool):
        problems.append(Problem("INS-RES-005", f"/result/{key}", f"{key} must be true or false."))
        return None
    return value


_FIELDS: dict[str, frozenset[str]] = {
    "container_number": frozenset({"found", "note"}),
    "seal": frozenset({"found", "condition", "note"}),
    "goods_description": frozenset({"description", "matches_declared", "note"}),
    "marks": frozenset({"marks", "note"}),
    "counted_quantity": frozenset({"counts", "note"}),
    "weighed_mass": frozenset({"gross_mass_kg", "note"}),
    "packaging": frozenset({"type", "packages", "condition", "note"}),
    "container_body": frozenset({"condition", "false_compartment", "note"}),
}


def check_result(payload: Mapping[str, Any], container: str, kind: str, result: Any) -> tuple[dict[str, Any], list[Problem]]:
    """Validate one step's result against the declaration; returns the stored result and every problem.

    The stored result adds what the declaration said where the step compares (`declared`,
    `matches`), so a reader sees the discrepancy without looking it up.
    """
    if not isinstance(result, dict):
        return {}, [Problem("INS-RES-001", "/result", "result must be a JSON object.")]
    problems = [
        Problem("INS-RES-006", f"/result/{k}", f"{kind} does not take {k}.")
        for k in sorted(set(result) - _FIELDS[kind])
        if isinstance(k, str)
    ]
    out: dict[str, Any] = {}
    note = _text(result, "note", problems, required=False)
    declared_container: Mapping[str, Any] = next((c for c in payload.get("containers") or [] if c.get("number") == container), {})
    if kind == "container_number":
        found = _text(result, "found", problems, required=True)
        out = {"found": found, "declared": container, "matches": found == container}
    elif kind == "seal":
        found = _text(result, "found", problems, required=True)
        seals = list(declared_container.get("seals") or [])
        out = {
            "found": found,
            "declared": seals,
            "matches": found in seals,
            "condition": _choice(result, "condition", SEAL_CONDITIONS, problems),
        }
    elif kind == "goods_description":
        out = {
            "description": _text(result, "description", problems, required=True),
            "matches_declared": _bool(result, "matches_declared", problems),
        }
    elif kind == "marks":
        out = {"marks": _text(result, "marks", problems, required=True)}
    elif kind == "counted_quantity":
        out = {"counts": _counts(payload, result.get("counts"), problems)}
    elif kind == "weighed_mass":
        mass = decimal_of(result.get("gross_mass_kg"))
        if mass is None:
            problems.append(Problem("INS-RES-007", "/result/gross_mass_kg", 'gross_mass_kg must be a non-negative decimal, e.g. "1250.5".'))
        out = {"gross_mass_kg": None if mass is None else str(mass)}
    elif kind == "packaging":
        packages = result.get("packages")
        if isinstance(packages, bool) or not isinstance(packages, int) or not 0 <= packages <= 10_000_000:
            problems.append(Problem("INS-RES-008", "/result/packages", "packages must be a whole number from 0."))
        out = {
            "type": _text(result, "type", problems, required=True),
            "packages": packages,
            "condition": _choice(result, "condition", PACKAGING_CONDITIONS, problems),
        }
    elif kind == "container_body":
        out = {
            "condition": _choice(result, "condition", BODY_CONDITIONS, problems),
            "false_compartment": _bool(result, "false_compartment", problems),
        }
    if note is not None:
        out["note"] = note
    return out, problems


def _lines(payload: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    return {int(i["line"]): i for i in payload.get("items") or [] if "line" in i}


def _counts(payload: Mapping[str, Any], counts: Any, problems: list[Problem]) -> list[dict[str, Any]]:
    if not isinstance(counts, list) or not counts or len(counts) > 999:
        problems.append(Problem("INS-RES-009", "/result/counts", 'counts must list one or more {"line", "quantity"} counted.'))
        return []
    lines = _lines(payload)
    out = []
    seen: set[int] = set()
    for n, c in enumerate(counts):
        pointer = f"/result/counts/{n}"
        line = c.get("line") if isinstance(c, dict) else None
        qty = decimal_of(c.get("quantity")) if isinstance(c, dict) else None
        if isinstance(line, bool) or not isinstance(line, int) or line not in lines:
            problems.append(Problem("INS-RES-010", f"{pointer}/line", "line must be a line of the declaration."))
            continue
        if line in seen:
            problems.append(Problem("INS-RES-011", f"{pointer}/line", f"Line {line} is counted twice."))
            continue
        seen.add(line)
        if qty is None:
            problems.append(Problem("INS-RES-007", f"{pointer}/quantity", "quantity must be a non-negative decimal."))
            continue
        out.append({"line": line, "quantity": str(qty), "declared": str(lines[line].get("quantity")), "unit": lines[line].get("unit")})
    return out


@dataclass(frozen=True)
class Verdict:
    """What the findings mean for the risk engine and the declaration."""

    hit: bool  # a discrepancy was found: the declaration is held
    critical: int  # 0 none, 1 serious, 2 critical (prohibited goods, concealment)
    summary: str | None


def check_findings(payload: Mapping[str, Any], findings: Any, reason: Any) -> tuple[list[dict[str, Any]], Verdict, list[Problem]]:
    """Validate the findings of an inspection against the declaration; returns them as stored, the verdict, every problem.

    No findings needs a reason (what was checked); each finding names its type, the line it is
    about (quantity, description, value, origin), a declared container when it names one, and
    what was found, which must differ from what was declared. `declared` is taken from the
    declaration when left out and must agree with it when given.
    """
    problems: list[Problem] = []
    if not isinstance(findings, list) or len(findings) > MAX_FINDINGS:
        problems.append(Problem("INS-FND-001", "/findings", f"findings must be a list of at most {MAX_FINDINGS}."))
        findings = []
    if reason is not None and (not isinstance(reason, str) or not 3 <= len(reason.strip()) <= 500):
        problems.append(Problem("INS-FND-002", "/reason", "reason must be text of 3 to 500 characters."))
    elif reason is None and not findings:
        problems.append(Problem("INS-FND-002", "/reason", "Completing without findings needs a reason (what was checked)."))
    lines = _lines(payload)
    containers = {str(c.get("number")) for c in payload.get("containers") or []}
    out = [f for n, raw in enumerate(findings) if (f := _finding(raw, n, lines, containers, problems)) is not None]
    critical = 2 if any(f["type"] in SERIOUS for f in out) else (1 if out else 0)
    summary = "; ".join(f"{f['type']}" + (f" line {f['line']}" if f.get("line") else "") for f in out) or None
    return out, Verdict(hit=bool(out), critical=critical, summary=summary), problems


def _declared(kind: str, item: Mapping[str, Any]) -> str | None:
    field = {"quantity": "quantity", "description": "description", "value": "value", "origin": "origin"}.get(kind)
    return None if field is None else str(item.get(field))


def _finding(
    raw: Any, n: int, lines: Mapping[int, Mapping[str, Any]], containers: set[str], problems: list[Problem]
) -> dict[str, Any] | None:
    at = f"/findings/{n}"
    if not isinstance(raw, dict):
        problems.append(Problem("INS-FND-003", at, "A finding is a JSON object."))
        return None
    start = len(problems)
    extra = sorted(k for k in raw if k not in ("type", "line", "container", "declared", "found", "note"))
    problems.extend(Problem("INS-FND-004", f"{at}/{k}", f"A finding does not take {k}.") for k in extra)
    kind = raw.get("type")
    if kind not in FINDING_TYPES:
        problems.append(Problem("INS-FND-005", f"{at}/type", f"type must be one of {', '.join(FINDING_TYPES)}."))
        return None
    line, container = raw.get("line"), raw.get("container")
    item: Mapping[str, Any] | None = None
    if line is not None or kind in LINE_FINDINGS:
        if isinstance(line, bool) or not isinstance(line, int) or line not in lines:
            problems.append(Problem("INS-FND-006", f"{at}/line", f"A {kind} finding names a line of the declaration."))
        else:
            item = lines[line]
    if container is not None and container not in containers:
        problems.append(Problem("INS-FND-007", f"{at}/container", f"{container!r} is not a container of the declaration."))
    found, note = raw.get("found"), raw.get("note")
    for key, value in (("found", found), ("note", note), ("declared", raw.get("declared"))):
        if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT):
            problems.append(Problem("INS-FND-008", f"{at}/{key}", f"{key} must be text of 1 to {MAX_TEXT} characters."))
    if kind in SERIOUS and not (isinstance(note, str) and note.strip()) and not (isinstance(found, str) and found.strip()):
        problems.append(Problem("INS-FND-009", f"{at}/found", f"A {kind} finding says what was found (found or note)."))
    declared = _declared(kind, item) if item is not None else raw.get("declared")
    if kind in LINE_FINDINGS and item is not None:
        if not isinstance(found, str):
            problems.append(Problem("INS-FND-010", f"{at}/found", f"A {kind} finding gives the measured value as found."))
        elif kind in ("quantity", "value") and decimal_of(found) is None:
            problems.append(Problem("INS-FND-011", f"{at}/found", f'The found {kind} must be a non-negative decimal, e.g. "120".'))
        elif kind == "origin" and not _ORIGIN.match(found):
            problems.append(Problem("INS-FND-012", f"{at}/found", "The found origin is a country code of two capital letters."))
        elif _same(kind, found, declared):
            problems.append(Problem("INS-FND-013", f"{at}/found", f"The found {kind} is what was declared: that is no finding."))
        given = raw.get("declared")
        if isinstance(given, str) and not _same(kind, given, declared):
            problems.append(Problem("INS-FND-014", f"{at}/declared", f"Line {line} declares {kind} {declared}, not {given}."))
    if len(problems) > start:
        return None
    out: dict[str, Any] = {"type": kind, "line": line, "container": container, "declared": declared, "found": found, "note": note}
    if kind in ("quantity", "value") and found is not None:
        out["found"] = str(decimal_of(found))
    return out


def _same(kind: str, a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    if kind in ("quantity", "value"):
        da, db = decimal_of(a), decimal_of(b)
        return da is not None and db is not None and da == db
    return a.strip().casefold() == b.strip().casefold()
