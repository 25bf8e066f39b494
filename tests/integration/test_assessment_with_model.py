"""Assessment with a champion model: explained scores, a challenger in shadow, and thresholds that follow capacity."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from smartcustoms.party import service as party_service
from smartcustoms.party.schemas import EnterpriseCreate
from smartcustoms.risk.history import service as history
from smartcustoms.risk.history.models import HistoryRecord
from smartcustoms.risk.model import service as models
from smartcustoms.risk.model.models import RiskModel
from smartcustoms.risk.selectivity import ranking
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.risk.selectivity.models import Assessment
from smartcustoms.risk.simulator import Simulator, write_history_csv
from smartcustoms.runtime import Runtime
from tests.conftest import BROKER, OPERATOR, World, grant_mandate

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "docs" / "examples" / "simulated-history.toml"
START = date(2026, 1, 1)
NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world_sim() -> Simulator:
    return Simulator(seed=21, start_on=START, days=240, importers=40)


@pytest.fixture(scope="module")
def history_csv(tmp_path_factory: pytest.TempPathFactory, world_sim: Simulator) -> Path:
    path = tmp_path_factory.mktemp("sim") / "history.csv"
    write_history_csv(path, world_sim.declarations(3500))
    return path


def _champion(rt: Runtime, csv: Path, *, name: str = "fraud") -> str:
    with rt.write() as s:  # PostgreSQL keeps rows between tests unless told
        s.execute(delete(HistoryRecord))
        s.execute(delete(RiskModel))
    models.invalidate()
    with rt.write() as s:
        history.import_history(s, path=csv, mapping_path=MAPPING, actor=OPERATOR, now=NOW)
    with rt.write() as s:
        row = models.train(s, name=name, train_until=date(2026, 8, 1), actor=OPERATOR, now=NOW)
        models.activate(s, name=row.name, version=row.version, role="champion", actor=OPERATOR, now=NOW)
        return f"{row.name}/v{row.version}"


def _lodge(rt: Runtime, world: World, payload: dict[str, Any], at: datetime) -> str:
    """Lodge a simulated declaration as the broker, under a mandate from its (registered) importer."""
    payload["declarant"] = {"uscc": BROKER, "name": "Shanghai Harbour Brokerage"}
    importer = payload["importer"]["uscc"]
    with rt.write() as s:
        if party_service.find_by_uscc(s, uscc=importer) is None:
            party_service.add(s, data=EnterpriseCreate(uscc=importer, name="Simulated importer"), actor=OPERATOR, now=NOW)
            grant_mandate(s, importer=importer, broker=BROKER)
    with rt.write() as s:
        receipt, _ = selectivity.lodge(s, raw=payload, principal=world.principals["broker"], now=at)
    return str(receipt["number"])


def test_the_champion_scores_and_explains_and_a_challenger_scores_in_shadow(
    rt: Runtime, world: World, history_csv: Path, world_sim: Simulator
) -> None:
    label = _champion(rt, history_csv)
    with rt.write() as s:
        second = models.train(s, name="fraud", train_until=date(2026, 7, 1), actor=OPERATOR, now=NOW)
        models.activate(s, name="fraud", version=second.version, role="challenger", actor=OPERATOR, now=NOW)
    new = world_sim.declarations(3)[-1]
    number = _lodge(rt, world, new.payload(client_reference="MODEL-1"), NOW)
    with rt.read() as s:
        a = s.scalar(select(Assessment).where(Assessment.number == number))
        assert a is not None
        assert a.model == label and 0.0 <= a.score <= 1.0
        assert len(a.contributions) == 8 and all({"feature", "description", "contribution"} <= set(c) for c in a.contributions)
        assert a.challenger is not None and a.challenger["model"] == f"fraud/v{second.version}"
        assert a.random_draw["thresholds_from"] == "the model's validation scores"


def test_thresholds_follow_the_scores_the_offices_actually_see(rt: Runtime, world: World, history_csv: Path, world_sim: Simulator) -> None:
    _champion(rt, history_csv)
    with rt.write() as s:
        selectivity.set_setting(
            s,
            office="*",
            red_rate=0.05,
            yellow_rate=0.10,
            random_rate=0.0,
            valid_from=START,
            reason="Capacity test.",
            actor=OPERATOR,
            now=NOW,
        )
    warm = world_sim.declarations(ranking.SEED_WEIGHT * 4)
    for i, d in enumerate(warm):
        _lodge(rt, world, d.payload(client_reference=f"WARM-{i}"), NOW + timedelta(minutes=i))
    selectivity.invalidate()  # read the recent scores from the database again
    later = world_sim.declarations(80)
    numbers = [_lodge(rt, world, d.payload(client_reference=f"CAP-{i}"), NOW + timedelta(days=1, minutes=i)) for i, d in enumerate(later)]
    with rt.read() as s:
        rows = s.scalars(select(Assessment).where(Assessment.number.in_(numbers))).all()
    assert all(a.random_draw["thresholds_from"].startswith("the last") for a in rows)
    lanes = [a.lane for a in rows]
    # Without random checks or rules, the lanes follow the targets (5 % red, 10 % yellow) within sampling noise.
    assert lanes.count("red") <= 10 and lanes.count("red") + lanes.count("yellow") <= 24, lanes


def test_the_worker_builds_the_classifier_and_the_snapshot_before_lodgings_need_them(
    rt: Runtime, world: World, history_csv: Path, world_sim: Simulator
) -> None:
    from smartcustoms.risk.identification import service as identification

    identification.invalidate()
    assert rt.warm(NOW) == ["identification"]  # no model serves yet: no snapshot to build
    _champion(rt, history_csv)
    assert rt.warm(NOW) == ["snapshot"]
    assert rt.warm(NOW) == []  # both are fresh
    with rt.read() as s:
        cached = models.snapshot(s, until=NOW.date())
    # Late in the snapshot's life the worker builds the next one, which lodgings then use.
    key = next(k for k in models._snapshots if k[1] == NOW.date())
    stamp, generation, snap = models._snapshots[key]
    assert snap is cached
    models._snapshots[key] = (stamp - models.SNAPSHOT_TTL_SECONDS * 0.85, generation, snap)
    assert rt.warm(NOW) == ["snapshot"]
    with rt.read() as s:
        assert models.snapshot(s, until=NOW.date()) is not cached
