"""A trade simulator with ground truth: enterprises with histories, seasonal flows, injected fraud.

Pure and seeded: the same arguments give the same trade. Each declaration comes with the truth
(pattern, fraud and criticality labels, revenue a check would recover), so tests, the demo and
benchmarks can measure what the risk engine catches.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from stdnum import iso6346
from stdnum.cn import uscc as stdnum_uscc

from smartcustoms.risk.history.mapping import CANONICAL

PATTERNS = ("undervaluation", "misclassification", "origin", "quantity", "prohibited")
# How often each pattern is chosen when the goods allow it (renormalised over the applicable ones).
PATTERN_WEIGHTS = {"undervaluation": 0.30, "misclassification": 0.18, "origin": 0.18, "quantity": 0.18, "prohibited": 0.16}


@dataclass(frozen=True)
class Good:
    """A commodity as traded: HS code, description, unit, price, mass, duty rate, usual origins."""

    hs: str
    description: str
    unit: str
    price: float  # USD per unit
    kg: float  # net kg per unit
    duty: float  # ad valorem rate
    origins: tuple[str, ...]
    lot: tuple[int, int]  # typical quantity range


GOODS: tuple[Good, ...] = (
    Good("8517130000", "Smartphones, 6.1 inch, 128 GB", "PCE", 180, 0.22, 0.0, ("VN", "KR", "IN", "US"), (200, 3000)),
    Good("8471300000", "Laptop computers, 14 inch", "PCE", 420, 1.6, 0.0, ("VN", "TW", "US", "MY"), (50, 800)),
    Good("8542310000", "Microprocessors", "PCE", 95, 0.01, 0.0, ("TW", "KR", "US", "MY"), (500, 20000)),
    Good("8703800000", "Electric passenger cars", "PCE", 38000, 1900, 0.15, ("DE", "US", "JP"), (2, 40)),
    Good("8703230000", "Passenger cars, petrol engine 1500-3000 cc", "PCE", 32000, 1500, 0.15, ("DE", "JP", "US"), (2, 40)),
    Good("2204210000", "Red wine in bottles of 0.75 l", "LTR", 6, 1.3, 0.14, ("FR", "AU", "CL", "IT", "ES"), (900, 20000)),
    Good("2208300000", "Scotch whisky", "LTR", 22, 1.4, 0.10, ("GB",), (300, 6000)),
    Good("0306170000", "Frozen shrimps and prawns", "KGM", 7.8, 1, 0.05, ("EC", "IN", "VN"), (5000, 26000)),
    Good("0202300000", "Frozen boneless beef", "KGM", 6.5, 1, 0.12, ("BR", "AR", "AU", "UY"), (10000, 27000)),
    Good("1201900000", "Soya beans", "KGM", 0.5, 1, 0.03, ("BR", "US", "AR"), (200000, 2000000)),
    Good("3004900000", "Medicaments, packaged for retail sale", "KGM", 85, 1, 0.03, ("DE", "CH", "US", "FR"), (50, 2000)),
    Good("3304990000", "Skin-care cosmetics", "KGM", 40, 1, 0.05, ("FR", "KR", "JP", "US"), (100, 3000)),
    Good("6109100000", "Cotton T-shirts, knitted", "PCE", 2.5, 0.18, 0.06, ("BD", "VN", "KH"), (2000, 30000)),
    Good("6203420000", "Men's cotton trousers", "PCE", 7, 0.45, 0.07, ("VN", "BD", "PK"), (1000, 15000)),
    Good("6403990000", "Leather footwear", "PR", 18, 0.9, 0.10, ("VN", "IT", "ID"), (500, 8000)),
    Good("9018900000", "Medical instruments", "PCE", 310, 2.1, 0.04, ("US", "DE", "JP"), (20, 500)),
    Good("9102110000", "Wrist watches, electrically operated", "PCE", 120, 0.1, 0.10, ("CH", "JP"), (100, 3000)),
    Good("4901990000", "Printed books", "PCE", 6, 0.4, 0.0, ("US", "GB", "DE"), (100, 5000)),
    Good("8507600090", "Lithium-ion battery packs", "PCE", 6, 0.05, 0.10, ("KR", "JP", "VN"), (1000, 30000)),
    Good("7403110000", "Refined copper cathodes", "KGM", 8.5, 1, 0.02, ("CL", "PE", "ZM"), (20000, 100000)),
    Good("2601110000", "Iron ore, non-agglomerated", "KGM", 0.12, 1, 0.0, ("AU", "BR"), (1000000, 9000000)),
    Good("9403600000", "Wooden furniture", "PCE", 150, 25, 0.0, ("VN", "MY", "IT"), (20, 600)),
    Good("8528720000", "Colour television receivers", "PCE", 300, 12, 0.15, ("KR", "JP", "MY"), (50, 1500)),
    Good("4011100000", "New pneumatic tyres for cars", "PCE", 45, 9, 0.10, ("TH", "JP", "DE"), (200, 4000)),
    Good("0805100000", "Fresh oranges", "KGM", 1.1, 1, 0.11, ("US", "ZA", "EG"), (10000, 26000)),
    Good("1806320000", "Chocolate in bars", "KGM", 9, 1, 0.08, ("BE", "CH", "IT"), (500, 10000)),
    Good("9503000000", "Toys", "PCE", 4, 0.3, 0.0, ("VN", "ID"), (1000, 20000)),
    Good("8544420000", "Insulated electric cables with connectors", "KGM", 12, 1, 0.08, ("JP", "KR", "DE"), (200, 6000)),
    # Honest trade under the lower-duty codes that misclassification hides behind.
    Good("8708999000", "Parts of motor vehicles", "PCE", 48, 6, 0.06, ("DE", "JP", "MX"), (200, 5000)),
    Good("2009890000", "Fruit juice, unfermented", "LTR", 1.6, 1.1, 0.05, ("BR", "ES", "US"), (2000, 24000)),
    Good("8529909000", "Parts of television receivers", "PCE", 14, 0.6, 0.05, ("KR", "MY", "VN"), (500, 10000)),
    Good("6406909000", "Parts of footwear", "KGM", 5.5, 1, 0.06, ("VN", "ID", "IT"), (500, 8000)),
    Good("3307900000", "Perfumery preparations n.e.s.", "KGM", 9, 1, 0.02, ("FR", "KR", "US"), (200, 5000)),
    Good("8507909000", "Parts of electric accumulators", "KGM", 7, 1, 0.05, ("KR", "JP", "DE"), (200, 6000)),
    Good("9114900000", "Clock and watch parts", "KGM", 60, 1, 0.03, ("CH", "JP"), (20, 600)),
)
GOOD_BY_HS = {g.hs: g for g in GOODS}
# Misclassification: the true code, and the lower-duty code a cheat declares instead (rate).
MISCLASSIFY: dict[str, tuple[str, float]] = {
    "8703800000": ("8708999000", 0.06),
    "8703230000": ("8708999000", 0.06),
    "2204210000": ("2009890000", 0.05),
    "8528720000": ("8529909000", 0.05),
    "6403990000": ("6406909000", 0.06),
    "3304990000": ("3307900000", 0.02),
    "8507600090": ("8507909000", 0.05),
    "9102110000": ("9114900000", 0.03),
}
# Origins that carry an extra duty for a chapter, and where a cheat says the goods come from.
SURCHARGE: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {
    ("US", "12"): (0.25, ("CA", "BR")),
    ("US", "87"): (0.25, ("MX", "CA")),
    ("US", "85"): (0.15, ("MX", "MY")),
    ("AU", "22"): (0.2, ("NZ", "CL")),
    ("JP", "85"): (0.1, ("TH", "MY")),
}
# Prohibited or controlled goods hidden in a declaration of ordinary goods.
CONTRABAND: tuple[tuple[str, float], ...] = (
    ("cocaine", 2.0),
    ("ivory", 1.5),
    ("counterfeit watches", 1.3),
    ("undeclared firearms parts", 1.6),
)
HUBS = ("SG", "HK", "AE", "MY")
OFFICES = (("2248", "CNSHA", "sea"), ("0202", "CNTXG", "sea"), ("5316", "CNYTN", "sea"), ("3100", "CNNGB", "sea"), ("2233", "CNPVG", "air"))
CARRIERS = ("MAEU", "COSU", "CMDU", "MSCU", "OOLU", "EGLV", "HLCU", "ONEY")


def make_uscc(rng: random.Random) -> str:
    """A random valid USCC."""
    region = rng.choice(("310000", "120116", "440300", "330200", "370200", "320500", "110105"))
    body = "91" + region + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + stdnum_uscc.calc_check_digit(body)


@dataclass
class SimEnterprise:
    """A simulated importer: identity, credit, how likely it cheats, and from when it trades."""

    uscc: str
    credit: str
    propensity: float
    first_on: date
    goods: tuple[int, ...]
    consignors: tuple[str, ...]
    declared: int = 0


@dataclass
class SimItem:
    """One declared line with its truth."""

    line: int
    hs_code: str
    description: str
    origin: str
    quantity: Decimal
    unit: str
    net_mass_kg: Decimal
    gross_mass_kg: Decimal
    value: Decimal
    duty_rate: float
    pattern: str | None = None
    revenue_at_risk: Decimal = Decimal(0)
    critical: int = 0


@dataclass
class SimDeclaration:
    """One simulated declaration: its facts, its items and the truth about them."""

    declaration_id: str
    declared_on: date
    office: str
    port: str
    transport_mode: str
    declarant: str
    importer: str
    importer_credit: str
    consignor: str
    consignor_country: str
    carrier: str
    departure_country: str
    items: list[SimItem] = field(default_factory=list)

    @property
    def fraud(self) -> bool:
        """Whether any line hides a discrepancy."""
        return any(i.pattern for i in self.items)

    @property
    def critical(self) -> int:
        """0 none, 1 revenue fraud, 2 prohibited goods."""
        return max((i.critical for i in self.items), default=0)

    @property
    def revenue(self) -> Decimal:
        """Duty a check would recover."""
        return sum((i.revenue_at_risk for i in self.items), Decimal(0))

    @property
    def patterns(self) -> list[str]:
        """The fraud patterns present."""
        return sorted({i.pattern for i in self.items if i.pattern})

    def payload(
        self, *, client_reference: str | None = None, declarant_name: str = "Declarant", importer_name: str = "Importer"
    ) -> dict[str, Any]:
        """The declaration as a trader lodges it through the single window."""
        seq = int(self.declaration_id.split("-")[-1])
        transport: dict[str, Any] = {
            "mode": self.transport_mode,
            "arrival_on": self.declared_on.isoformat(),
            "departure_on": (self.declared_on - timedelta(days=12 if self.transport_mode == "sea" else 1)).isoformat(),
        }
        docs = [{"type": "invoice", "reference": f"INV-{seq:07d}"}, {"type": "packing_list", "reference": f"PL-{seq:07d}"}]
        containers: list[dict[str, Any]] = []
        if self.transport_mode == "sea":
            transport.update(
                {
                    "vessel": f"{self.carrier} VESSEL {seq % 17 + 1}",
                    "voyage": f"{seq % 90 + 10:03d}E",
                    "bill_of_lading": f"{self.carrier}{seq:09d}",
                }
            )
            docs.append({"type": "bill_of_lading", "reference": f"{self.carrier}{seq:09d}"})
            body = f"{self.carrier[:3]}U{seq % 1_000_000:06d}"
            containers.append({"number": body + iso6346.calc_check_digit(body), "seals": [f"SL{seq:08d}"]})
        else:
            transport["flight"] = f"CA{seq % 900 + 100}"
            docs.append({"type": "air_waybill", "reference": f"999-{seq:08d}"})
        return {
            "client_reference": client_reference or self.declaration_id,
            "kind": "import",
            "procedure": "general",
            "declarant": {"uscc": self.declarant, "name": declarant_name},
            "importer": {"uscc": self.importer, "name": importer_name},
            "consignor": {"name": self.consignor, "country": self.consignor_country},
            "office": self.office,
            "port_of_entry": self.port,
            "transport": transport,
            "containers": containers,
            "incoterm": "FOB",
            "currency": "USD",
            "items": [
                {
                    "line": i.line,
                    "hs_code": i.hs_code,
                    "description": i.description,
                    "origin": i.origin,
                    "quantity": str(i.quantity),
                    "unit": i.unit,
                    "net_mass_kg": str(i.net_mass_kg),
                    "gross_mass_kg": str(i.gross_mass_kg),
                    "value": str(i.value),
                }
                for i in self.items
            ],
            "documents": docs,
        }

    def rows(self) -> Iterator[dict[str, Any]]:
        """One history row per item, in the canonical history format (with the truth)."""
        for i in self.items:
            yield {
                "declaration_id": f"{self.declaration_id}/{i.line}",
                "declared_on": self.declared_on.isoformat(),
                "office": self.office,
                "declarant_id": self.declarant,
                "importer_id": self.importer,
                "consignor_id": self.consignor,
                "carrier_id": self.carrier,
                "hs_code": i.hs_code,
                "origin_country": i.origin,
                "departure_country": self.departure_country,
                "transport_mode": self.transport_mode,
                "quantity": str(i.quantity),
                "net_mass_kg": str(i.net_mass_kg),
                "value": str(i.value),
                "duty_rate": f"{i.duty_rate:.4f}",
                "label_fraud": 1 if i.pattern else 0,
                "label_critical": i.critical,
                "revenue_recovered": str(i.revenue_at_risk),
                "pattern": i.pattern or "",
                "importer_credit": self.importer_credit,
                "description": i.description,
            }


def _q(x: float, places: str = "0.01") -> Decimal:
    return Decimal(str(x)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


class Simulator:
    """Generates seasonal trade among a population of enterprises, with injected fraud.

    About `fraud_rate` of declarations hide a discrepancy (a few points either way, by seed).
    Offenders are a tenth of importers and cheat far more often than the rest, more so when
    they are new or ship through their usual suspect consignor; an injected pattern is drawn
    among those the goods allow (`PATTERN_WEIGHTS`), so all five occur.
    """

    def __init__(self, *, seed: int, start_on: date, days: int, importers: int = 60, fraud_rate: float = 0.06) -> None:
        self.rng = random.Random(seed)
        self.start_on = start_on
        self.days = max(days, 1)
        self.fraud_rate = fraud_rate
        rng = self.rng
        self.brokers = [make_uscc(rng) for _ in range(max(3, importers // 15))]
        self.enterprises: list[SimEnterprise] = []
        self.price_level: dict[str, float] = {}
        for _ in range(importers):
            offender = rng.random() < 0.1
            credit = "low" if offender and rng.random() < 0.5 else rng.choices(("aeo", "general", "low"), (0.15, 0.75, 0.10))[0]
            base = rng.uniform(0.25, 0.5) if offender else rng.uniform(0.0, 0.04)
            if credit == "aeo":
                base *= 0.3
            # A third of importers start trading during the period: new importers.
            first = start_on + timedelta(days=rng.randrange(self.days)) if rng.random() < 0.33 else start_on - timedelta(days=365)
            goods = tuple(rng.sample(range(len(GOODS)), rng.randint(2, 5)))
            if offender:  # offenders trade goods that leave room for every trick
                goods = tuple(dict.fromkeys((*goods, rng.choice(_MISCLASSIFIABLE), rng.choice(_SURCHARGED))))
            consignors = tuple(
                f"{rng.choice(('Global', 'Pacific', 'Euro', 'Star', 'Prime', 'Delta'))} {rng.choice(('Trading', 'Export', 'Supply', 'Industries'))} {rng.randint(1, 400)}"
                for _ in range(rng.randint(1, 3))
            )
            ent = SimEnterprise(make_uscc(rng), credit, base, first, goods, consignors)
            self.enterprises.append(ent)
            self.price_level[ent.uscc] = math.exp(rng.gauss(0, 0.06))  # some importers buy dearer than others
        self.suspect_consignors = {c for e in self.enterprises if e.propensity > 0.2 for c in e.consignors[:1]}
        # Scale propensities so that about `fraud_rate` of declarations cheat.
        mean = sum(
            min(0.9, e.propensity * (1.6 if e.first_on >= start_on else 1) * (1.5 if e.consignors[0] in self.suspect_consignors else 1))
            for e in self.enterprises
        ) / len(self.enterprises)
        # 1.18: calibrated on seeds 1-12 (the mean above ignores when importers start and which consignor ships).
        self.scale = 1.18 * fraud_rate / mean if mean > 0 else 0.0

    def _day(self) -> date:
        # Seasonal flow: more trade before the autumn peak, less at the start of the year, none on some Sundays.
        while True:
            d = self.start_on + timedelta(days=self.rng.randrange(self.days))
            season = 1 + 0.35 * math.sin(2 * math.pi * (d.timetuple().tm_yday - 120) / 365)
            weekday = 0.45 if d.weekday() == 6 else 1.0
            if self.rng.random() < season * weekday / 1.35:
                return d

    def declarations(self, n: int) -> list[SimDeclaration]:
        """`n` declarations in date order."""
        rng = self.rng
        days = sorted(self._day() for _ in range(n))
        out: list[SimDeclaration] = []
        for seq, day in enumerate(days, start=1):
            active = [e for e in self.enterprises if e.first_on <= day] or self.enterprises
            ent = rng.choice(active)
            office, port, mode = rng.choice(OFFICES)
            consignor = rng.choice(ent.consignors)
            decl = SimDeclaration(
                declaration_id=f"SIM-{seq:07d}",
                declared_on=day,
                office=office,
                port=port,
                transport_mode=mode,
                declarant=rng.choice(self.brokers) if rng.random() < 0.7 else ent.uscc,
                importer=ent.uscc,
                importer_credit=ent.credit,
                consignor=consignor,
                consignor_country="",
                carrier=rng.choice(CARRIERS),
                departure_country="",
            )
            new = ent.declared < 5 and ent.first_on >= self.start_on
            propensity = min(0.9, ent.propensity * (3 if new else 1) * (2 if consignor in self.suspect_consignors else 1))
            cheat = rng.random() < min(0.95, propensity * self.scale)
            level = self.price_level[ent.uscc]
            for line, gi in enumerate(rng.sample(ent.goods, min(len(ent.goods), rng.choice((1, 1, 1, 2, 2, 3)))), start=1):
                decl.items.append(self._item(GOODS[gi], line, level))
            if cheat:
                self._inject(decl)
            origin0 = decl.items[0].origin
            hub = (decl.fraud and "origin" in decl.patterns and rng.random() < 0.7) or rng.random() < 0.08
            decl.departure_country = rng.choice(HUBS) if hub else origin0
            # The goods are sold by whoever ships them: a trading house in the hub when transshipped.
            decl.consignor_country = decl.departure_country
            ent.declared += 1
            out.append(decl)
        return out

    def _item(self, g: Good, line: int, level: float = 1.0) -> SimItem:
        rng = self.rng
        qty = rng.randint(*g.lot)
        price = g.price * level * math.exp(rng.gauss(0, 0.18))
        if rng.random() < 0.015:  # honest bargains: end-of-line stock, samples, related-party discounts
            price *= rng.uniform(0.35, 0.7)
        net = qty * g.kg * math.exp(rng.gauss(0, 0.08))
        return SimItem(
            line=line,
            hs_code=g.hs,
            description=g.description,
            origin=rng.choice(g.origins),
            quantity=Decimal(qty),
            unit=g.unit,
            net_mass_kg=_q(max(net, 0.1), "0.1"),
            gross_mass_kg=_q(max(net, 0.1) * 1.1 + 5, "0.1"),
            value=_q(qty * price),
            duty_rate=g.duty,
        )

    @staticmethod
    def _applicable(item: SimItem) -> list[str]:
        return _applicable_patterns(GOOD_BY_HS[item.hs_code], int(item.quantity))

    def _inject(self, decl: SimDeclaration) -> None:
        rng = self.rng
        options = [(item, p) for item in decl.items for p in self._applicable(item)]
        patterns = sorted({p for _, p in options}, key=PATTERNS.index)
        pattern = rng.choices(patterns, [PATTERN_WEIGHTS[p] / _AVAILABILITY[p] for p in patterns])[0]
        item = rng.choice([i for i, p in options if p == pattern])
        good = GOOD_BY_HS[item.hs_code]
        true_value = item.value
        if pattern == "undervaluation":
            item.value = _q(float(true_value) * rng.uniform(0.3, 0.8))
            item.revenue_at_risk = _q(float(true_value - item.value) * max(good.duty, 0.13))  # duty and VAT
        elif pattern == "misclassification":
            code, rate = MISCLASSIFY[item.hs_code]
            item.hs_code, item.duty_rate = code, rate
            item.revenue_at_risk = _q(float(true_value) * (good.duty - rate))
        elif pattern == "origin":
            # The goods really come from a country that pays an extra duty; the papers name another.
            options_o = [(k, v) for k, v in SURCHARGE.items() if k[1] == item.hs_code[:2]]
            (_true_origin, _), (extra, fake) = rng.choice(options_o)
            item.origin = rng.choice(fake)
            item.revenue_at_risk = _q(float(true_value) * extra)
        elif pattern == "quantity":
            # The invoice lists three books; the parcel holds four: fewer units declared, same mass.
            shown = max(1, int(int(item.quantity) * rng.uniform(0.55, 0.9)))
            hidden_value = item.value * (item.quantity - shown) / item.quantity
            item.value = _q(float(item.value) * shown / float(item.quantity))
            item.quantity = Decimal(shown)
            item.revenue_at_risk = _q(float(hidden_value) * max(good.duty, 0.13))
        elif pattern == "prohibited":
            # Contraband hidden among ordinary goods: the paperwork says nothing, only the mass gives it away.
            _name, mass_factor = rng.choice(CONTRABAND)
            item.net_mass_kg = _q(float(item.net_mass_kg) * (1 + (mass_factor - 1) * rng.uniform(0.3, 1.0)), "0.1")
            item.gross_mass_kg = _q(float(item.net_mass_kg) * 1.1 + 5, "0.1")
            item.critical = 2
            item.revenue_at_risk = Decimal(0)
        item.pattern = pattern
        if item.critical == 0:
            item.critical = 1


def _applicable_patterns(good: Good, quantity: int) -> list[str]:
    """The patterns a cheat can hide in a line of these goods."""
    out = ["undervaluation", "prohibited"]
    if good.hs in MISCLASSIFY:
        out.append("misclassification")
    if any(k[1] == good.hs[:2] for k in SURCHARGE):
        out.append("origin")
    if good.unit != "KGM" and quantity >= 4:
        out.append("quantity")
    return out


_MISCLASSIFIABLE = tuple(i for i, g in enumerate(GOODS) if g.hs in MISCLASSIFY)
_SURCHARGED = tuple(i for i, g in enumerate(GOODS) if any(k[1] == g.hs[:2] for k in SURCHARGE))
# The share of goods each pattern applies to: choosing a pattern with weight / availability makes
# the rarer patterns (misclassification, origin) occur about as often as PATTERN_WEIGHTS says.
_AVAILABILITY = {p: sum(p in _applicable_patterns(g, 100) for g in GOODS) / len(GOODS) for p in PATTERNS}


def simulate(n: int, *, days: int, seed: int, start_on: date | None = None, importers: int | None = None) -> list[SimDeclaration]:
    """`n` declarations over `days` from `start_on` (default 2026-01-01), with a population sized to the volume."""
    sim = Simulator(seed=seed, start_on=start_on or date(2026, 1, 1), days=days, importers=importers or max(20, n // 200))
    return sim.declarations(n)


HISTORY_COLUMNS = (
    *CANONICAL,
    "pattern",
    "importer_credit",
    "description",
)


def write_history_csv(path: Path, declarations: Iterable[SimDeclaration]) -> int:
    """Write the declarations' history rows (with the truth) as CSV in `HISTORY_COLUMNS`; returns the rows written."""
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HISTORY_COLUMNS)
        writer.writeheader()
        for d in declarations:
            for row in d.rows():
                writer.writerow(row)
                n += 1
    return n
