"""The demo's risk engine: the analysts' rules (approved by a supervisor), the knowledge base, and a
champion model trained on simulated history plus the demo enterprises' own checked declarations."""

from __future__ import annotations

import csv
import random
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from smartcustoms.demo import ENTERPRISES, SYSTEM, auth_service_principal, make_declaration
from smartcustoms.risk.history import service as history
from smartcustoms.risk.history.mapping import CANONICAL
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.model import service as models
from smartcustoms.risk.model.models import RiskModel
from smartcustoms.risk.parameter import service as rules
from smartcustoms.risk.parameter.models import Lane, RiskRule
from smartcustoms.risk.parameter.schemas import RuleCreate
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.risk.simulator import GOOD_BY_HS, HISTORY_COLUMNS, Simulator, write_history_csv
from smartcustoms.runtime import Runtime

DEMO_RULES: tuple[dict[str, Any], ...] = (
    {
        "code": "PRM-VAL-001",
        "name": "Unit price far under the reference",
        "reason": "The declared unit price is under 60 % of the reference price for these goods and origin.",
        "instructions": "Ask for the contract, proof of payment and the supplier's price list; compare with the reference price.",
        # price_ratio is missing where the knowledge base has no reference: test presence first.
        "condition": {"all": [{"fact": "price_ratio", "op": "present", "value": True}, {"fact": "price_ratio", "op": "lt", "value": 0.6}]},
        "weight": 0.6,
    },
    {
        "code": "PRM-PTY-001",
        "name": "Watch-listed consignor",
        "reason": "The consignor is on the intelligence watch list.",
        "instructions": "Inspect the goods against the invoice; photograph the marks; check the seals.",
        "condition": {"fact": "consignor_watchlisted", "op": "is", "value": True},
        "lane": Lane.red,
    },
    {
        "code": "PRM-LIC-001",
        "name": "Licence missing",
        "reason": "The goods need a licence and none is listed among the documents.",
        "instructions": "Ask for the licence before release; without it, hold the goods.",
        "condition": {
            "all": [{"fact": "licence_required", "op": "present", "value": True}, {"fact": "licence_present", "op": "is", "value": False}]
        },
        "lane": Lane.yellow,
    },
    {
        "code": "PRM-NEW-001",
        "name": "New importer from a transshipment hub",
        "reason": "First declaration of the importer, goods shipped through a transshipment hub.",
        "instructions": "Check the bill of lading routing and the certificate of origin.",
        "condition": {
            "all": [
                {"fact": "importer_first", "op": "is", "value": True},
                {"fact": "departure_country", "op": "in", "value": ["SG", "HK", "AE", "MY"]},
            ]
        },
        "weight": 0.5,
    },
)


def risk_setup(rt: Runtime, now: datetime) -> None:
    """Demo risk rules (written by the analyst, approved by the supervisor), a watch list and a licence requirement."""
    with rt.read() as s:
        if s.scalar(select(func.count()).select_from(RiskRule)):
            return
    analyst = auth_service_principal(rt, "analyst")
    supervisor = auth_service_principal(rt, "supervisor")
    start = (now - timedelta(days=60)).date()
    with rt.write() as s:
        knowledge.add_watch(
            s,
            list_name="intelligence",
            party_kind="consignor",
            identifier="SAIGON PRECISION ELECTRONICS JSC",
            reason="Two seizures of counterfeit batteries in 2026.",
            valid_from=start,
            valid_to=None,
            actor=analyst.actor(),
            now=now,
        )
        knowledge.add_restricted(
            s,
            hs_prefix="3004",
            licence="drug import licence",
            prohibited=False,
            reason="Medicaments need a licence.",
            valid_from=start,
            actor=analyst.actor(),
            now=now,
        )
        for r in DEMO_RULES:
            rule = rules.propose(s, data=RuleCreate(valid_from=start, **r), principal=analyst, now=now)
            rules.approve(s, code=rule.code, version=rule.version, note="Reviewed for the demo.", principal=supervisor, now=now)
        selectivity.set_setting(
            s,
            office="*",
            red_rate=0.03,
            yellow_rate=0.07,
            random_rate=0.03,
            valid_from=start,
            reason="Demo targets: 3 % inspections, 7 % document reviews, 3 % at random.",
            actor=analyst.actor(),
            now=now,
        )
    knowledge.invalidate()
    rules.invalidate()


