"""Pure duty assessment: customs value in CNY, the rate that applies, duty, consumption tax and VAT per item.

Decimal throughout; `fen` (half-up to 0.01 CNY, `kit.types.round_money`) is the one place an amount
is rounded. Totals are sums of the rounded items; a tax whose declaration total is under the
threshold is waived.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from smartcustoms.errors import Problem
from smartcustoms.kit.types import round_money as fen

RateKind = Literal["preferential", "provisional", "mfn", "general"]
TAXES = ("duty", "consumption_tax", "vat")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
# Incoterms whose price includes neither freight nor insurance (both added), or freight only (insurance added);
# the others (CIF, CIP, DAP, DPU, DDP) include both.
NO_FREIGHT = frozenset({"EXW", "FCA", "FAS", "FOB"})
FREIGHT_ONLY = frozenset({"CFR", "CPT"})


@dataclass(frozen=True)
class Preference:
    """A preferential rate (percent) of an agreement for goods of the listed origins."""

    agreement: str
    origins: frozenset[str]
    rate: Decimal


@dataclass(frozen=True)
class Rates:
    """The rates of a tariff line (percent; specific in CNY per `specific_unit`); None: no such rate."""

    code: str
    mfn: Decimal | None = None
    general: Decimal | None = None
    provisional: Decimal | None = None
    specific: Decimal | None = None
    specific_unit: str | None = None
    consumption: Decimal | None = None
    vat: Decimal | None = None
    preferences: tuple[Preference, ...] = ()


@dataclass(frozen=True)
class Item:
    """A declared item: value in the declaration's currency, quantity in `unit`, its origin and tariff rates (None: no line)."""

    line: int
    value: Decimal
    quantity: Decimal
    unit: str
    origin: str
    rates: Rates | None
    net_mass_kg: Decimal | None = None


@dataclass(frozen=True)
class Goods:
    """What an assessment needs of a declaration, with the exchange rate (CNY per unit of its currency) already looked up."""

    incoterm: str
    exchange_rate: Decimal
    freight: Decimal | None
    insurance: Decimal | None
    certificate_of_origin: bool
    items: Sequence[Item]
    without_mfn: frozenset[str] = frozenset()  # origins without MFN treatment: general rate
    threshold: Decimal = Decimal("50.00")


@dataclass(frozen=True)
class ItemDuty:
    """One item's assessment (amounts in CNY, rounded to the fen)."""

    line: int
    customs_value: Decimal
    rate_kind: RateKind
    rate: Decimal  # the ad valorem rate applied, percent
    agreement: str | None
    duty: Decimal
    consumption_tax: Decimal
    vat: Decimal


@dataclass(frozen=True)
class Assessment:
    """A declaration's duties: items, totals after waivers, and the waived taxes with their amounts."""

    items: tuple[ItemDuty, ...]
    totals: dict[str, Decimal]
    waived: dict[str, Decimal]


class DutyProblems(Exception):
    """The declaration cannot be assessed; every problem with a pointer."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def additions(goods: Goods) -> tuple[Decimal, list[Problem]]:
    """Freight and insurance to add to the price under the incoterm (declaration currency), or the problems of missing ones."""
    term = goods.incoterm.upper()
    need = ("freight", "insurance") if term in NO_FREIGHT else ("insurance",) if term in FREIGHT_ONLY else ()
    total, problems = ZERO, []
    for name in need:
        amount = getattr(goods, name)
        if amount is None:
            problems.append(Problem("DUT-VAL-001", f"/{name}", f"Under {term} the {name} is added to the customs value; declare it."))
        else:
            total += amount
    return total, problems


def choose(rates: Rates, origin: str, *, certificate: bool, without_mfn: frozenset[str]) -> tuple[RateKind, Decimal | None, str | None]:
    """The kind of rate that applies, the rate (None: the line has none of that kind) and the agreement if preferential."""
    if origin in without_mfn:
        return "general", rates.general, None
    if certificate:
        for p in rates.preferences:
            if origin in p.origins:
                return "preferential", p.rate, p.agreement
    if rates.provisional is not None:
        return "provisional", rates.provisional, None
    return "mfn", rates.mfn, None


def _quantity(item: Item, unit: str) -> Decimal | None:
    if item.unit == unit:
        return item.quantity
    if unit == "KGM" and item.net_mass_kg is not None:
        return item.net_mass_kg
    return None


def taxes(value: Decimal, rates: Rates, kind_rate: Decimal | None, quantity: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """Duty, consumption tax and VAT of one item of customs value `value` (CNY), each rounded to the fen."""
    duty = fen(value * (kind_rate or ZERO) / HUNDRED + quantity * (rates.specific or ZERO))
    consumption = ZERO
    if rates.consumption:
        c = rates.consumption / HUNDRED
        consumption = fen((value + duty) / (1 - c) * c)
    vat = fen((value + duty + consumption) * (rates.vat or ZERO) / HUNDRED)
    return duty, consumption, vat


def assess(goods: Goods) -> Assessment:
    """Assess every item; DutyProblems lists every item that cannot be (missing freight, rate or quantity unit)."""
    added, problems = additions(goods)
    base = sum((i.value for i in goods.items), ZERO)
    out: list[ItemDuty] = []
    for n, item in enumerate(goods.items):
        where = f"/items/{n}"
        if item.rates is None:
            problems.append(Problem("DUT-RATE-001", f"{where}/hs_code", f"Line {item.line}: no tariff line in force for its code."))
            continue
        kind, rate, agreement = choose(item.rates, item.origin, certificate=goods.certificate_of_origin, without_mfn=goods.without_mfn)
        if rate is None and item.rates.specific is None:
            problems.append(
                Problem("DUT-RATE-002", f"{where}/hs_code", f"Line {item.line}: tariff line {item.rates.code} has no {kind} rate.")
            )
            continue
        quantity = ZERO
        if item.rates.specific is not None:
            unit = item.rates.specific_unit or ""
            found = _quantity(item, unit)
            if found is None:
                problems.append(
                    Problem(
                        "DUT-QTY-001",
                        f"{where}/unit",
                        f"Line {item.line}: the specific duty is per {unit}; declare the quantity in {unit}.",
                    )
                )
                continue
            quantity = found
        share = added * item.value / base if base else ZERO
        value = fen((item.value + share) * goods.exchange_rate)
        duty, consumption, vat = taxes(value, item.rates, rate, quantity)
        out.append(ItemDuty(item.line, value, kind, rate or ZERO, agreement, duty, consumption, vat))
    if problems:
        raise DutyProblems(problems)
    sums = {t: sum((getattr(i, t) for i in out), ZERO) for t in TAXES}
    waived = {t: v for t, v in sums.items() if ZERO < v < goods.threshold}
    totals = {t: ZERO if t in waived else v for t, v in sums.items()}
    totals["total"] = sum(totals.values(), ZERO)
    return Assessment(tuple(out), totals, waived)


ASSESSED_ON = ("quantity", "unit", "value", "origin", "hs_code", "net_mass_kg")  # what of an item the duties depend on


def goods_differ(declared: Mapping[str, Any], found: Mapping[str, Any]) -> bool:
    """Whether the goods as found differ from those declared in anything the duties are assessed on."""

    def key(p: Mapping[str, Any]) -> list[tuple[str, ...]]:
        return [tuple(str(i.get(k, "")) for k in ASSESSED_ON) for i in p.get("items") or []]

    return key(declared) != key(found)
