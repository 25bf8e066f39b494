"""Demo data: enterprises, users of every role, and a few hundred declarations in various states."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from stdnum.cn import uscc as stdnum_uscc

from smartcustoms.audit.service import Actor
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role, User
from smartcustoms.clearance import service as clearance
from smartcustoms.declaration import domain as declaration_domain
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.demo import gate as demo_gate
from smartcustoms.demo.duties import guarantees as _guarantees
from smartcustoms.demo.duties import pay as _pay
from smartcustoms.errors import SmartCustomsError
from smartcustoms.mandate import service as mandate_service
from smartcustoms.party import service as party_service
from smartcustoms.party.models import CreditRating
from smartcustoms.party.schemas import EnterpriseCreate
from smartcustoms.runtime import Runtime
from smartcustoms.tariff import service as tariff_service
from smartcustoms.tariff.models import TariffLine

DEMO_PASSWORD = "demo-password"  # noqa: S105 - demo data only, refused in production
SYSTEM = Actor(id=None, name="demo-loader", role="admin")


def make_uscc(body17: str) -> str:
    """A valid USCC from its first 17 characters."""
    return body17 + stdnum_uscc.calc_check_digit(body17)


ENTERPRISES: tuple[tuple[str, str, CreditRating, str, bool], ...] = (
    ("91310000MA1FL8XX29", "Shanghai Harbour Brokerage Co., Ltd.", CreditRating.aeo, "Shanghai", False),
    ("91120116MA05JB6G5T", "Tianjin Binhai Electronics Trading Co., Ltd.", CreditRating.general, "Tianjin", True),
    (make_uscc("91440300MA5DC7QK1"), "Shenzhen Nanshan Components Import Co., Ltd.", CreditRating.general, "Shenzhen", True),
    (make_uscc("91330200MA2H4R8N0"), "Ningbo Beilun Textiles Export Co., Ltd.", CreditRating.aeo, "Ningbo", True),
    (make_uscc("91370200MA3C5T2L4"), "Qingdao Seafood Trading Co., Ltd.", CreditRating.low, "Qingdao", True),
)
USERS: tuple[tuple[str, Role, int | None, str | None], ...] = (
    ("admin", Role.admin, None, None),
    ("broker", Role.enterprise, 0, None),
    ("importer", Role.enterprise, 1, None),
    ("shenzhen", Role.enterprise, 2, None),
    ("ningbo", Role.enterprise, 3, None),
    ("officer", Role.officer, None, "2248"),
    ("inspector", Role.inspector, None, "2248"),
    ("analyst", Role.analyst, None, None),
    ("supervisor", Role.supervisor, None, None),
    ("gate", Role.gate, None, "2248"),
    ("xray", Role.image_analyst, None, "2248"),
    ("scanner", Role.scanner, None, "2248"),
    ("agency", Role.agency, None, None),
    ("line", Role.carrier, 0, None),  # the broker's forwarding arm lodges the manifests of its consolidations
    ("bank", Role.bank, None, None),
)
GOODS: tuple[tuple[str, str, str, str, Decimal, Decimal], ...] = (
    # hs, description, unit, origin, unit price (USD), unit net mass (kg)
    ("8517130000", "Smartphones, 6.1 inch, 128 GB", "PCE", "VN", Decimal("180"), Decimal("0.22")),
    ("8507600090", "Lithium-ion battery packs", "PCE", "VN", Decimal("6"), Decimal("0.05")),
    ("8471300000", "Laptop computers, 14 inch", "PCE", "CN", Decimal("420"), Decimal("1.6")),
    ("8542310000", "Microprocessors", "PCE", "TW", Decimal("95"), Decimal("0.01")),
    ("6109100000", "Cotton T-shirts, knitted", "PCE", "BD", Decimal("2.5"), Decimal("0.18")),
    ("6203420000", "Men's cotton trousers", "PCE", "VN", Decimal("7"), Decimal("0.45")),
    ("0306171000", "Frozen shrimps and prawns", "KGM", "EC", Decimal("7.8"), Decimal("1")),
    ("2204210000", "Red wine in bottles of 0.75 l", "LTR", "FR", Decimal("6"), Decimal("1.3")),
    ("3004900000", "Medicaments, packaged for retail sale", "KGM", "DE", Decimal("85"), Decimal("1")),
    ("9018900000", "Medical instruments", "PCE", "US", Decimal("310"), Decimal("2.1")),
    ("4901990000", "Printed user manuals", "PCE", "CN", Decimal("0.2"), Decimal("0.03")),
    ("8703800000", "Electric passenger cars", "PCE", "DE", Decimal("38000"), Decimal("1900")),
)
# Each demo importer's usual overseas supplier (by the importer's index in ENTERPRISES): the demo's
# history and traffic know the supplier the README example (Tianjin's smartphones) names, so the
# example is a known trade there, not a declaration from a consignor the office never saw.
SUPPLIERS = {
    1: "Saigon Mobile Devices JSC",
    2: "Shenzhen Overseas Components Ltd.",
    3: "Dhaka Knitwear Ltd.",
    4: "Guayaquil Seafood Exporters S.A.",
}
OFFICES_PORTS = (("2248", "CNSHA"), ("2233", "CNPVG"), ("0202", "CNTXG"), ("5316", "CNYTN"), ("3100", "CNNGB"))
CONTAINER_PREFIXES = ("MSKU", "TGHU", "CMAU", "OOLU", "COSU")


@dataclass
class DemoReport:
    """What the demo loader did, and the tokens it issued."""

    enterprises: int
    declarations: int
    tokens: dict[str, str]
    gated_out: int = 0  # containers the demo's gate let out


def container_number(rng: random.Random) -> str:
    """A valid ISO 6346 container number."""
    from stdnum import iso6346

    body = rng.choice(CONTAINER_PREFIXES) + f"{rng.randrange(10**6):06d}"
    return body + iso6346.calc_check_digit(body)


def make_declaration(rng: random.Random, *, seq: int, declarant: str, trader: str, day: datetime) -> dict[str, Any]:
    """A plausible import declaration lodged on `day`."""
    office, port = rng.choice(OFFICES_PORTS)
    mode = "air" if port == "CNPVG" else "sea"
    items = []
    for line, (hs, desc, unit, origin, price, mass) in enumerate(rng.sample(GOODS, rng.randint(1, 4)), start=1):
        qty = Decimal(rng.choice((10, 50, 120, 500, 1200, 3000)))
        value = (qty * price * Decimal(rng.uniform(0.8, 1.2))).quantize(Decimal("0.01"))
        net = (qty * mass).quantize(Decimal("0.1"))
        items.append(
            {
                "line": line,
                "hs_code": hs,
                "description": desc,
                "origin": origin,
                "quantity": str(qty),
                "unit": unit,
                "net_mass_kg": str(net),
                "gross_mass_kg": str((net * Decimal("1.12")).quantize(Decimal("0.1"))),
                "value": str(value),
            }
        )
    arrival = (day + timedelta(days=rng.randint(-3, 10))).date()
    transport: dict[str, Any] = {
        "mode": mode,
        "arrival_on": arrival.isoformat(),
        "departure_on": (arrival - timedelta(days=rng.randint(2, 20))).isoformat(),
    }
    docs = [{"type": "invoice", "reference": f"INV-{seq:06d}"}, {"type": "packing_list", "reference": f"PL-{seq:06d}"}]
    if any(str(it["hs_code"]).startswith("3004") for it in items) and rng.random() < 0.9:
        docs.append({"type": "licence", "reference": f"DIL-{seq:06d}"})  # most importers of medicaments hold the licence
    if mode == "sea":
        transport.update(
            {
                "vessel": rng.choice(("MAERSK KOWLOON", "COSCO SHIPPING ARIES", "CMA CGM JULES VERNE")),
                "imo": "9074729",
                "voyage": f"{rng.randint(1, 99):03d}E",
                "bill_of_lading": f"BL{seq:09d}",
            }
        )
        docs.append({"type": "bill_of_lading", "reference": f"BL{seq:09d}"})
    else:
        transport.update({"flight": f"CA{rng.randint(100, 999)}"})
        docs.append({"type": "air_waybill", "reference": f"999-{seq:08d}"})
    return {
        "client_reference": f"DEMO-{seq:06d}",
        "kind": "import",
        "procedure": "general",
        "declarant": {"uscc": declarant, "name": "Declarant"},
        "importer": {"uscc": trader, "name": "Importer"},
        "consignor": {
            "name": "Saigon Precision Electronics JSC"
            if seq % 50 == 0
            else SUPPLIERS.get(_importer_index(trader), "Overseas Supplier Ltd."),
            "country": items[0]["origin"] if items[0]["origin"] != "CN" else "HK",
        },
        "office": office,
        "port_of_entry": port,
        "transport": transport,
        "containers": [{"number": container_number(rng), "seals": [f"SL{seq:07d}"]}] if mode == "sea" else [],
        "incoterm": rng.choice(("FOB", "CIF", "EXW")),
        "currency": "USD",
        **_freight(items),
        "items": items,
        "documents": docs,
    }


def _freight(items: list[dict[str, Any]]) -> dict[str, str]:
    """Freight (3 %) and insurance (0.3 %) of the goods' value: the duties add them under FOB and EXW."""
    total = sum((Decimal(i["value"]) for i in items), Decimal(0))
    return {
        "freight": str((total * Decimal("0.03")).quantize(Decimal("0.01"))),
        "insurance": str((total * Decimal("0.003")).quantize(Decimal("0.01"))),
    }


