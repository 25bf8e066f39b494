"""Pure manifest logic: content checks, matching declarations to lines, excess and shortage, write-off.

No clock, no database: the service passes in the lines, the declarations' references and `today`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from smartcustoms.errors import Problem

_DECIMAL_RE = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,3})?")
MAX_PACKAGES = 10_000_000


@dataclass(frozen=True)
class Line:
    """A manifest line as matching reads it."""

    line: int
    bill_of_lading: str
    containers: tuple[str, ...]
    packages: int
    gross_mass_kg: Decimal


@dataclass(frozen=True)
class DeclRef:
    """What a declaration states about its transport: bill of lading, containers, gross mass."""

    number: str
    bill_of_lading: str
    containers: frozenset[str]
    gross_mass_kg: Decimal


@dataclass(frozen=True)
class Match:
    """How the declarations cover one line."""

    state: str  # open | partial | matched
    declarations: tuple[str, ...]
    declared_gross_mass_kg: Decimal
    containers_undeclared: tuple[str, ...]
    containers_not_manifested: tuple[str, ...]

    @property
    def split(self) -> bool:
        """Several declarations share the line."""
        return len(self.declarations) > 1


def check_content(
    *,
    mode: str,
    vessel: str | None,
    flight: str | None,
    voyage: str | None,
    port: str,
    ports: frozenset[str],
    lines: Sequence[tuple[str, Sequence[str], int, str]],
) -> tuple[list[Decimal], list[Problem]]:
    """Every problem of a manifest's content at once, and the lines' gross masses when there is none.

    `lines` holds (bill of lading, containers, packages, gross mass as written) per line.
    """
    problems: list[Problem] = []
    if mode == "sea" and not vessel:
        problems.append(Problem("MAN-LDG-004", "/vessel", "A sea manifest names the vessel."))
    if mode == "sea" and not voyage:
        problems.append(Problem("MAN-LDG-004", "/voyage", "A sea manifest names the voyage."))
    if mode == "air" and not flight:
        problems.append(Problem("MAN-LDG-004", "/flight", "An air manifest names the flight."))
    if port not in ports:
        shown = port if port.isprintable() else repr(port)
        problems.append(Problem("MAN-LDG-002", "/port", f"{shown} is not a port in the reference list (UN/LOCODE)."))
    seen_bl: dict[str, int] = {}
    seen_container: dict[str, int] = {}
    masses: list[Decimal] = []
    for i, (bl, containers, packages, raw_mass) in enumerate(lines):
        if bl in seen_bl:
            problems.append(
                Problem(
                    "MAN-LDG-001",
                    f"/lines/{i}/bill_of_lading",
                    f"Bill of lading {bl} is already line {seen_bl[bl] + 1}; a bill of lading is one line.",
                )
            )
        else:
            seen_bl[bl] = i
        for j, c in enumerate(containers):
            if c in seen_container:
                problems.append(
                    Problem("MAN-LDG-005", f"/lines/{i}/containers/{j}", f"Container {c} is already on line {seen_container[c] + 1}.")
                )
            else:
                seen_container[c] = i
        if not 1 <= packages <= MAX_PACKAGES:
            problems.append(
                Problem("MAN-LDG-006", f"/lines/{i}/packages", f"Packages must be between 1 and {MAX_PACKAGES:,}; got {packages}.")
            )
        mass = _mass(raw_mass)
        if mass is None or mass <= 0:
            problems.append(
                Problem(
                    "MAN-LDG-003",
                    f"/lines/{i}/gross_mass_kg",
                    f'Gross mass must be a positive number of kg written as a string, like "1200.5"; got "{raw_mass}".',
                )
            )
        else:
            masses.append(mass)
    return masses, problems


def _mass(raw: str) -> Decimal | None:
    if not _DECIMAL_RE.fullmatch(raw):
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


def check_arrival(lines: Sequence[tuple[str, Sequence[str], int | None]]) -> list[Problem]:
    """An arrival report names each bill of lading once, each container once, and counts no negative packages."""
    problems: list[Problem] = []
    seen: set[str] = set()
    containers: set[str] = set()
    for i, (bl, cs, packages) in enumerate(lines):
        if bl in seen:
            problems.append(Problem("MAN-ARR-001", f"/lines/{i}/bill_of_lading", f"Bill of lading {bl} is reported twice."))
        seen.add(bl)
        for j, c in enumerate(cs):
            if c in containers:
                problems.append(Problem("MAN-ARR-002", f"/lines/{i}/containers/{j}", f"Container {c} is reported twice."))
            containers.add(c)
        if packages is not None and not 0 <= packages <= MAX_PACKAGES:
            problems.append(Problem("MAN-ARR-003", f"/lines/{i}/packages", f"Packages unloaded must be between 0 and {MAX_PACKAGES:,}."))
    return problems


def match(line: Line, refs: Iterable[DeclRef]) -> Match:
    """Cover a line with the declarations of its bill of lading.

    Matched when every manifested container is declared and the declared gross mass reaches the
    manifested one (several declarations together: a split); partial when some of it is declared.
    """
    mine = sorted((r for r in refs if r.bill_of_lading == line.bill_of_lading), key=lambda r: r.number)
    declared = frozenset().union(*(r.containers for r in mine)) if mine else frozenset()
    mass = sum((r.gross_mass_kg for r in mine), Decimal(0))
    undeclared = tuple(c for c in line.containers if c not in declared)
    extra = tuple(sorted(declared - set(line.containers)))
    if not mine:
        state = "open"
    elif not undeclared and mass >= line.gross_mass_kg:
        state = "matched"
    else:
        state = "partial"
    return Match(state, tuple(r.number for r in mine), mass, undeclared, extra)


@dataclass
class Discrepancies:
    """What the arrival report and the declarations show against the manifest."""

    excess: list[dict[str, object]] = field(default_factory=list)
    shortage: list[dict[str, object]] = field(default_factory=list)


def discrepancies(
    lines: Sequence[Line], matches: Sequence[Match], arrival: Sequence[tuple[str, Sequence[str], int | None]] | None
) -> Discrepancies:
    """Excess: unloaded but not manifested, or declared beyond the line; shortage: manifested but not unloaded."""
    out = Discrepancies()
    by_bl = {ln.bill_of_lading: ln for ln in lines}
    if arrival is not None:
        reported = {bl: (set(cs), packages) for bl, cs, packages in arrival}
        for bl, (cs, packages) in reported.items():
            ln = by_bl.get(bl)
            if ln is None:
                out.excess.append({"kind": "not_manifested", "bill_of_lading": bl, "containers": sorted(cs)})
                continue
            extra = sorted(cs - set(ln.containers))
            if extra:
                out.excess.append({"kind": "containers_not_manifested", "bill_of_lading": bl, "containers": extra})
            if packages is not None and packages > ln.packages:
                out.excess.append({"kind": "packages", "bill_of_lading": bl, "manifested": ln.packages, "unloaded": packages})
        for ln in lines:
            got = reported.get(ln.bill_of_lading)
            if got is None:
                out.shortage.append({"kind": "not_unloaded", "bill_of_lading": ln.bill_of_lading, "containers": list(ln.containers)})
                continue
            missing = [c for c in ln.containers if c not in got[0]]
            if missing:
                out.shortage.append({"kind": "containers_not_unloaded", "bill_of_lading": ln.bill_of_lading, "containers": missing})
            if got[1] is not None and got[1] < ln.packages:
                out.shortage.append(
                    {"kind": "packages", "bill_of_lading": ln.bill_of_lading, "manifested": ln.packages, "unloaded": got[1]}
                )
    for ln, m in zip(lines, matches, strict=True):
        if m.containers_not_manifested:
            out.excess.append(
                {
                    "kind": "declared_containers_not_manifested",
                    "bill_of_lading": ln.bill_of_lading,
                    "containers": list(m.containers_not_manifested),
                }
            )
        if m.declared_gross_mass_kg > ln.gross_mass_kg:
            out.excess.append(
                {
                    "kind": "declared_mass_over_manifest",
                    "bill_of_lading": ln.bill_of_lading,
                    "manifested": str(ln.gross_mass_kg),
                    "declared": str(m.declared_gross_mass_kg),
                }
            )
    return out


@dataclass(frozen=True)
class OpenLine:
    """A line not written off, its age in days and whether it is past the limit."""

    bill_of_lading: str
    state: str
    declarations: tuple[str, ...]
    since: date
    age_days: int
    overdue: bool


@dataclass(frozen=True)
class WriteOff:
    """The write-off of a manifest on a day."""

    lines: int
    written_off: int
    rate: Decimal
    open: tuple[OpenLine, ...]


def write_off(lines: Sequence[Line], matches: Sequence[Match], *, since: date, today: date, open_days: int) -> WriteOff:
    """Lines fully declared are written off; the others are open since arrival (or expected arrival), aged in whole days."""
    age = max(0, (today - since).days)
    still = tuple(
        OpenLine(ln.bill_of_lading, m.state, m.declarations, since, age, age > open_days)
        for ln, m in zip(lines, matches, strict=True)
        if m.state != "matched"
    )
    done = len(lines) - len(still)
    rate = (Decimal(done) / Decimal(len(lines))).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if lines else Decimal("1.0000")
    return WriteOff(len(lines), done, rate, still)
