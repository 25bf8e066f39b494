"""Loading reference data from the shared public files: HS editions with validity periods, UN/LOCODE, exchange rates.

Reference rows are never deleted: a new HS edition closes the codes it drops or rewords on its
first day and opens the new wording from that day, so a declaration is judged by the
nomenclature of its own date.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.declaration import validation
from smartcustoms.errors import NotFound, ValidationFailed
from smartcustoms.reference import service as reference_service
from smartcustoms.reference.models import ExchangeRate, HsCode, Port
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, OPERATOR, SHARED, example

DATA = SHARED / "data"
HS_CSV = DATA / "hs" / "harmonized-system.csv"
LOCODE_DIR = DATA / "unlocode" / "by-country"
pytestmark = pytest.mark.skipif(not HS_CSV.exists() or not LOCODE_DIR.is_dir(), reason=f"shared reference data not found under {DATA}")

HS_CODES = 6936  # 96 chapters, 1,228 headings, 5,612 subheadings: the built-in HS 2022 and the shared file agree
HS_SUBHEADINGS = 5612
EDITION_2027 = date(2027, 1, 1)
DROPPED, REWORDED, NEW = "851713", "490199", "851715"
REWORDED_TEXT = "Printed books, brochures and leaflets; other than in single sheets, including e-book companions"


def _hs_rows(rt: Runtime) -> list[tuple[str, str, date, date | None, str]]:
    with rt.read() as s:
        rows = s.execute(select(HsCode.code, HsCode.edition, HsCode.valid_from, HsCode.valid_to, HsCode.description))
        return sorted(tuple(r) for r in rows)  # type: ignore[misc]


def _count(rt: Runtime, model: Any, *where: Any) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _load_hs(rt: Runtime, path: Path, edition: str, valid_from: date) -> reference_service.LoadReport:
    with rt.write() as s:
        return reference_service.load_hs(s, path=path, edition=edition, valid_from=valid_from, actor=OPERATOR, now=NOW)


@pytest.fixture
def ref_rt(rt: Runtime) -> Iterator[Runtime]:
    """The test runtime; on PostgreSQL, whose reference tables outlive a test, the built-in reference data is restored after."""
    yield rt
    if rt.engine.dialect.name == "postgresql":
        with rt.write() as s:
            for model in (HsCode, Port, ExchangeRate):
                s.execute(delete(model))
            reference_service.load_builtin(s, actor=OPERATOR, now=NOW)


@pytest.fixture
def hs2027(tmp_path: Path) -> Path:
    """A synthetic next edition, written from the shared HS 2022 file: one code dropped, one reworded, one added, and bad rows."""
    with HS_CSV.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        rows = [r for r in reader if r["hscode"] != DROPPED]
    for r in rows:
        if r["hscode"] == REWORDED:
            r["description"] = REWORDED_TEXT
    rows.append(
        {"section": "XVI", "hscode": NEW, "description": "Telephones for cellular networks; foldable", "parent": "8517", "level": "6"}
    )
    rows += [
        {"section": "XVI", "hscode": "85171", "description": "five digits", "parent": "8517", "level": "5"},
        {"section": "XVI", "hscode": "8517AB", "description": "letters", "parent": "8517", "level": "6"},
    ]
    path = tmp_path / "hs2027.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


# --- HS ----------------------------------------------------------------------------------


def test_reloading_the_hs2022_file_finds_every_code_unchanged_and_closes_nothing(ref_rt: Runtime) -> None:
    before = _hs_rows(ref_rt)
    assert len(before) == HS_CODES and _count(ref_rt, HsCode, HsCode.level == 6) == HS_SUBHEADINGS

    report = _load_hs(ref_rt, HS_CSV, "HS2022", date(2026, 11, 22))

    assert report == reference_service.LoadReport(added=0, closed=0, unchanged=HS_CODES, rejected=[])
    assert _hs_rows(ref_rt) == before
    assert {(edition, valid_from, valid_to) for _, edition, valid_from, valid_to, _ in before} == {("HS2022", date(2022, 1, 1), None)}
    with ref_rt.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "reference.hs_loaded")).one()
    assert (entry.subject_id, entry.after) == (
        "HS2022",
        {"file": "harmonized-system.csv", "valid_from": "2026-11-22", "added": 0, "closed": 0, "unchanged": HS_CODES, "rejected": 0},
    )


def test_a_new_edition_closes_dropped_and_reworded_codes_on_its_first_day_and_opens_new_ones(ref_rt: Runtime, hs2027: Path) -> None:
    before = _hs_rows(ref_rt)
    old_wording = next(desc for code, *_, desc in before if code == REWORDED)
    lines = hs2027.read_text(encoding="utf-8").count("\n")  # the two bad rows are the last two lines

    report = _load_hs(ref_rt, hs2027, "HS2027", EDITION_2027)

    assert (report.added, report.closed, report.unchanged) == (2, 2, HS_CODES - 2)
    assert report.rejected == [
        f"line {lines - 1}: HS code '85171' is not 2, 4 or 6 digits",
        f"line {lines}: HS code '8517AB' is not 2, 4 or 6 digits",
    ]
    after = _hs_rows(ref_rt)
    assert len(after) == HS_CODES + 2
    assert {(code, valid_from) for code, _, valid_from, *_ in before} <= {(code, valid_from) for code, _, valid_from, *_ in after}
    assert [r for r in after if r[0] in (DROPPED, REWORDED, NEW)] == [
        (REWORDED, "HS2022", date(2022, 1, 1), EDITION_2027, old_wording),
        (REWORDED, "HS2027", EDITION_2027, None, REWORDED_TEXT),
        (DROPPED, "HS2022", date(2022, 1, 1), EDITION_2027, "Telephone sets; smartphones for cellular or other wireless networks"),
        (NEW, "HS2027", EDITION_2027, None, "Telephones for cellular networks; foldable"),
    ]
    with ref_rt.read() as s:
        catalog = reference_service.catalog(s)
        assert catalog.hs_valid(DROPPED, date(2026, 12, 31)) is True
        assert catalog.hs_valid(DROPPED, date(2027, 1, 1)) is False
        assert catalog.hs_valid(DROPPED, date(2027, 1, 2)) is False
        assert catalog.hs_valid(NEW, date(2026, 12, 31)) is False
        assert catalog.hs_valid(NEW, date(2027, 1, 1)) is True
        assert catalog.hs_valid(REWORDED, date(2026, 12, 31)) and catalog.hs_valid(REWORDED, date(2027, 1, 2))
        lookups = [reference_service.hs_lookup(s, code=REWORDED, on=day) for day in (date(2026, 12, 31), date(2027, 1, 2))]
        assert [(h.edition, h.description) for h in lookups if h] == [("HS2022", old_wording), ("HS2027", REWORDED_TEXT)]
        assert reference_service.hs_lookup(s, code=DROPPED, on=date(2027, 1, 2)) is None


def test_an_edition_starting_before_the_current_one_is_refused_and_changes_nothing(ref_rt: Runtime, hs2027: Path) -> None:
    _load_hs(ref_rt, hs2027, "HS2027", EDITION_2027)
    rows, loads = _hs_rows(ref_rt), _count(ref_rt, AuditEntry, AuditEntry.action == "reference.hs_loaded")

    with pytest.raises(ValidationFailed) as refused:
        _load_hs(ref_rt, HS_CSV, "HS2026", date(2026, 6, 1))  # would reopen the 2022 wording before 2027's

    assert {(p.code, p.pointer) for p in refused.value.problems} == {("REF-HS-011", "/valid_from")}
    assert "must be after 2027-01-01" in refused.value.problems[0].message
    assert _hs_rows(ref_rt) == rows
    assert _count(ref_rt, AuditEntry, AuditEntry.action == "reference.hs_loaded") == loads


def test_a_file_without_a_single_valid_code_is_refused_and_changes_nothing(ref_rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("section,hscode,description,parent,level\nI,1,too short,TOTAL,2\nI,TOTAL,all,,5\n", encoding="utf-8")
    rows = _hs_rows(ref_rt)

    with pytest.raises(ValidationFailed) as refused:
        _load_hs(ref_rt, path, "HS2027", EDITION_2027)

    assert [(p.code, p.pointer) for p in refused.value.problems] == [("REF-HS-010", "/file")]
    assert _hs_rows(ref_rt) == rows


# --- UN/LOCODE ---------------------------------------------------------------------------

# 116,029 rows in 249 files: 1,040 rows whose misquoted name (a comma in it) shifts the other
# columns are mended; 115,837 are new places and 192 repeat a built-in port or an earlier row.
LOCODE_ROWS, LOCODE_FILES, LOCODE_REJECTED, LOCODE_ADDED = 116_029, 249, 0, 115_837
BUILTIN_PORTS = 46


def _port(rt: Runtime, locode: str) -> tuple[Any, ...] | None:
    with rt.read() as s:
        p = s.get(Port, locode)
        return None if p is None else (p.name, p.country, p.subdivision, p.function, p.latitude, p.longitude)


def _problems(rt: Runtime, **changes: str) -> list[tuple[str, str]]:
    with rt.read() as s:
        _, problems = validation.validate({**example(), **changes}, catalog=reference_service.catalog(s), today=NOW.date())
    return [(p.code, p.pointer) for p in problems]


def test_loading_unlocode_adds_places_keeps_coordinates_and_a_second_run_adds_nothing(ref_rt: Runtime) -> None:
    assert _count(ref_rt, Port) == BUILTIN_PORTS
    assert _problems(ref_rt, port_of_entry="CNZJG") == [("DEC-REF-004", "/port_of_entry")]
    progress: list[tuple[int, int]] = []

    started = time.perf_counter()
    with ref_rt.write() as s:
        first = reference_service.load_locode(
            s, directory=LOCODE_DIR, actor=OPERATOR, now=NOW, progress=lambda d, t: progress.append((d, t))
        )
    took = time.perf_counter() - started

    assert took < 60, f"loading {LOCODE_ROWS} rows took {took:.1f} s"
    assert (first.added, first.unchanged, len(first.rejected)) == (
        LOCODE_ADDED,
        LOCODE_ROWS - LOCODE_REJECTED - LOCODE_ADDED,
        LOCODE_REJECTED,
    )
    assert first.rejected == []  # the ~1,000 rows with a comma in the name and broken quoting are mended
    assert progress[-1] == (LOCODE_FILES, LOCODE_FILES) and len(progress) == LOCODE_FILES
    assert _count(ref_rt, Port) == BUILTIN_PORTS + LOCODE_ADDED
    assert _port(ref_rt, "CNTXG") == ("Tianjin Xingang", "CN", "TJ", "1-------", 38.983333333333334, 117.7)  # built-in name kept
    assert _port(ref_rt, "CNZJG") == ("Zhangjiagang", "CN", "JS", "1-------", 31.866666666666667, 120.53333333333333)
    assert _port(ref_rt, "ATMLD") == ("Mollersdorf, Baden", "AT", "3", "--3-----", 48.3602791, 16.0063566)
    assert _port(ref_rt, "JPAIK") == ("Aikawa, Niigata", "JP", "15", "1-------", 35.532347, 139.297795)  # a port
    assert _problems(ref_rt, port_of_entry="CNZJG") == []
    assert _problems(ref_rt, port_of_entry="CNTXG", office="0202") == []

    with ref_rt.write() as s:
        second = reference_service.load_locode(s, directory=LOCODE_DIR, actor=OPERATOR, now=NOW)

    assert (second.added, second.unchanged, len(second.rejected)) == (0, LOCODE_ROWS - LOCODE_REJECTED, LOCODE_REJECTED)
    assert _count(ref_rt, Port) == BUILTIN_PORTS + LOCODE_ADDED
    assert _port(ref_rt, "CNTXG") == ("Tianjin Xingang", "CN", "TJ", "1-------", 38.983333333333334, 117.7)
    with ref_rt.read() as s:
        journal = s.execute(select(AuditEntry.action, AuditEntry.after).where(AuditEntry.subject_id == "unlocode").order_by(AuditEntry.id))
        assert [(a, x["added"], x["files"]) for a, x in journal] == [
            ("reference.locode_loaded", LOCODE_ADDED, LOCODE_FILES),
            ("reference.locode_loaded", 0, LOCODE_FILES),
        ]


def test_a_row_with_a_comma_in_its_name_is_mended_and_a_malformed_row_is_still_refused(ref_rt: Runtime, tmp_path: Path) -> None:
    (tmp_path / "XJ.csv").write_text(
        "country,location,name,nameWoDiacritics,subdivision,status,function,iata,lat,lon,geocoded\n"
        'JP,AIK,"""Aikawa"," Niigata""","""Aikawa"," Niigata""",15,1-------,35.532347,139.297795,true\n'
        "JP,ZZZ,Nowhere,Nowhere,15,AI,not-a-function,,,,false\n"
        "JP,QQ,Short,Short,15,AI,1-------,,,,false\n",
        encoding="utf-8",
    )
    with ref_rt.write() as s:
        report = reference_service.load_locode(s, directory=tmp_path, actor=OPERATOR, now=NOW)
    assert (report.added, report.rejected) == (
        1,
        [
            "XJ.csv line 3: JPZZZ has a malformed subdivision or function (are its columns shifted?)",
            "XJ.csv line 4: JPQQ is not a 5-character UN/LOCODE",
        ],
    )
    assert _port(ref_rt, "JPAIK") == ("Aikawa, Niigata", "JP", "15", "1-------", 35.532347, 139.297795)


def test_a_folder_without_csv_files_is_refused(ref_rt: Runtime, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as refused, ref_rt.write() as s:
        reference_service.load_locode(s, directory=tmp_path, actor=OPERATOR, now=NOW)
    assert [(p.code, p.pointer) for p in refused.value.problems] == [("REF-LOC-010", "/directory")]
    assert _count(ref_rt, Port) == BUILTIN_PORTS


# --- exchange rates ----------------------------------------------------------------------


def _set_rate(rt: Runtime, currency: str, month: str, rate: Decimal) -> None:
    with rt.write() as s:
        reference_service.set_rate(s, currency=currency, month=month, rate=rate, actor=OPERATOR, now=NOW)


def _rate_for(rt: Runtime, currency: str, on: date) -> Decimal:
    with rt.read() as s:
        return reference_service.rate_for(s, currency=currency, on=on)


@pytest.mark.parametrize(
    ("currency", "month", "rate", "expected"),
    [
        ("XXQ", "2026-13", Decimal("-1"), [("REF-RATE-001", "/currency"), ("REF-RATE-002", "/month"), ("REF-RATE-003", "/rate")]),
        ("usd", "2026-1", Decimal("0"), [("REF-RATE-001", "/currency"), ("REF-RATE-002", "/month"), ("REF-RATE-003", "/rate")]),
        ("USD", "November", Decimal("NaN"), [("REF-RATE-002", "/month"), ("REF-RATE-003", "/rate")]),
    ],
    ids=["unknown-currency-month-13-negative", "lowercase-one-digit-month-zero", "month-name-not-a-number"],
)
def test_setting_a_rate_reports_every_problem_at_once_and_changes_nothing(
    ref_rt: Runtime, currency: str, month: str, rate: Decimal, expected: list[tuple[str, str]]
) -> None:
    rates, journal = _count(ref_rt, ExchangeRate), _count(ref_rt, AuditEntry)

    with pytest.raises(ValidationFailed) as refused:
        _set_rate(ref_rt, currency, month, rate)

    assert [(p.code, p.pointer) for p in refused.value.problems] == expected
    assert (_count(ref_rt, ExchangeRate), _count(ref_rt, AuditEntry)) == (rates, journal)


def test_a_rate_set_for_a_month_is_the_rate_of_every_day_of_that_month_and_can_be_corrected(ref_rt: Runtime) -> None:
    assert _rate_for(ref_rt, "USD", NOW.date()) == Decimal("7.1200")  # built-in
    with pytest.raises(NotFound) as missing:
        _rate_for(ref_rt, "USD", date(2031, 5, 1))
    assert (missing.value.code, missing.value.detail) == ("rate_missing", "No customs exchange rate for USD in 2031-05.")

    _set_rate(ref_rt, "USD", "2031-05", Decimal("7.2345"))
    _set_rate(ref_rt, "USD", "2031-05", Decimal("7.2400"))

    assert [_rate_for(ref_rt, "USD", date(2031, 5, d)) for d in (1, 31)] == [Decimal("7.2400")] * 2
    with pytest.raises(NotFound):
        _rate_for(ref_rt, "USD", date(2031, 6, 1))
    assert _count(ref_rt, ExchangeRate, ExchangeRate.month == "2031-05") == 1
    with ref_rt.read() as s:
        journal = s.execute(
            select(AuditEntry.before, AuditEntry.after).where(AuditEntry.subject_id == "USD:2031-05").order_by(AuditEntry.id)
        )
        assert [tuple(r) for r in journal] == [(None, {"rate": "7.2345"}), ({"rate": "7.2345"}, {"rate": "7.2400"})]