def _importer_index(uscc: str) -> int:
    return next((i for i, e in enumerate(ENTERPRISES) if e[0] == uscc), -1)


def load(
    rt: Runtime,
    *,
    declarations: int = 300,
    seed: int = 7,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
    with_model: bool = True,
) -> DemoReport:
    """Load the demo (idempotent: existing data is kept) and issue fresh tokens for the demo users."""
    if rt.settings.mode == "production":
        raise RuntimeError("demo data is refused in production mode")
    rng = random.Random(seed)
    added_ent = 0
    with rt.write() as s:
        for uscc, name, credit, region, out_of_town in ENTERPRISES:
            if party_service.find_by_uscc(s, uscc=uscc) is None:
                party_service.add(
                    s,
                    data=EnterpriseCreate(uscc=uscc, name=name, credit=credit, region=region, out_of_town=out_of_town),
                    actor=SYSTEM,
                    now=now,
                )
                added_ent += 1
    tokens: dict[str, str] = {}
    with rt.write() as s:
        for name, role, ent, office in USERS:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                _, token = auth_service.add_user(
                    s,
                    name=name,
                    role=role,
                    enterprise_uscc=ENTERPRISES[ent][0] if ent is not None else None,
                    office=office,
                    password=DEMO_PASSWORD,
                    actor=SYSTEM,
                    now=now,
                )
            else:
                token = auth_service.issue_token(s, user=user, now=now, label="demo")
            tokens[name] = token
    _mandates(rt, now)
    _tariff(rt, now)
    _guarantees(rt, now, [e[0] for e in ENTERPRISES])
    from smartcustoms.demo import risk as demo_risk  # it reads this module's enterprises and goods

    demo_risk.risk_setup(rt, now)
    if with_model:
        demo_risk.model_setup(rt, now)
    with rt.read() as s:
        have = s.scalar(select(func.count()).select_from(Declaration)) or 0
    made = 0
    pairs = [(0, 1), (0, 2), (2, 2), (3, 3), (0, 4)]  # (declarant, importer): the broker under the importers' mandates
    lodgers = {0: "broker", 1: "importer", 2: "shenzhen", 3: "ningbo"}
    bank = auth_service_principal(rt, "bank")
    for i in range(have, declarations):
        d_idx, t_idx = pairs[i % len(pairs)]
        day = now - timedelta(days=30) + timedelta(minutes=int(i * 30 * 24 * 60 / max(declarations, 1)))
        raw = make_declaration(rng, seq=i + 1, declarant=ENTERPRISES[d_idx][0], trader=ENTERPRISES[t_idx][0], day=day)
        who = auth_service_principal(rt, lodgers[d_idx])
        try:
            with rt.write() as s:
                receipt, _ = clearance.lodge(s, raw=raw, principal=who, now=day)
                _vary(s, rng, receipt["number"], who, day)
                _pay(s, receipt["number"], bank, day + timedelta(hours=2))
            made += 1
        except SmartCustomsError:
            continue
        if progress:
            progress(i + 1 - have, declarations - have)
    gated = demo_gate.gate_out(rt, auth_service_principal(rt, "gate"), now)
    return DemoReport(enterprises=added_ent, declarations=made, tokens=tokens, gated_out=gated)


