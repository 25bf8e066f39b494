"""Duty assessment items per second, pure domain and through the service, and `tariff load` of 20,000 lines.

    OMP_NUM_THREADS=1 .venv/bin/python bench/duty.py [DATABASE_URL]

The service path (`duty.service.assess`: the tariff lines in force and the month's rate read from
the database, the domain, the assessment and account rows and the journal entry written, one
transaction per declaration of 50 items) runs on a fresh SQLite file, or on DATABASE_URL (an
empty PostgreSQL database; its tables are created by the migrations). Items per second are of the
thread's CPU time (one core) and of wall time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from smartcustoms import schema
from smartcustoms.audit.service import Actor
from smartcustoms.config import Settings
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.duty import domain
from smartcustoms.duty import service as duty_service
from smartcustoms.kit.clock import utcnow
from smartcustoms.party import service as party_service
from smartcustoms.party.schemas import EnterpriseCreate
from smartcustoms.reference import service as reference
from smartcustoms.runtime import Runtime
from smartcustoms.tariff import service as tariff

HEADER = "code,description,mfn_rate,general_rate,provisional_rate,specific_rate,specific_unit,consumption_rate,vat_rate,licence,valid_from,valid_to\n"


def duty_items_per_second(items: int = 100_000) -> float:
    """Assess declarations of 50 items each (FOB, mixed rate kinds, compound and consumption lines)."""
    pref = (domain.Preference("ACFTA", frozenset({"VN"}), Decimal(0)),)
    rates = [
        domain.Rates("85171300", mfn=Decimal(0), vat=Decimal(13)),
        domain.Rates("85076000", mfn=Decimal(10), provisional=Decimal(6), vat=Decimal(13), preferences=pref),
        domain.Rates("22042100", mfn=Decimal(14), consumption=Decimal(10), vat=Decimal(13)),
        domain.Rates("22030000", mfn=Decimal(0), specific=Decimal("7.5"), specific_unit="LTR", vat=Decimal(13)),
    ]
    lines = [domain.Item(n + 1, Decimal("1234.56") + n, Decimal(10 + n), "LTR", ("VN", "US", "FR")[n % 3], rates[n % 4]) for n in range(50)]
    goods = domain.Goods("FOB", Decimal("7.12"), Decimal("2400"), Decimal("185.5"), True, lines)
    start = time.process_time()
    for _ in range(items // 50):
        domain.assess(goods)
    return items / (time.process_time() - start)


SAMPLE_GOODS = (  # (hs code, origin, unit): goods of the SAMPLE tariff, of every rate kind
    ("8517130000", "VN", "PCE"),
    ("8507600090", "VN", "PCE"),
    ("2204210000", "FR", "LTR"),
    ("2203000000", "DE", "LTR"),
    ("6109100000", "BD", "PCE"),
    ("0306171000", "EC", "KGM"),
    ("4901990000", "CN", "PCE"),
)
IMPORTER = "91120116MA05JB6G5T"


def _payload(n_items: int) -> dict[str, object]:
    items = [
        {
            "line": n + 1,
            "hs_code": code,
            "origin": origin,
            "unit": unit,
            "quantity": str(10 + n),
            "value": str(Decimal("1234.56") + n),
            "net_mass_kg": str(5 + n),
        }
        for n, (code, origin, unit) in ((n, SAMPLE_GOODS[n % len(SAMPLE_GOODS)]) for n in range(n_items))
    ]
    return {"kind": "import", "incoterm": "FOB", "currency": "USD", "freight": "2400.00", "insurance": "185.50", "items": items}


def service_items_per_second(url: str | None = None, declarations: int = 200, n_items: int = 50) -> tuple[float, float]:
    """`duty.service.assess` of stored declarations, one transaction each: (items per CPU second, items per wall second)."""
    with tempfile.TemporaryDirectory() as d:
        rt = Runtime(Settings(database_url=url or f"sqlite:///{Path(d) / 's.db'}"))
        schema.upgrade(rt.engine)
        now, actor = utcnow(), Actor.system("bench")
        with rt.write() as s:
            reference.load_builtin(s, actor=actor, now=now)
            tariff.load_sample(s, actor=actor, now=now)
            ent = party_service.find_by_uscc(s, uscc=IMPORTER) or party_service.add(
                s, data=EnterpriseCreate(uscc=IMPORTER, name="Bench Importer"), actor=actor, now=now
            )
            payload = _payload(n_items)
            base = s.query(Declaration).count()
            ids = []
            for i in range(declarations):
                decl = Declaration(
                    number=f"9999{now:%Y}{base + i:010d}",
                    kind="import",
                    procedure="general",
                    status=Status.assessed,
                    client_reference=f"BENCH-{base + i}",
                    submitter_enterprise_id=ent.id,
                    trader_enterprise_id=ent.id,
                    declarant_uscc=IMPORTER,
                    trader_uscc=IMPORTER,
                    office="2248",
                    port="CNSHA",
                    currency="USD",
                    total_value=Decimal(0),
                    item_count=n_items,
                    content_sha256="0" * 64,
                    submitted_sha256="0" * 64,
                    payload=payload,
                    receipt={},
                    lodged_at=now,
                    updated_at=now,
                )
                s.add(decl)
                s.flush()
                ids.append(decl.id)
        cpu, wall = time.thread_time(), time.perf_counter()
        for decl_id in ids:
            with rt.write() as s:
                found = s.get(Declaration, decl_id)
                assert found is not None
                duty_service.assess(s, declaration=found, now=now)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        rt.stop()
    items = declarations * n_items
    return items / cpu, items / wall


def tariff_load_seconds(n: int = 20_000) -> float:
    """Wall time of loading a schedule of n lines into a fresh SQLite database (parse, validate, insert, journal, commit)."""
    rows = "".join(f"{10000000 + i * 7:08d},Line {i},{i % 30},{i % 90},,,,,13,,2026-01-01,\n" for i in range(n))
    with tempfile.TemporaryDirectory() as d:
        rt = Runtime(Settings(database_url=f"sqlite:///{Path(d) / 'b.db'}"))
        schema.upgrade(rt.engine)
        start = time.perf_counter()
        with rt.write() as s:
            tariff.load_schedule(s, text=HEADER + rows, source="bench", actor=Actor.system("bench"), now=utcnow())
        took = time.perf_counter() - start
        rt.stop()
    return took


if __name__ == "__main__":
    rate = duty_items_per_second()
    by_cpu, by_wall = service_items_per_second(sys.argv[1] if len(sys.argv) > 1 else None)
    took = tariff_load_seconds()
    print(f"duty, domain: {rate:,.0f} items/s (CPU, one core; target 20,000)")
    print(f"duty, service (assess and store, one transaction per 50 items): {by_cpu:,.0f} items/s of CPU, {by_wall:,.0f} of wall")
    print(f"tariff load: 20,000 lines in {took:.2f} s (target < 10 s)")
    sys.exit(0 if rate >= 20_000 and by_cpu >= 20_000 and took < 10 else 1)
