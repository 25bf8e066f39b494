"""The model library on simulated trade: a model trained on the past beats the rules-only and random
baselines on the next two months; versions, champion and challenger, drift, and explanations."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import math
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.errors import Conflict, NotFound, ValidationFailed
from smartcustoms.risk.history import service as history
from smartcustoms.risk.history.models import HistoryRecord
from smartcustoms.risk.model import service as models
from smartcustoms.risk.model.models import ModelRole, RiskModel
from smartcustoms.risk.simulator import PATTERNS, Simulator, write_history_csv
from smartcustoms.runtime import Runtime
from tests.conftest import OPERATOR

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "docs" / "examples" / "simulated-history.toml"
START = date(2025, 1, 1)


@pytest.fixture(scope="module")
def year_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 21,000 history rows over 300 days (seed 5)."""
    path = tmp_path_factory.mktemp("sim") / "year.csv"
    write_history_csv(path, Simulator(seed=5, start_on=START, days=300, importers=100).declarations(13000))
    return path


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 6,500 history rows over 200 days (seed 11)."""
    path = tmp_path_factory.mktemp("sim") / "small.csv"
    write_history_csv(path, Simulator(seed=11, start_on=START, days=200, importers=50).declarations(4000))
    return path


@pytest.fixture(autouse=True)
def _empty_library(rt: Runtime) -> None:
    with rt.write() as s:  # PostgreSQL keeps rows between tests unless told
        s.execute(delete(HistoryRecord))
        s.execute(delete(RiskModel))


def _import(rt: Runtime, path: Path) -> None:
    with rt.write() as s:
        report = history.import_history(s, path=path, mapping_path=MAPPING, actor=OPERATOR, now=NOW)
    assert report.rejected == []


def _train(rt: Runtime, until: date, name: str = "fraud") -> RiskModel:
    with rt.write() as s:
        return models.train(s, name=name, train_until=until, actor=OPERATOR, now=NOW)


@pytest.fixture
def trained(rt: Runtime, small_csv: Path) -> RiskModel:
    _import(rt, small_csv)
    return _train(rt, date(2025, 6, 1))


def test_a_model_trained_on_the_past_beats_rules_and_random_on_the_next_two_months(rt: Runtime, year_csv: Path) -> None:
    _import(rt, year_csv)
    model = _train(rt, date(2025, 9, 1))
    with rt.read() as s:
        r = models.evaluate(s, model_name="fraud", date_from=date(2025, 9, 1), date_to=date(2025, 11, 1))
    rules, rnd = r["baselines"]["rules"], r["baselines"]["random"]
    assert model.train_from == date(2025, 2, 1) and model.train_until == date(2025, 9, 1)
    assert r["rows"] > 4000 and r["positives"] > 80
    assert rules["source"] == "starter rules"
    for k in ("1", "2", "5", "10"):
        assert r["precision_at"][k] > rules["precision_at"][k] > rnd["precision_at"][k], k
        assert r["recall_at"][k] > rules["recall_at"][k] > rnd["recall_at"][k], k
        assert r["revenue_at"][k] > rnd["revenue_at"][k], k
    assert r["auc"] > 0.9 > rules["auc"] > 0.5
    assert set(r["patterns"]) == set(PATTERNS)
    assert all(v["model"] > v["random"] for v in r["patterns"].values())
    # Random is the expected value: precision is the base rate, recall the share checked.
    assert rnd["precision_at"]["5"] == pytest.approx(r["positives"] / r["rows"], abs=1e-6)
    assert rnd["recall_at"] == {"1": 0.01, "2": 0.02, "5": 0.05, "10": 0.1}


def test_every_training_adds_a_version_with_its_range_metrics_and_features(rt: Runtime, trained: RiskModel) -> None:
    again = _train(rt, date(2025, 7, 1))
    with rt.read() as s:
        listed = [(m.name, m.version, m.role.value, m.train_until) for m in models.listing(s)]
        v1 = models.get(s, name="fraud", version=1)
        journal = s.scalars(select(AuditEntry).where(AuditEntry.action == "risk_model.trained").order_by(AuditEntry.id)).all()
    assert listed == [("fraud", 2, "registered", date(2025, 7, 1)), ("fraud", 1, "registered", date(2025, 6, 1))]
    assert again.version == 2 and again.rows > trained.rows
    assert v1.rows > 3000 and 0 < v1.positives < v1.rows
    assert set(v1.metrics["validation"]) >= {"auc", "precision_at", "recall_at", "revenue_at", "rows", "positives", "from"}
    assert v1.metrics["validation"]["auc"] > 0.75
    assert "price_dev" in v1.features["names"] and "cat_office" in v1.features["names"]
    assert v1.features["categorical"]["transport_mode"] == ["air", "sea"]
    assert zlib.decompress(v1.artefact).startswith(b"tree\nversion=v4")  # LightGBM's text format, not a pickle
    assert [e.subject_id for e in journal] == ["fraud/v1", "fraud/v2"]


def test_one_champion_and_one_challenger_per_procedure(rt: Runtime, trained: RiskModel) -> None:
    _train(rt, date(2025, 7, 1))
    with rt.write() as s:
        models.activate(s, name="fraud", version=1, role="champion", procedure="*", actor=OPERATOR, now=NOW)
        models.activate(s, name="fraud", version=2, role="challenger", procedure="*", actor=OPERATOR, now=NOW)
    with rt.read() as s:
        champion, challenger = models.for_procedure(s, procedure="general")  # falls back to the models for every procedure
    assert (champion and champion.label, challenger and challenger.label) == ("fraud/v1", "fraud/v2")
    with rt.write() as s:
        models.activate(s, name="fraud", version=2, role="champion", procedure="*", actor=OPERATOR, now=NOW)
    with rt.read() as s:
        roles = {m.version: m.role for m in models.listing(s)}
        champion, challenger = models.for_procedure(s, procedure="*")
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.subject_type == "risk_model").order_by(AuditEntry.id))]
    assert roles == {1: ModelRole.registered, 2: ModelRole.champion}
    assert (champion and champion.label, challenger) == ("fraud/v2", None)
    assert actions == [
        "risk_model.trained",
        "risk_model.trained",
        "risk_model.activated",
        "risk_model.activated",
        "risk_model.replaced",
        "risk_model.activated",
    ]
    with rt.write() as s:
        models.retire(s, name="fraud", version=1, reason="superseded", actor=OPERATOR, now=NOW)
    with pytest.raises(Conflict) as err, rt.write() as s:
        models.activate(s, name="fraud", version=1, role="champion", actor=OPERATOR, now=NOW)
    assert err.value.code == "model_retired"
    with pytest.raises(ValidationFailed) as bad, rt.write() as s:
        models.activate(s, name="fraud", version=2, role="boss", actor=OPERATOR, now=NOW)
    assert [p.code for p in bad.value.problems] == ["RSK-MDL-007"]
    with pytest.raises(NotFound), rt.read() as s:
        models.get(s, name="fraud", version=9)


def test_drift_compares_recent_scores_with_the_training_histogram(rt: Runtime, trained: RiskModel) -> None:
    with rt.read() as s:
        report = models.drift(s, name="fraud", date_from=date(2025, 6, 1), date_to=date(2025, 7, 20))
    assert set(report) == {"model", "rows", "psi", "status", "edges", "expected", "actual", "training_mean", "recent_mean", "from", "to"}
    assert report["model"] == {"name": "fraud", "version": 1} and report["rows"] > 500
    assert len(report["actual"]) == len(report["expected"]) == len(report["edges"]) + 1
    assert sum(report["actual"]) == pytest.approx(1.0, abs=1e-5) and sum(report["expected"]) == pytest.approx(1.0, abs=1e-5)
    assert report["status"] in ("stable", "moderate", "significant") and report["psi"] >= 0
    shifted = models.drift_of(models.LoadedModel.from_row(trained), np.full(1000, 0.99))
    assert shifted["status"] == "significant"


def test_score_one_explains_itself_and_agrees_with_batch_scoring(rt: Runtime, trained: RiskModel) -> None:
    on = date(2025, 6, 1)
    with rt.read() as s:
        model = models.load(s, name="fraud")
        snap = models.snapshot(s, until=on)
        rows = history.frame(s, date_from=on, date_to=date(2025, 6, 2))
    batch = models.score_batch(model, rows, snap)
    facts = rows.to_dict("records")
    for i, f in enumerate(facts[:20]):
        score, why = model.score_one([f], snap, on=on)
        assert why.base + sum(c["contribution"] for c in why.contributions) == pytest.approx(why.raw, abs=1e-9)
        assert score == pytest.approx(1 / (1 + math.exp(-why.raw)), abs=1e-12)
        assert score == pytest.approx(batch[i], abs=1e-9)
        assert len(why.contributions) == len(model.meta.names) and len(why.top(5)) == 5
        tops = [abs(c["contribution"]) for c in why.contributions]
        assert tops == sorted(tops, reverse=True)
    # A declaration of several items scores as its riskiest item.
    worst = int(np.argmax(batch[:3]))
    score, why = model.score_one([{**f, "line": n} for n, f in enumerate(facts[:3], start=1)], snap, on=on)
    assert score == pytest.approx(batch[worst], abs=1e-9) and why.line == worst + 1


def test_training_and_evaluation_refuse_what_they_cannot_do(rt: Runtime, trained: RiskModel) -> None:
    cases = [
        (lambda s: models.train(s, name="Bad Name", train_until=date(2025, 6, 1), actor=OPERATOR, now=NOW), "RSK-MDL-001"),
        (lambda s: models.train(s, name="x", train_until=date(2025, 1, 20), actor=OPERATOR, now=NOW), "RSK-MDL-004"),
        (lambda s: models.train(s, name="x", train_until=date(2024, 6, 1), actor=OPERATOR, now=NOW), "RSK-MDL-003"),
        (lambda s: models.evaluate(s, model_name="fraud", date_from=date(2026, 1, 1), date_to=date(2026, 2, 1)), "RSK-MDL-006"),
        (lambda s: models.evaluate(s, model_name="fraud", date_from=date(2025, 7, 1), date_to=date(2025, 6, 1)), "RSK-MDL-005"),
    ]
    for call, code in cases:
        with pytest.raises(ValidationFailed) as err, rt.write() as s:
            call(s)
        assert [p.code for p in err.value.problems] == [code]


def test_the_rules_baseline_names_the_rules_a_history_cannot_evaluate_instead_of_erring_on_every_row(
    rt: Runtime, small_csv: Path, tmp_path: Path
) -> None:
    import pandas as pd

    bare = tmp_path / "bare.csv"
    pd.read_csv(small_csv, dtype=str, keep_default_na=False).drop(columns=["quantity", "importer_credit"]).to_csv(bare, index=False)
    mapping = tmp_path / "bare.toml"
    mapping.write_text(
        MAPPING.read_text(encoding="utf-8").replace('quantity = "quantity"\n', "").replace('importer_credit = "importer_credit"\n', ""),
        encoding="utf-8",
    )
    with rt.write() as s:
        report = history.import_history(s, path=bare, mapping_path=mapping, actor=OPERATOR, now=NOW)
        assert report.rejected == [] and report.stored > 6000
        models.train(s, name="bare", train_until=date(2025, 6, 1), actor=OPERATOR, now=NOW)
    with rt.read() as s:
        r = models.evaluate(s, model_name="bare", date_from=date(2025, 6, 1), date_to=date(2025, 7, 20))
    rules = r["baselines"]["rules"]
    assert rules["rows_with_errors"] == 0
    assert {k["code"]: k["reason"] for k in rules["skipped"]} == {
        "START-PRICE": "the history has no value of price_ratio (needs quantity, value and a reference price) on any row",
        "START-CREDIT": "the history has no value of importer_credit on any row",
    }
    assert rules["rules"] == ["START-NEW", "START-HUB", "START-WATCH", "START-PROHIBITED"]
    assert r["auc"] > rules["auc"] > 0.5
