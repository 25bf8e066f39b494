"""Lanes follow the office's targets on live traffic that does not look like the model's training history."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select

from smartcustoms.party import service as party_service
from smartcustoms.party.schemas import EnterpriseCreate
from smartcustoms.risk.history import service as history
from smartcustoms.risk.history.models import HistoryRecord
from smartcustoms.risk.model import service as models
from smartcustoms.risk.model.models import RiskModel
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.risk.selectivity import thresholds
from smartcustoms.risk.selectivity.models import Assessment
from smartcustoms.risk.simulator import Simulator, write_history_csv
from smartcustoms.runtime import Runtime
from tests.conftest import BROKER, OPERATOR, World, grant_mandate

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "docs" / "examples" / "simulated-history.toml"
START = date(2026, 1, 1)
NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
RED, YELLOW = 0.03, 0.07
LODGINGS = 1000


@pytest.fixture(scope="module")
def history_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("targets") / "history.csv"
    write_history_csv(path, Simulator(seed=21, start_on=START, days=240, importers=40).declarations(3500))
    return path


def _champion(rt: Runtime, csv: Path) -> tuple[str, list[float]]:
    with rt.write() as s:
        s.execute(delete(HistoryRecord))
        s.execute(delete(RiskModel))
    models.invalidate()
    with rt.write() as s:
        history.import_history(s, path=csv, mapping_path=MAPPING, actor=OPERATOR, now=NOW)
    with rt.write() as s:
        row = models.train(s, name="fraud", train_until=date(2026, 8, 1), actor=OPERATOR, now=NOW)
        models.activate(s, name=row.name, version=row.version, role="champion", actor=OPERATOR, now=NOW)
        return f"{row.name}/v{row.version}", list(row.score_histogram["quantiles"])


def test_model_lanes_hold_the_targets_over_1000_lodgings_of_traffic_unlike_the_training_history(
    rt: Runtime, world: World, history_csv: Path
) -> None:
    label, validation = _champion(rt, history_csv)
    with rt.write() as s:
        selectivity.set_setting(
            s, office="*", red_rate=RED, yellow_rate=YELLOW, random_rate=0.0, valid_from=START, reason="Capacity.", actor=OPERATOR, now=NOW
        )
    # Another population: other importers (all new to the model), more of them cheating, at one office.
    traffic = Simulator(seed=77, start_on=date(2026, 8, 2), days=30, importers=120, fraud_rate=0.5).declarations(LODGINGS)
    for i, d in enumerate(traffic):
        payload = d.payload(client_reference=f"DRIFT-{i}")
        payload.update({"office": "2248", "port_of_entry": "CNSHA", "declarant": {"uscc": BROKER, "name": "Shanghai Harbour Brokerage"}})
        importer = payload["importer"]["uscc"]
        with rt.write() as s:  # the broker lodges only for registered importers that mandate it
            if party_service.find_by_uscc(s, uscc=importer) is None:
                party_service.add(s, data=EnterpriseCreate(uscc=importer, name="Simulated importer"), actor=OPERATOR, now=NOW)
                grant_mandate(s, importer=importer, broker=BROKER)
        with rt.write() as s:
            selectivity.lodge(s, raw=payload, principal=world.principals["broker"], now=NOW + timedelta(minutes=i))
    with rt.read() as s:
        rows = s.scalars(select(Assessment).where(Assessment.model == label).order_by(Assessment.id)).all()
    assert len(rows) == LODGINGS
    scores = np.array([a.score for a in rows])
    # The traffic really differs: the validation scores' thresholds would have sent several times the targets.
    val_red, val_yellow = np.quantile(validation, 1 - RED), np.quantile(validation, 1 - RED - YELLOW)
    assert (scores >= val_red).mean() >= 3 * RED and (scores >= val_yellow).mean() > 1.5 * (RED + YELLOW)
    asked = [a.random_draw["asked"]["model"] for a in rows]
    red, yellow = asked.count("red") / LODGINGS, asked.count("yellow") / LODGINGS
    assert abs(red - RED) <= 0.02 and abs(yellow - YELLOW) <= 0.02, (red, yellow)
    # Red and yellow never collapse into one threshold.
    assert all(a.random_draw["red_cut"] < a.random_draw["yellow_cut"] for a in rows)
    # The state is the database's: another process reading the office's recent scores ranks the same way.
    with rt.read() as s:
        setting = selectivity.setting_for(s, office="2248", on=NOW.date(), now=NOW)
        here, _ = thresholds.current(s, office="2248", model=label, setting=setting, seed=validation)
        thresholds.invalidate()
        there, _ = thresholds.current(s, office="2248", model=label, setting=setting, seed=validation)
    assert here is not None and there is not None
    assert np.array_equal(here.asc, there.asc) and here.cut(RED) == there.cut(RED)
    # The shares by cause say the same.
    with rt.read() as s:
        shares = selectivity.lane_shares(s, office="2248", now=NOW + timedelta(days=1), days=30)
    assert shares["by_cause"]["model"]["counts"]["red"] == asked.count("red")
    assert shares["assessments"] == LODGINGS