_MAPPING = (
    "[columns]\n"
    + "".join(f'{c} = "{c}"\n' for c in CANONICAL)
    + '[extra_categorical]\npattern = "pattern"\nimporter_credit = "importer_credit"\n[options]\nsource = "demo-simulator"\n'
)


HISTORY_OWN = 1500  # the demo enterprises' own checked declarations in the history, beside the simulated trade


def own_history_rows(now: datetime, *, n: int = HISTORY_OWN, seed: int = 8) -> list[dict[str, Any]]:
    """The demo enterprises' earlier trade (the goods the demo lodges), checked and found in order, as history rows.

    Without it the model knows these goods only from the simulator's other trade (printed books
    at 6 USD from the US, not printed manuals at 0.20 USD from China) and every such declaration
    looks like undervaluation: the office's history is what the office's model should learn from.
    """
    rng = random.Random(seed)
    start = now - timedelta(days=270)
    pairs = [(0, 1), (0, 2), (2, 2), (3, 3), (0, 4)]
    rows: list[dict[str, Any]] = []
    for i in range(n):
        d_idx, t_idx = pairs[i % len(pairs)]
        day = start + timedelta(minutes=int(i * 240 * 24 * 60 / n))
        raw = make_declaration(rng, seq=900_000 + i, declarant=ENTERPRISES[d_idx][0], trader=ENTERPRISES[t_idx][0], day=day)
        for item in raw["items"]:
            good = GOOD_BY_HS.get(item["hs_code"])
            rows.append(
                {
                    "declaration_id": f"DEMO-H-{i:06d}/{item['line']}",
                    "declared_on": day.date().isoformat(),
                    "office": raw["office"],
                    "declarant_id": raw["declarant"]["uscc"],
                    "importer_id": raw["importer"]["uscc"],
                    "consignor_id": raw["consignor"]["name"],
                    "carrier_id": "MAEU",
                    "hs_code": item["hs_code"],
                    "origin_country": item["origin"],
                    "departure_country": raw["consignor"]["country"],
                    "transport_mode": raw["transport"]["mode"],
                    "quantity": item["quantity"],
                    "net_mass_kg": item["net_mass_kg"],
                    "value": item["value"],
                    "duty_rate": f"{good.duty if good else 0.0:.4f}",
                    "label_fraud": 0,
                    "label_critical": 0,
                    "revenue_recovered": "0",
                    "pattern": "",
                    "importer_credit": ENTERPRISES[t_idx][2].value,
                    "description": item["description"],
                }
            )
    return rows


def model_setup(rt: Runtime, now: datetime) -> None:
    """Labelled history (eight months before the demo month: simulated trade and the demo enterprises' own) and a champion model."""
    with rt.read() as s:
        if s.scalar(select(func.count()).select_from(RiskModel)):
            return
    start = (now - timedelta(days=270)).date()
    sims = Simulator(seed=11, start_on=start, days=240, importers=60).declarations(5000)
    analyst = auth_service_principal(rt, "analyst").actor()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, map_path = Path(tmp) / "history.csv", Path(tmp) / "mapping.toml"
        write_history_csv(csv_path, sims)
        with csv_path.open("a", encoding="utf-8", newline="") as fh:
            csv.DictWriter(fh, fieldnames=HISTORY_COLUMNS).writerows(own_history_rows(now))
        map_path.write_text(_MAPPING, encoding="utf-8")
        with rt.write() as s:
            history.import_history(s, path=csv_path, mapping_path=map_path, actor=SYSTEM, now=now)
    with rt.write() as s:
        row = models.train(s, name="demo", train_until=start + timedelta(days=240), actor=analyst, now=now)
        models.activate(s, name=row.name, version=row.version, role="champion", actor=analyst, now=now)
    knowledge.invalidate()
