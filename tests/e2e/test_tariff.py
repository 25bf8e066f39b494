"""Tariff schedules: all-or-nothing loads with line numbers, new periods keep old rates for earlier days, longest code (both databases)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from smartcustoms.errors import ValidationFailed
from smartcustoms.runtime import Runtime
from smartcustoms.tariff import service
from smartcustoms.tariff.models import TariffLine
from tests.conftest import NOW, OPERATOR, World

HEADER = "code,description,mfn_rate,general_rate,provisional_rate,specific_rate,specific_unit,consumption_rate,vat_rate,licence,valid_from,valid_to\n"


def test_a_bad_row_loads_nothing_and_names_its_line(rt: Runtime) -> None:
    text = HEADER + "85171300,Phones,0,30,,,,,13,,2026-01-01,\n8517,Short,0,,,,,,13,,2026-01-01,\n85423100,Chips,120,,,,,,13,,2026-01-01,\n"
    with pytest.raises(ValidationFailed) as caught, rt.write() as s:
        service.load_schedule(s, text=text, source="t", actor=OPERATOR, now=NOW)
    got = [(p.code, p.pointer) for p in caught.value.problems]
    assert got == [("TAR-CSV-002", "/line/3/code"), ("TAR-CSV-004", "/line/4/mfn_rate")]
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(TariffLine)) == 0


def test_a_new_period_keeps_old_rates_for_earlier_days_and_the_longest_code_wins(rt: Runtime, client: TestClient, world: World) -> None:
    with rt.write() as s:
        s.execute(delete(TariffLine))  # without the world's SAMPLE schedule: only this test's periods
        service.load_schedule(s, text=HEADER + "85076000,Accumulators,10,40,,,,,13,,2026-01-01,\n", source="a", actor=OPERATOR, now=NOW)
        out = service.load_schedule(
            s,
            text=HEADER + "85076000,Accumulators,8,40,,,,,13,,2026-07-01,\n8507600090,Packs,10,40,6,,,,13,,2026-07-01,\n",
            source="b",
            actor=OPERATOR,
            now=NOW,
        )
    assert (out.added, out.closed) == (2, 1)
    with rt.read() as s:
        before = service.rates_on(s, code="8507600090", on=date(2026, 6, 30))
        after = service.rates_on(s, code="8507600090", on=date(2026, 7, 1))
        other = service.rates_on(s, code="8507600010", on=date(2026, 7, 1))
    assert before is not None and (before.line.code, before.line.mfn_rate, before.line.valid_to) == ("85076000", 10, date(2026, 6, 30))
    assert after is not None and (after.line.code, after.line.provisional_rate) == ("8507600090", 6)
    assert other is not None and (other.line.code, other.line.mfn_rate) == ("85076000", 8)
    h = world.headers("importer")
    r = client.get("/api/v1/tariff/8507600090", params={"on": "2026-08-01"}, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["code"], r.json()["rates"]["provisional"], r.json()["rates"]["vat"]) == ("8507600090", "6", "13")
    assert client.get("/api/v1/tariff/8507600090", params={"on": "2026-03-01"}, headers=h).json()["rates"]["mfn"] == "10"
    missing = client.get("/api/v1/tariff/9999999999", headers=h)
    assert (missing.status_code, missing.json()["code"]) == (404, "tariff_code_unknown")
    assert client.get("/api/v1/tariff/85x", headers=h).status_code == 422
    assert client.get("/api/v1/tariff/85076000").status_code == 401


def test_preferences_load_and_are_answered_with_the_line(rt: Runtime, client: TestClient, world: World) -> None:
    with rt.write() as s:
        service.load_sample(s, actor=OPERATOR, now=NOW)
        with pytest.raises(ValidationFailed) as caught:
            service.load_preferences(
                s,
                text="code,agreement,origins,rate,valid_from,valid_to\n62034200,ACFTA,vietnam,0,2026-01-01,\n",
                source="x",
                actor=OPERATOR,
                now=NOW,
            )
    assert [p.pointer for p in caught.value.problems] == ["/line/2/origins"]
    r = client.get("/api/v1/tariff/6203420000", params={"on": "2026-11-25"}, headers=world.headers("broker")).json()
    assert r["description"].startswith("SAMPLE DATA")
    assert [(p["agreement"], "VN" in p["origins"], p["rate"]) for p in r["preferences"]] == [("ACFTA", True, "0")]
