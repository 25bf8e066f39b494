"""Pure manifest logic: content checks, matching (whole, split, partial), excess/shortage, write-off ages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from smartcustoms.manifest import domain
from smartcustoms.manifest.domain import DeclRef, Line

PORTS = frozenset({"CNSHA"})


def _check(lines: list[tuple[str, list[str], int, str]], **kw: str | None) -> list[str]:
    args: dict[str, str | None] = {"mode": "sea", "vessel": "V", "flight": None, "voyage": "1", "port": "CNSHA", **kw}
    _, problems = domain.check_content(
        mode=str(args["mode"]),
        vessel=args["vessel"],
        flight=args["flight"],
        voyage=args["voyage"],
        port=str(args["port"]),
        ports=PORTS,
        lines=lines,
    )
    return [f"{p.code} {p.pointer}" for p in problems]


def test_content_checks_report_every_problem_with_its_pointer() -> None:
    assert _check([("A", ["C1"], 1, "10.5")]) == []
    assert _check([("A", [], 1, "1"), ("B", [], 1, "1"), ("A", [], 1, "1")]) == ["MAN-LDG-001 /lines/2/bill_of_lading"]
    assert _check([("A", [], 0, "-1"), ("B", [], 1, "0"), ("C", [], 1, "1.2345"), ("D", [], 1, "abc")]) == [
        "MAN-LDG-006 /lines/0/packages",
        "MAN-LDG-003 /lines/0/gross_mass_kg",
        "MAN-LDG-003 /lines/1/gross_mass_kg",
        "MAN-LDG-003 /lines/2/gross_mass_kg",
        "MAN-LDG-003 /lines/3/gross_mass_kg",
    ]
    assert _check([("A", [], 1, "1")], port="XXXXX", mode="air", vessel=None) == ["MAN-LDG-004 /flight", "MAN-LDG-002 /port"]


def _line(bl: str = "B", containers: tuple[str, ...] = ("C1", "C2"), mass: str = "100") -> Line:
    return Line(1, bl, containers, 4, Decimal(mass))


def _ref(number: str, containers: set[str], mass: str, bl: str = "B") -> DeclRef:
    return DeclRef(number, bl, frozenset(containers), Decimal(mass))


def test_matching_whole_split_partial_and_open() -> None:
    assert domain.match(_line(), []).state == "open"
    whole = domain.match(_line(), [_ref("D1", {"C1", "C2"}, "100"), _ref("X", {"C1", "C2"}, "100", bl="OTHER")])
    assert (whole.state, whole.split, whole.declarations) == ("matched", False, ("D1",))
    split = domain.match(_line(), [_ref("D2", {"C2"}, "60"), _ref("D1", {"C1"}, "40")])
    assert (split.state, split.split, split.declarations, split.declared_gross_mass_kg) == ("matched", True, ("D1", "D2"), Decimal(100))
    short_mass = domain.match(_line(), [_ref("D1", {"C1", "C2"}, "99.9")])
    assert short_mass.state == "partial"
    part = domain.match(_line(), [_ref("D1", {"C1", "C9"}, "150")])
    assert (part.state, part.containers_undeclared, part.containers_not_manifested) == ("partial", ("C2",), ("C9",))
    bulk = domain.match(_line(containers=()), [_ref("D1", set(), "100")])
    assert bulk.state == "matched"


def test_excess_and_shortage_against_the_arrival_report() -> None:
    lines = [_line("A"), _line("B", ())]
    matches = [domain.match(ln, []) for ln in lines]
    assert domain.discrepancies(lines, matches, None).shortage == []  # nothing is short before arrival
    found = domain.discrepancies(lines, matches, [("A", ["C1", "C7"], 5), ("Z", [], None)])
    assert [(e["kind"], e["bill_of_lading"]) for e in found.excess] == [
        ("containers_not_manifested", "A"),
        ("packages", "A"),
        ("not_manifested", "Z"),
    ]
    assert [(s["kind"], s["bill_of_lading"]) for s in found.shortage] == [("containers_not_unloaded", "A"), ("not_unloaded", "B")]


def test_write_off_rate_and_ages() -> None:
    lines = [_line("A"), _line("B"), _line("C")]
    matches = [domain.match(lines[0], [_ref("D1", {"C1", "C2"}, "100", bl="A")]), domain.match(lines[1], []), domain.match(lines[2], [])]
    w = domain.write_off(lines, matches, since=date(2026, 11, 1), today=date(2026, 11, 16), open_days=14)
    assert (w.lines, w.written_off, w.rate) == (3, 1, Decimal("0.3333"))
    assert [(o.bill_of_lading, o.age_days, o.overdue) for o in w.open] == [("B", 15, True), ("C", 15, True)]
    w = domain.write_off(lines, matches, since=date(2026, 11, 1), today=date(2026, 11, 15), open_days=14)
    assert [o.overdue for o in w.open] == [False, False]  # 14 days is not past 14
    early = domain.write_off(lines, matches, since=date(2026, 12, 1), today=date(2026, 11, 15), open_days=14)
    assert early.open[0].age_days == 0  # not yet arrived: no negative ages
    assert domain.write_off(lines[:2], matches[:2], since=date(2026, 11, 1), today=date(2026, 11, 1), open_days=1).rate == Decimal("0.5000")
