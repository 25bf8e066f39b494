"""Importing labelled history from CSV with a TOML mapping: renamed columns, extras, rejected rows
with their line and reason, idempotent re-import, progress, and the facts frame read back."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.errors import ValidationFailed
from smartcustoms.risk.history import service as history
from smartcustoms.risk.history.models import HistoryRecord
from smartcustoms.risk.model.models import RiskModel
from smartcustoms.runtime import Runtime
from tests.conftest import OPERATOR

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MAPPING = """
[columns]
declaration_id = "ID"
declared_on = "DATE"
office = "CUSTOMS_OFFICE"
declarant_id = "BROKER"
importer_id = "IMPORTER"
consignor_id = "SHIPPER"
carrier_id = "SCAC"
hs_code = "HS"
origin_country = "ORIGIN"
departure_country = "FROM"
transport_mode = "MODE"
quantity = "QTY"
net_mass_kg = "KG"
value = "VALUE_USD"
duty_rate = "DUTY"
label_fraud = "FRAUD"
label_critical = "CRITICAL"
revenue_recovered = "RECOVERED"

[extra_categorical]
channel = "CHANNEL"

[extra_numeric]
freight = "FREIGHT"

[options]
source = "legacy-2025"
"""
HEADER = [
    "ID",
    "DATE",
    "CUSTOMS_OFFICE",
    "BROKER",
    "IMPORTER",
    "SHIPPER",
    "SCAC",
    "HS",
    "ORIGIN",
    "FROM",
    "MODE",
    "QTY",
    "KG",
    "VALUE_USD",
    "DUTY",
    "FRAUD",
    "CRITICAL",
    "RECOVERED",
    "CHANNEL",
    "FREIGHT",
]


def _good(i: int, **over: Any) -> dict[str, Any]:
    row = {
        "ID": f"D{i:05d}",
        "DATE": f"2025-03-{1 + i % 28:02d}",
        "CUSTOMS_OFFICE": "2248",
        "BROKER": "91310000MA1FL8XX29",
        "IMPORTER": f"IMP{i % 7}",
        "SHIPPER": "Pacific  Trading 12",
        "SCAC": "MAEU",
        "HS": "8517130000",
        "ORIGIN": "VN",
        "FROM": "SG",
        "MODE": "sea",
        "QTY": "100",
        "KG": "22.5",
        "VALUE_USD": "18000.00",
        "DUTY": "0.0000",
        "FRAUD": "0",
        "CRITICAL": "0",
        "RECOVERED": "",
        "CHANNEL": "green",
        "FREIGHT": "120.5",
    }
    row.update(over)
    return row


def _write(path: Path, rows: list[dict[str, Any]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(autouse=True)
def _empty_history(rt: Runtime) -> None:
    with rt.write() as s:  # PostgreSQL keeps rows between tests unless told
        s.execute(delete(HistoryRecord))
        s.execute(delete(RiskModel))


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    p = tmp_path / "map.toml"
    p.write_text(MAPPING, encoding="utf-8")
    return p


def _import(rt: Runtime, csv_path: Path, mapping: Path, **kw: Any) -> history.ImportReport:
    with rt.write() as s:
        return history.import_history(s, path=csv_path, mapping_path=mapping, actor=OPERATOR, now=NOW, **kw)


def test_renamed_columns_and_extras_are_stored_in_the_canonical_format(rt: Runtime, tmp_path: Path, mapping: Path) -> None:
    path = _write(tmp_path / "h.csv", [_good(1), _good(2, FRAUD="1", CRITICAL="2", RECOVERED="", CHANNEL="", FREIGHT="")])
    report = _import(rt, path, mapping)
    assert (report.source, report.read, report.rejected, report.stored, report.skipped) == ("legacy-2025", 2, [], 2, 0)
    with rt.read() as s:
        rows = s.scalars(select(HistoryRecord).order_by(HistoryRecord.declaration_id)).all()
        r = rows[0]
        assert (r.source, r.declaration_id, r.declared_on, r.importer_id, r.hs_code, r.origin_country, r.departure_country) == (
            "legacy-2025",
            "D00001",
            date(2025, 3, 2),
            "IMP1",
            "8517130000",
            "VN",
            "SG",
        )
        assert (r.quantity, r.net_mass_kg, r.value, r.duty_rate, r.label_fraud, r.label_critical, r.revenue_recovered) == (
            100.0,
            22.5,
            18000.0,
            0.0,
            0,
            0,
            None,
        )
        assert r.extras == {"channel": "green", "freight": 120.5}
        assert rows[1].extras == {"channel": None, "freight": None}
        assert (rows[1].label_fraud, rows[1].label_critical) == (1, 2)


def test_the_history_reads_back_as_a_facts_frame(rt: Runtime, tmp_path: Path, mapping: Path) -> None:
    _import(rt, _write(tmp_path / "h.csv", [_good(1), _good(2), _good(30, DATE="2025-04-01")]), mapping)
    with rt.read() as s:
        df = history.frame(s, date_to=date(2025, 4, 1))
    assert len(df) == 2
    r = df.iloc[0]
    assert (r["importer"], r["declarant"], r["consignor"], r["carrier"], r["origin"], r["departure_country"]) == (
        "IMP1",
        "91310000MA1FL8XX29",
        "PACIFIC TRADING 12",
        "MAEU",
        "VN",
        "SG",
    )
    assert (r["hs_code"], r["hs6"], r["hs4"], r["hs2"], r["office"], r["transport_mode"]) == (
        "8517130000",
        "851713",
        "8517",
        "85",
        "2248",
        "sea",
    )
    assert (r["unit_price"], r["kg_price"], r["kg_per_unit"]) == (180.0, 800.0, 0.225)
    assert (r["label_fraud"], r["label_critical"], r["revenue_recovered"], r["channel"], r["freight"]) == (0, 0, 0.0, "green", 120.5)
    assert df["importer_declarations"].tolist() == [0, 0] and df["importer_first"].tolist() == [True, True]
    assert {"reference_price", "price_ratio", "consignor_watchlisted", "prohibited"} <= set(df.columns)
    with rt.read() as s:
        later = history.frame(s, date_from=date(2025, 4, 1))
    assert later["declaration_id"].tolist() == ["D00030"] and later["importer_declarations"].tolist() == [1]  # IMP2 declared D00002 before


def test_bad_rows_are_rejected_with_their_line_and_reason(rt: Runtime, tmp_path: Path, mapping: Path) -> None:
    rows = [
        _good(1),
        _good(2, HS="85AB13"),
        _good(3, DATE="03/04/2025"),
        _good(4, QTY="-5"),
        _good(5, VALUE_USD="lots"),
        _good(6, FRAUD="yes"),
        _good(7, CRITICAL="3", FRAUD="1"),
        _good(8, CRITICAL="1"),
        _good(9, ORIGIN="vn"),
        _good(10, IMPORTER=""),
        _good(11, DUTY="12.5"),
        _good(12, FREIGHT="n/a"),
        _good(1),
        _good(13),
    ]
    report = _import(rt, _write(tmp_path / "h.csv", rows), mapping)
    assert report.rejected == [
        (3, "hs_code '85AB13' is not 6, 8 or 10 digits"),
        (4, "declared_on '03/04/2025' is not a date written YYYY-MM-DD"),
        (5, "quantity '-5' must be more than 0"),
        (6, "value 'lots' is not a number"),
        (7, "label_fraud 'yes' is not 0 or 1"),
        (8, "label_critical '3' is not 0, 1 or 2"),
        (9, "label_critical 1 needs label_fraud 1"),
        (10, "origin_country 'vn' is not a two-letter ISO country code in capitals"),
        (11, "importer_id is empty"),
        (12, "duty_rate '12.5' is more than 10: rates are fractions (0.15 for 15 %); for percentages map {column = ..., scale = 0.01}"),
        (13, "freight 'n/a' is not a number"),
        (14, "declaration_id 'D00001' repeats line 2"),
    ]
    assert (report.read, report.stored) == (14, 2)
    assert report.as_dict()["reasons"][0] == {"reason": "hs_code is not 6, 8 or 10 digits", "rows": 1, "lines": [3]}


def test_rejections_are_summed_up_by_reason_with_counts_and_the_first_lines(rt: Runtime, tmp_path: Path, mapping: Path) -> None:
    rows = [_good(i, QTY="0") for i in range(1, 41)] + [_good(41, ORIGIN="vn"), _good(42, ORIGIN="xx"), _good(43)]
    report = _import(rt, _write(tmp_path / "h.csv", rows), mapping)
    assert report.summary() == [
        {"reason": "quantity must be more than 0", "rows": 40, "lines": [2, 3, 4, 5, 6]},
        {"reason": "origin_country is not a two-letter ISO code in capitals", "rows": 2, "lines": [42, 43]},
    ]
    assert len(report.rejected) == 42 and report.stored == 1


def test_a_dataset_without_quantity_and_with_rates_in_percent_imports_with_scale_and_defaults(rt: Runtime, tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "QTY"]
    rows = [{k: v for k, v in _good(i, DUTY=d).items() if k != "QTY"} for i, d in ((1, "8"), (2, "650"), (3, "1000"), (4, "1000.5"))]
    rows[0]["CUSTOMS_OFFICE"] = ""
    path = _write(tmp_path / "h.csv", rows, header)
    no_qty = (
        MAPPING.replace('quantity = "QTY"\n', "")
        .replace(
            'duty_rate = "DUTY"', 'duty_rate = {column = "DUTY", scale = 0.01}\noffice = {column = "CUSTOMS_OFFICE", default = "9999"}'
        )
        .replace('office = "CUSTOMS_OFFICE"\n', "")
    )
    (m1 := tmp_path / "pct.toml").write_text(no_qty, encoding="utf-8")
    report = _import(rt, path, m1)
    assert report.rejected == [
        (
            5,
            "duty_rate '1000.5' (scaled by 0.01) is more than 10: rates are fractions (0.15 for 15 %); "
            "for percentages map {column = ..., scale = 0.01}",
        )
    ]
    with rt.read() as s:
        stored = s.execute(
            select(HistoryRecord.declaration_id, HistoryRecord.quantity, HistoryRecord.duty_rate, HistoryRecord.office).order_by(
                HistoryRecord.declaration_id
            )
        ).all()
        df = history.frame(s)
    assert [(d, q, round(r, 6), o) for d, q, r, o in stored] == [
        ("D00001", None, 0.08, "9999"),
        ("D00002", None, 6.5, "2248"),
        ("D00003", None, 10.0, "2248"),
    ]
    assert df["quantity"].isna().all() and df["unit_price"].isna().all()  # features that need a quantity are missing
    fixed = no_qty.replace("[columns]", "[columns]\nquantity = {value = 1}").replace('source = "legacy-2025"', 'source = "fixed-qty"')
    (m2 := tmp_path / "one.toml").write_text(fixed, encoding="utf-8")
    _import(rt, path, m2)
    with rt.read() as s:
        assert set(s.scalars(select(HistoryRecord.quantity).where(HistoryRecord.source == "fixed-qty"))) == {1.0}


@pytest.mark.parametrize(
    ("entry", "pointer"),
    [
        ('{column = "DUTY", scale = -1}', "/columns/duty_rate/scale"),
        ('{column = "DUTY", scale = 0.01, value = 1}', "/columns/duty_rate"),
        ('{column = "DUTY", factor = 2}', "/columns/duty_rate/factor"),
        ("{scale = 0.01}", "/columns/duty_rate/column"),
    ],
)
def test_a_bad_column_table_is_refused(tmp_path: Path, entry: str, pointer: str) -> None:
    (p := tmp_path / "m.toml").write_text(MAPPING.replace('duty_rate = "DUTY"', f"duty_rate = {entry}"), encoding="utf-8")
    with pytest.raises(ValidationFailed) as exc:
        history.load_mapping(p)
    assert pointer in [pr.pointer for pr in exc.value.problems]


def test_importing_the_same_file_again_stores_nothing_and_updates_nothing(rt: Runtime, tmp_path: Path, mapping: Path) -> None:
    path = _write(tmp_path / "h.csv", [_good(i) for i in range(1, 6)])
    first = _import(rt, path, mapping)
    _write(path, [_good(i, VALUE_USD="1.00") for i in range(1, 6)] + [_good(6)])
    again = _import(rt, path, mapping)
    assert (first.stored, first.skipped) == (5, 0)
    assert (again.read, again.stored, again.skipped, again.rejected) == (6, 1, 5, [])
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(HistoryRecord)) == 6
        assert s.scalar(select(HistoryRecord.value).where(HistoryRecord.declaration_id == "D00001")) == 18000.0
        journal = s.scalars(select(AuditEntry).where(AuditEntry.action == "risk_history.imported").order_by(AuditEntry.id)).all()
    assert [(e.subject_id, e.after["stored"], e.after["skipped"]) for e in journal] == [("legacy-2025", 5, 0), ("legacy-2025", 1, 5)]


def test_the_source_defaults_to_the_file_name(rt: Runtime, tmp_path: Path, mapping: Path) -> None:
    mapping.write_text(MAPPING.replace('source = "legacy-2025"', ""), encoding="utf-8")
    report = _import(rt, _write(tmp_path / "customs 2025.csv", [_good(1)]), mapping)
    assert report.source == "import:customs 2025.csv"


def test_progress_is_reported_while_importing(rt: Runtime, tmp_path: Path, mapping: Path) -> None:
    calls: list[tuple[int, int]] = []
    path = _write(tmp_path / "h.csv", [_good(i) for i in range(2500)])
    report = _import(rt, path, mapping, progress=lambda done, total: calls.append((done, total)))
    assert report.stored == 2500
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]


@pytest.mark.parametrize(
    ("text", "header", "problems"),
    [
        (
            "[columns]\nid = 'ID'\n",
            HEADER,
            [("RSK-HIS-003", "/columns/id")] + [("RSK-HIS-005", f"/columns/{f}") for f in sorted(history.REQUIRED)],
        ),
        (MAPPING.replace('channel = "CHANNEL"', 'value = "CHANNEL"'), HEADER, [("RSK-HIS-006", "/extra_categorical/value")]),
        ("[columns\n", HEADER, [("RSK-HIS-001", "/mapping")]),
        (MAPPING, [h for h in HEADER if h != "HS"], [("RSK-HIS-009", "/columns/hs_code")]),
    ],
    ids=["unknown and missing fields", "extra named like a canonical field", "not TOML", "CSV lacks a mapped column"],
)
def test_a_bad_mapping_is_refused_with_every_problem(
    rt: Runtime, tmp_path: Path, text: str, header: list[str], problems: list[tuple[str, str]]
) -> None:
    mp = tmp_path / "bad.toml"
    mp.write_text(text, encoding="utf-8")
    path = _write(tmp_path / "h.csv", [{k: v for k, v in _good(1).items() if k in header}], header)
    with pytest.raises(ValidationFailed) as err:
        _import(rt, path, mp)
    assert [(p.code, p.pointer) for p in err.value.problems] == problems
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(HistoryRecord)) == 0


def test_an_outcome_adds_a_learning_row_and_a_correction_replaces_it(rt: Runtime) -> None:
    facts = {
        "office": "2248",
        "declarant": "B",
        "importer": "I",
        "consignor": "ACME",
        "carrier": "MAEU",
        "hs_code": "8517130000",
        "origin": "VN",
        "departure_country": "VN",
        "transport_mode": "sea",
        "quantity": 10.0,
        "value": 1800.0,
        "net_mass_kg": 2.2,
        "importer_credit": "general",
    }
    with rt.write() as s:
        history.record_outcome_row(
            s,
            declaration_id="224820261000000301/1",
            declared_on=date(2026, 11, 2),
            facts=facts,
            label_fraud=True,
            label_critical=1,
            revenue_recovered=120.0,
            now=NOW,
        )
    with rt.write() as s:
        history.record_outcome_row(
            s,
            declaration_id="224820261000000301/1",
            declared_on=date(2026, 11, 2),
            facts=facts,
            label_fraud=False,
            label_critical=0,
            revenue_recovered=0.0,
            now=NOW,
        )
    with rt.read() as s:
        rows = s.scalars(select(HistoryRecord)).all()
        df = history.frame(s)
    assert [(r.source, r.label_fraud, r.revenue_recovered, r.extras) for r in rows] == [("outcome", 0, 0.0, {"importer_credit": "general"})]
    assert df["importer_credit"].tolist() == ["general"]


@pytest.mark.parametrize("profile", ["wide", "date"])
def test_the_simulated_markets_import_whole_with_their_example_mappings(rt: Runtime, tmp_path: Path, profile: str) -> None:
    from smartcustoms.risk import market

    path = tmp_path / f"{profile}.csv"
    columns = market.generate(400, seed=7, start_on=date(2020, 1, 1), days=60, profile=profile)
    market.write_csv(path, columns)
    report = _import(rt, path, Path(__file__).resolve().parents[2] / "docs" / "examples" / f"{profile}-history.toml")
    assert report.rejected == [] and report.stored == 400
    with rt.read() as s:
        df = history.frame(s, knowledge=False)
    assert df["quantity"].isna().all() and df["hs6"].str.len().eq(6).all()
    assert set(df["process_type"]) == set(columns["Process Type"])  # the extras come along
    assert int(df["label_fraud"].sum()) == int(columns["Fraud"].astype(int).sum())
