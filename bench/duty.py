"""Duty assessment items per second (pure domain, one core) and `tariff load` of 20,000 lines (SQLite file)."""

from __future__ import annotations

import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from smartcustoms import schema
from smartcustoms.audit.service import Actor
from smartcustoms.config import Settings
from smartcustoms.duty import domain
from smartcustoms.kit.clock import utcnow
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
    took = tariff_load_seconds()
    print(f"duty: {rate:,.0f} items/s (CPU, one core; target 20,000)")
    print(f"tariff load: 20,000 lines in {took:.2f} s (target < 10 s)")
    sys.exit(0 if rate >= 20_000 and took < 10 else 1)