def _tariff(rt: Runtime, now: datetime) -> None:
    """The SAMPLE tariff shipped with the product (the demo's goods), unless a tariff is loaded."""
    with rt.write() as s:
        if s.scalar(select(func.count()).select_from(TariffLine)) == 0:
            tariff_service.load_sample(s, actor=SYSTEM, now=now)


# (importer, broker): the electronic mandates the demo's broker lodges under.
DEMO_MANDATES = ((1, 0), (2, 0), (4, 0))


def _mandates(rt: Runtime, now: datetime) -> None:
    """The importers' mandates for the demo broker, from two months back, unless already granted."""
    with rt.write() as s:
        have = {(m.importer, m.broker) for m in mandate_service.list_all(s, uscc=None)}
        for importer, broker in DEMO_MANDATES:
            pair = (ENTERPRISES[importer][0], ENTERPRISES[broker][0])
            if pair not in have:
                mandate_service.grant(
                    s,
                    importer_uscc=pair[0],
                    broker_uscc=pair[1],
                    valid_from=(now - timedelta(days=60)).date(),
                    valid_to=None,
                    procedures=None,
                    offices=None,
                    actor=SYSTEM,
                    now=now,
                )


def auth_service_principal(rt: Runtime, name: str) -> auth_service.Principal:
    """The principal of a demo user."""
    with rt.read() as s:
        user = s.scalar(select(User).where(User.name == name))
        assert user is not None
        return auth_service.principal_of(s, user)


