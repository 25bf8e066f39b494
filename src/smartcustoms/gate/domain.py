"""The gate's decision, pure: from what is on record about a truck's container, pass or hold with every reason.

The same rules decide online (from the database) and offline (from the gate's local copy); the
callers only gather the facts. Each reason carries a stable code and the sentence a driver or a
terminal operator reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from stdnum import iso6346

from smartcustoms.errors import Problem

CONTAINER = re.compile(r"^[A-Z]{4}\d{7}$")
PLATE = re.compile(r"^[0-9A-Z\u4e00-\u9fff·\- ]{2,35}$")
SEAL = re.compile(r"^[0-9A-Za-z\-/ .]{1,35}$")
RELEASE = re.compile(r"^\d{8}R\d{9}$")

NO_RELEASE = "GATE-CHK-001"
OTHER_CONTAINER = "GATE-CHK-002"
SEAL_DIFFERS = "GATE-CHK-003"
HELD = "GATE-CHK-004"
GATED_OUT = "GATE-CHK-005"
OTHER_VEHICLE = "GATE-CHK-006"
NAME_CONTAINER = "GATE-CHK-007"
OFFLINE_UNPROVEN = "GATE-OFF-001"
OFFLINE_STALE = "GATE-OFF-002"


@dataclass(frozen=True)
class Ask:
    """What the gate was asked: the container and/or the plate and/or the release number, and the seal found on the container."""

    container: str | None = None
    plate: str | None = None
    release: str | None = None
    seal: str | None = None


@dataclass(frozen=True)
class Line:
    """One container (or vehicle) of a release, with what the gate must know of it."""

    line_id: int
    release: str
    declaration: str
    office: str
    released_at: str
    container: str | None
    plate: str | None
    seals: tuple[str, ...]
    gated_out: bool = False
    inspected_seals: tuple[str, ...] = ()

    def view(self) -> dict[str, object]:
        """The release line as the gate's answer shows it."""
        return {
            "number": self.release,
            "declaration": self.declaration,
            "office": self.office,
            "released_at": self.released_at,
            "container": self.container,
            "plate": self.plate,
            "seals": list(self.seals),
        }


@dataclass(frozen=True)
class Reason:
    """Why the gate holds a truck: a stable code and a sentence."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The reason as the API answers it."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Outcome:
    """The gate's answer: pass or hold, every reason for a hold, and the release line it read (if any)."""

    passed: bool
    reasons: tuple[Reason, ...] = ()
    line: Line | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def decision(self) -> str:
        """`pass` or `hold`."""
        return "pass" if self.passed else "hold"


def normalise(container: object, plate: object, release: object, seal: object) -> tuple[Ask, list[Problem]]:
    """The request's values cleaned (upper case, trimmed) and every problem with them; at least one of container, plate, release."""
    problems: list[Problem] = []

    def text(value: object, name: str, pattern: re.Pattern[str], example: str, upper: bool = True) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            problems.append(Problem("GATE-REQ-002", f"/{name}", f"{name} must be text, e.g. {example}."))
            return None
        cleaned = value.strip().upper() if upper else value.strip()
        if not cleaned:
            return None
        if not pattern.match(cleaned):
            problems.append(Problem("GATE-REQ-002", f"/{name}", f"{name} {cleaned[:40]!r} is not valid, e.g. {example}."))
            return None
        return cleaned

    box = text(container, "container", CONTAINER, "MSKU1234565")
    if box is not None and not iso6346.is_valid(box):
        problems.append(Problem("GATE-REQ-003", "/container", f"Container {box}: the check digit does not match (ISO 6346)."))
    ask = Ask(
        container=box,
        plate=text(plate, "plate", PLATE, "沪A12345"),
        release=text(release, "release", RELEASE, "22482026R000000001"),
        seal=text(seal, "seal", SEAL, "ML-CN4471208", upper=False),
    )
    if not problems and ask.container is None and ask.plate is None and ask.release is None:
        problems.append(Problem("GATE-REQ-001", "", "Give the container number, the truck's plate or the release number to check."))
    return ask, problems


def choose(ask: Ask, lines: Sequence[Line]) -> tuple[Line | None, list[Reason]]:
    """The release line the truck is asking about, or why there is none.

    `lines` are the lines found by the release number (when asked) or else by container or plate,
    newest release first. A line not yet gated out is preferred: a reused container may have an
    older, finished release.
    """
    if ask.release is not None and not lines:
        return None, [Reason(NO_RELEASE, f"There is no release {ask.release}.")]
    found = list(lines)
    if ask.release is not None and ask.container is not None:
        found = [ln for ln in lines if ln.container == ask.container]
        if not found:
            covered = ", ".join(sorted({ln.container or ln.plate or "-" for ln in lines}))
            return None, [Reason(OTHER_CONTAINER, f"Release {ask.release} is for {covered}, not container {ask.container}.")]
    elif ask.release is not None and ask.plate is not None and all(ln.container is None for ln in lines):
        found = [ln for ln in lines if ln.plate == ask.plate] or found
    if not found:
        what = f"container {ask.container}" if ask.container else f"vehicle {ask.plate}"
        return None, [Reason(NO_RELEASE, f"No release lets {what} leave.")]
    if ask.container is None and len({ln.container for ln in found}) > 1:
        return None, [Reason(NAME_CONTAINER, "The release covers several containers: name the one on the truck.")]
    open_lines = [ln for ln in found if not ln.gated_out]
    return (open_lines or found)[0], []


def decide(ask: Ask, lines: Sequence[Line], *, holds: Sequence[str] = ()) -> Outcome:
    """Pass only when a release covers the truck's container, its seal matches, no officer holds it and it has not left yet."""
    line, reasons = choose(ask, lines)
    reasons += [Reason(HELD, f"Held by customs: {why}") for why in holds]
    if line is not None:
        if ask.seal is not None and ask.seal not in line.seals and ask.seal not in line.inspected_seals:
            on_record = ", ".join(line.seals + line.inspected_seals) or "none"
            reasons.append(Reason(SEAL_DIFFERS, f"Seal {ask.seal} differs from the seal on record ({on_record})."))
        if ask.plate is not None and line.plate is not None and ask.plate != line.plate:
            reasons.append(Reason(OTHER_VEHICLE, f"Release {line.release} is for vehicle {line.plate}, not {ask.plate}."))
        if line.gated_out:
            reasons.append(Reason(GATED_OUT, f"{line.container or line.plate} has already left under release {line.release}."))
    return Outcome(passed=line is not None and not reasons, reasons=tuple(reasons), line=line)
