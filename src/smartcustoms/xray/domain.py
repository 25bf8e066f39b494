"""X-ray image review as pure functions: marked regions (rectangles inside the image) and the verdict."""

from __future__ import annotations

from typing import Any

from smartcustoms.errors import Problem

VERDICTS = ("clear", "suspect")
MAX_REGIONS = 100
MAX_LABEL = 200


def check_review(review: Any, *, width: int, height: int) -> tuple[str | None, list[dict[str, Any]], str | None, list[Problem]]:
    """Validate an analyst's review of a `width`×`height` image: (verdict, regions, note, every problem).

    A region is `{"x", "y", "width", "height", "label"?}` in whole pixels, inside the image, at
    least one pixel wide and high. A suspect verdict marks at least one region (what the physical
    inspection looks for); a clear one may keep regions looked at and cleared.
    """
    if not isinstance(review, dict):
        return None, [], None, [Problem("XRY-REV-001", "", "The review is a JSON object.")]
    problems = [
        Problem("XRY-REV-002", f"/{k}", f"A review does not take {k}.") for k in sorted(set(review) - {"verdict", "regions", "note"})
    ]
    verdict = review.get("verdict")
    if verdict not in VERDICTS:
        problems.append(Problem("XRY-REV-003", "/verdict", "verdict must be clear or suspect."))
        verdict = None
    raw_regions = review.get("regions", [])
    regions: list[dict[str, Any]] = []
    if not isinstance(raw_regions, list) or len(raw_regions) > MAX_REGIONS:
        problems.append(Problem("XRY-REV-004", "/regions", f"regions must be a list of at most {MAX_REGIONS} rectangles."))
        raw_regions = []
    for n, raw in enumerate(raw_regions):
        region = _region(raw, f"/regions/{n}", width=width, height=height, problems=problems)
        if region is not None:
            regions.append(region)
    if verdict == "suspect" and not raw_regions:
        problems.append(Problem("XRY-REV-005", "/regions", "A suspect verdict marks at least one region for the inspectors."))
    note = review.get("note")
    if note is not None and (not isinstance(note, str) or not note.strip() or len(note) > 1000):
        problems.append(Problem("XRY-REV-006", "/note", "note must be text of 1 to 1000 characters."))
        note = None
    return verdict, regions, note, problems


def _region(raw: Any, at: str, *, width: int, height: int, problems: list[Problem]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        problems.append(Problem("XRY-REG-001", at, 'A region is {"x", "y", "width", "height", "label"}.'))
        return None
    start = len(problems)
    problems.extend(
        Problem("XRY-REG-002", f"{at}/{k}", f"A region does not take {k}.")
        for k in sorted(set(raw) - {"x", "y", "width", "height", "label"})
    )
    values: dict[str, int] = {}
    for key, low in (("x", 0), ("y", 0), ("width", 1), ("height", 1)):
        v = raw.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            problems.append(Problem("XRY-REG-003", f"{at}/{key}", f"{key} must be a whole number of pixels from {low}."))
        else:
            values[key] = v
    if len(values) == 4:
        if values["x"] + values["width"] > width:
            problems.append(Problem("XRY-REG-004", f"{at}/width", f"The region runs past the image's right edge ({width} px wide)."))
        if values["y"] + values["height"] > height:
            problems.append(Problem("XRY-REG-004", f"{at}/height", f"The region runs past the image's bottom edge ({height} px high)."))
    label = raw.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL):
        problems.append(Problem("XRY-REG-005", f"{at}/label", f"label must be text of 1 to {MAX_LABEL} characters."))
    if len(problems) > start:
        return None
    return {**values, "label": label.strip() if isinstance(label, str) else None}