def _vary(s: Any, rng: random.Random, number: str, who: auth_service.Principal, day: datetime) -> None:
    """Move some declarations on, so the demo shows every state this release knows.

    Lodging routes a declaration as for real (green is released at once); only those still open
    (under review or inspection) can be withdrawn, amended, rejected or held.
    """
    roll = rng.random()
    later = day + timedelta(hours=rng.randint(1, 20))
    officer = Actor(id=None, name="officer", role="officer", office="2248")
    decl = declaration_service.get_visible(s, number=number, principal=who)
    if decl.status in declaration_domain.TERMINAL:
        return
    if roll < 0.08:
        if declaration_domain.can_transition(decl.status, Status.withdrawn):
            declaration_service.withdraw(
                s, number=number, reason="Goods sold on before arrival; declaring again under bonded procedure.", principal=who, now=later
            )
    elif roll < 0.18:
        items = [dict(it) for it in decl.payload["items"]]
        items[0]["quantity"] = str(Decimal(items[0]["quantity"]) + 10)
        clearance.amend(
            s, number=number, patch={"items": items}, reason="Supplier shipped 10 more units than invoiced first.", principal=who, now=later
        )
    elif roll < 0.22:
        if decl.status is not Status.under_review and declaration_domain.can_transition(decl.status, Status.under_review):
            declaration_service.transition(s, decl=decl, to=Status.under_review, actor=officer, now=later, reason="Documents to review.")
        if declaration_domain.can_transition(decl.status, Status.rejected):
            declaration_service.transition(
                s, decl=decl, to=Status.rejected, actor=officer, now=later, reason="Licence for medicaments missing."
            )
    elif roll < 0.26 and declaration_domain.can_transition(decl.status, Status.held):
        declaration_service.transition(s, decl=decl, to=Status.held, actor=officer, now=later, reason="Held pending origin verification.")
