"""Table-driven duty cases (duty/cases.yaml): each rate kind, preferences, specific and compound duties,
missing rates, conversion, allocation, rounding and the waiver threshold."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from smartcustoms.duty import domain

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "cases.yaml").read_text(encoding="utf-8"))


def _dec(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def rates_of(raw: dict[str, Any] | None) -> domain.Rates | None:
    """Rates from a case's mapping (strings for numbers)."""
    if raw is None:
        return None
    prefs = tuple(domain.Preference(p["agreement"], frozenset(p["origins"]), Decimal(p["rate"])) for p in raw.get("preferences", []))
    keys = ("mfn", "general", "provisional", "specific", "consumption", "vat")
    return domain.Rates(code=raw["code"], specific_unit=raw.get("specific_unit"), preferences=prefs, **{k: _dec(raw.get(k)) for k in keys})


def goods_of(raw: dict[str, Any]) -> domain.Goods:
    """Goods from a case's input."""
    items = [
        domain.Item(
            line=i["line"],
            value=Decimal(i["value"]),
            quantity=Decimal(i["quantity"]),
            unit=i["unit"],
            origin=i["origin"],
            rates=rates_of(i["rates"]),
            net_mass_kg=_dec(i.get("net_mass_kg")),
        )
        for i in raw["items"]
    ]
    return domain.Goods(
        incoterm=raw["incoterm"],
        exchange_rate=Decimal(raw["exchange_rate"]),
        freight=_dec(raw.get("freight")),
        insurance=_dec(raw.get("insurance")),
        certificate_of_origin=bool(raw.get("certificate_of_origin", False)),
        items=items,
        without_mfn=frozenset(raw.get("without_mfn", [])),
        threshold=Decimal(raw.get("threshold", "50.00")),
    )


def as_output(a: domain.Assessment) -> dict[str, Any]:
    """An assessment in the cases' shape: amounts as strings with two decimals."""
    return {
        "items": [
            {
                "line": i.line,
                "customs_value": str(i.customs_value),
                "rate_kind": i.rate_kind,
                "duty": str(i.duty),
                "consumption_tax": str(i.consumption_tax),
                "vat": str(i.vat),
            }
            for i in a.items
        ],
        "totals": {k: str(v) for k, v in a.totals.items()},
        "waived": {k: str(v) for k, v in a.waived.items()},
    }


def test_the_cases_cover_every_rate_kind_and_error() -> None:
    kinds = {i["rate_kind"] for c in CASES if "output" in c for i in c["output"]["items"]}
    errors = {e["code"] for c in CASES for e in c.get("errors", [])}
    assert kinds == {"preferential", "provisional", "mfn", "general"}
    assert errors == {"DUT-RATE-001", "DUT-RATE-002", "DUT-QTY-001", "DUT-VAL-001"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_duty_case(case: dict[str, Any]) -> None:
    goods = goods_of(case["input"])
    if "errors" in case:
        with pytest.raises(domain.DutyProblems) as caught:
            domain.assess(goods)
        assert [{"code": p.code, "pointer": p.pointer} for p in caught.value.problems] == case["errors"]
    else:
        assert as_output(domain.assess(goods)) == case["output"]
