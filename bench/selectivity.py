"""Lanes against the office's targets on traffic unlike the model's training history.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.selectivity [--db sqlite|postgresql|both] [--lodgings 1000] [--json]

For each database: a temporary database, migrated, with the built-in reference data; simulated
labelled history (`risk.simulator`, seed 21, 40 importers, 3,500 declarations over 240 days)
imported with docs/examples/simulated-history.toml; a LightGBM model trained on it and activated
as champion; a setting of red 3 %, yellow 7 %, no random checks. Then `--lodgings` declarations
of another population (seed 77, 120 importers none of whom the model has seen, 35 % of them
cheating instead of 6 %) are lodged one after another at office 2248 through
`risk.selectivity.service.lodge`, as the API lodges them.

Reported: the share of lodgings the model sent to red and to yellow (`asked.model`), overall, in
the first 100 and after; the shares the thresholds from the model's validation scores alone would
have given (what the lanes followed before); the lanes by cause; the lodging time.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and LightGBM are imported

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.common import DEFAULT_PG_URL, machine, percentile, temporary_database

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "docs" / "examples" / "simulated-history.toml"
RED, YELLOW = 0.03, 0.07
BROKER = "91310000MA1FL8XX29"


def run(url: str, workdir: Path, *, lodgings: int) -> dict[str, Any]:
    """Set up the world on an empty database, lodge the drifted traffic, measure the shares."""
    import numpy as np

    from smartcustoms import schema
    from smartcustoms.audit.service import Actor
    from smartcustoms.auth import service as auth_service
    from smartcustoms.auth.models import Role
    from smartcustoms.config import Settings
    from smartcustoms.party import service as party_service
    from smartcustoms.party.models import CreditRating
    from smartcustoms.party.schemas import EnterpriseCreate
    from smartcustoms.reference import service as reference_service
    from smartcustoms.risk.history import service as history
    from smartcustoms.risk.model import service as models
    from smartcustoms.risk.selectivity import service as selectivity
    from smartcustoms.risk.simulator import Simulator, write_history_csv
    from smartcustoms.runtime import Runtime

    operator = Actor(id=None, name="bench-operator", role="admin")
    now = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    rt = Runtime(Settings(database_url=url, storage_dir=workdir / "files"))
    selectivity.invalidate_all()
    schema.upgrade(rt.engine)
    with rt.write() as s:
        reference_service.load_builtin(s, actor=operator, now=now)
        party_service.add(
            s, data=EnterpriseCreate(uscc=BROKER, name="Bench brokerage", credit=CreditRating.general), actor=operator, now=now
        )
        user, _ = auth_service.add_user(
            s, name="broker", role=Role.enterprise, enterprise_uscc=BROKER, office=None, password=None, actor=operator, now=now
        )
        broker = auth_service.principal_of(s, user)
    csv_path = workdir / "history.csv"
    write_history_csv(csv_path, Simulator(seed=21, start_on=date(2026, 1, 1), days=240, importers=40).declarations(3500))
    t0 = time.perf_counter()
    with rt.write() as s:
        history.import_history(s, path=csv_path, mapping_path=MAPPING, actor=operator, now=now)
    with rt.write() as s:
        row = models.train(s, name="bench", train_until=date(2026, 8, 1), actor=operator, now=now)
        models.activate(s, name=row.name, version=row.version, role="champion", actor=operator, now=now)
        validation = list(row.score_histogram["quantiles"])
        selectivity.set_setting(
            s,
            office="*",
            red_rate=RED,
            yellow_rate=YELLOW,
            random_rate=0.0,
            valid_from=date(2026, 1, 1),
            reason="Bench.",
            actor=operator,
            now=now,
        )
    setup_s = time.perf_counter() - t0
    traffic = Simulator(seed=77, start_on=date(2026, 8, 2), days=30, importers=120, fraud_rate=0.35).declarations(lodgings)
    asked: list[str] = []
    scores: list[float] = []
    lanes: list[str] = []
    ms: list[float] = []
    for i, d in enumerate(traffic):
        payload = d.payload(client_reference=f"DRIFT-{i}")
        payload.update({"office": "2248", "port_of_entry": "CNSHA", "declarant": {"uscc": BROKER, "name": "Bench brokerage"}})
        t = time.perf_counter()
        with rt.write() as s:
            receipt, _ = selectivity.lodge(s, raw=payload, principal=broker, now=now + timedelta(minutes=i))
        ms.append((time.perf_counter() - t) * 1000)
        with rt.read() as s:
            a = selectivity.latest(s, declaration_id=int(selectivity_decl_id(s, receipt["number"])))
            assert a is not None
            asked.append(a.random_draw["asked"]["model"])
            scores.append(a.score)
            lanes.append(a.lane)
    with rt.read() as s:
        shares = selectivity.lane_shares(s, office="2248", now=now + timedelta(days=1), days=30)
    rt.stop()
    sc = np.asarray(scores)
    val_red, val_yellow = np.quantile(validation, 1 - RED), np.quantile(validation, 1 - RED - YELLOW)

    def part(xs: list[str]) -> dict[str, float]:
        return {"red": round(xs.count("red") / max(len(xs), 1), 4), "yellow": round(xs.count("yellow") / max(len(xs), 1), 4)}

    ms.sort()
    return {
        "lodgings": lodgings,
        "targets": {"red": RED, "yellow": YELLOW},
        "model_shares": part(asked),
        "model_shares_first_100": part(asked[:100]),
        "model_shares_after_100": part(asked[100:]),
        "validation_thresholds_would_give": {
            "red": round(float((sc >= val_red).mean()), 4),
            "yellow": round(float(((sc >= val_yellow) & (sc < val_red)).mean()), 4),
        },
        "lanes": part(lanes),
        "by_cause": {c: v["counts"] for c, v in shares["by_cause"].items()},
        "lodging_ms": {"median": round(statistics.median(ms), 2), "p99": round(percentile(ms, 99), 2)},
        "history_and_training_s": round(setup_s, 1),
    }


def selectivity_decl_id(session: Any, number: str) -> int:
    """The id of a declaration by its number."""
    from sqlalchemy import select

    from smartcustoms.declaration.models import Declaration

    found = session.scalar(select(Declaration.id).where(Declaration.number == number))
    assert found is not None
    return int(found)


def main(argv: list[str] | None = None) -> int:
    """Run the bench on the chosen databases and print (or emit as JSON) the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    ap.add_argument("--pg-url", default=os.environ.get("SMARTCUSTOMS_TEST_DATABASE_URL", DEFAULT_PG_URL))
    ap.add_argument("--lodgings", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    out: dict[str, Any] = {"machine": machine(args.pg_url if "postgresql" in dbs else None), "date": date.today().isoformat()}
    for db in dbs:
        with temporary_database(db, args.pg_url, name="selectivity") as (url, workdir):
            out[db] = run(url, workdir, lodgings=args.lodgings)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    console = Console()
    for db in dbs:
        r = out[db]
        t = Table("", "red", "yellow", title=f"{db}: {r['lodgings']} lodgings at one office, traffic unlike the training history")
        t.add_row("target", f"{RED:.1%}", f"{YELLOW:.1%}")
        for key in ("model_shares", "model_shares_first_100", "model_shares_after_100", "validation_thresholds_would_give", "lanes"):
            t.add_row(key.replace("_", " "), f"{r[key]['red']:.1%}", f"{r[key]['yellow']:.1%}")
        console.print(t)
        console.print(
            f"by cause: {r['by_cause']}; lodging {r['lodging_ms']} ms; history import and training {r['history_and_training_s']} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
