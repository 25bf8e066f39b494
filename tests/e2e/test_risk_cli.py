"""`smartcustoms risk ...` and `smartcustoms simulate` as an operator runs them: simulate a year of
trade, import it, train, evaluate (`--json` keys exactly as the issue says), register, drift;
refused input exits 2 and names each problem's code."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from smartcustoms.cli import simulate as simulate_module
from smartcustoms.cli.risk import app as risk_app
from smartcustoms.config import get_settings
from smartcustoms.risk.simulator import HISTORY_COLUMNS
from smartcustoms.runtime import Runtime
from tests.conftest import World

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "docs" / "examples" / "simulated-history.toml"
KS = ["1", "2", "5", "10"]
simulate_app = typer.Typer()
simulate_app.command()(simulate_module.simulate)


@pytest.fixture
def cli(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The commands against a fresh SQLite file (the environment's settings are re-read)."""
    db = tmp_path / "cli.db"
    shutil.copy(sqlite_template, db)
    monkeypatch.setenv("SMARTCUSTOMS_DATABASE_URL", f"sqlite:///{db}")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _json(result: Any) -> Any:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_simulate_import_train_evaluate_and_register_from_the_command_line(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "sim.csv"
    sim = _json(
        cli.invoke(
            simulate_app, ["--declarations", "5000", "--days", "240", "--seed", "11", "--start", "2025-01-01", "--out", str(out), "--json"]
        )
    )
    assert (
        sim["declarations"] == 5000
        and sim["rows"] > 7000
        and set(sim["patterns"]) == {"undervaluation", "misclassification", "origin", "quantity", "prohibited"}
    )
    with out.open(newline="") as fh:
        assert tuple(next(csv.reader(fh))) == HISTORY_COLUMNS

    imported = _json(cli.invoke(risk_app, ["import-history", str(out), "--mapping", str(MAPPING), "--json"]))
    assert imported == {
        "source": "simulator",
        "read": sim["rows"],
        "rejected": 0,
        "stored": sim["rows"],
        "skipped": 0,
        "reasons": [],
        "rejections": [],
    }
    again = _json(cli.invoke(risk_app, ["import-history", str(out), "--mapping", str(MAPPING), "--json"]))
    assert (again["stored"], again["skipped"]) == (0, sim["rows"])

    trained = _json(cli.invoke(risk_app, ["train", "--name", "fraud", "--train-until", "2025-07-01", "--json"]))
    assert (trained["name"], trained["version"], trained["role"], trained["train_from"]) == ("fraud", 1, "registered", "2025-02-01")

    result = _json(cli.invoke(risk_app, ["evaluate", "--model", "fraud", "--from", "2025-07-01", "--to", "2025-09-01", "--json"]))
    assert {"precision_at", "recall_at", "revenue_at", "auc", "rows", "baselines", "patterns"} <= set(result)
    for key in ("precision_at", "recall_at", "revenue_at"):
        assert list(result[key]) == KS
        assert list(result["baselines"]["rules"][key]) == KS and list(result["baselines"]["random"][key]) == KS
    assert result["rows"] > 1000 and 0.75 < result["auc"] <= 1
    for k in KS:
        assert result["precision_at"][k] > result["baselines"]["random"]["precision_at"][k]

    table = cli.invoke(risk_app, ["evaluate", "--model", "fraud", "--from", "2025-07-01", "--to", "2025-09-01"])
    assert table.exit_code == 0 and "precision" in table.stdout and "per pattern" in table.stdout

    assert (
        _json(cli.invoke(risk_app, ["activate", "--model", "fraud", "--version", "1", "--role", "champion", "--json"]))["role"]
        == "champion"
    )
    listed = _json(cli.invoke(risk_app, ["models", "--json"]))
    assert [(m["name"], m["version"], m["role"], m["procedure"]) for m in listed] == [("fraud", 1, "champion", "*")]
    drift = _json(cli.invoke(risk_app, ["drift", "--model", "fraud", "--from", "2025-07-01", "--to", "2025-09-01", "--json"]))
    assert drift["status"] in ("stable", "moderate", "significant")
    prices = _json(cli.invoke(risk_app, ["refresh-prices", "--from", "2025-01-01", "--to", "2025-07-01", "--json"]))
    assert prices["prices"] > 20


def test_a_bad_mapping_exits_2_and_names_each_problem(cli: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "h.csv"
    data.write_text("ID,DATE\nD1,2025-01-01\n", encoding="utf-8")
    mapping = tmp_path / "bad.toml"
    mapping.write_text('[columns]\ndeclaration_id = "ID"\nsize = "SIZE"\n', encoding="utf-8")
    result = cli.invoke(risk_app, ["import-history", str(data), "--mapping", str(mapping)])
    assert result.exit_code == 2
    assert "validation_failed" in result.stderr and "RSK-HIS-003" in result.stderr and "RSK-HIS-005" in result.stderr
    as_json = cli.invoke(risk_app, ["import-history", str(data), "--mapping", str(mapping), "--json"])
    body = json.loads(as_json.stderr)
    assert as_json.exit_code == 2 and body["code"] == "validation_failed"
    assert ("RSK-HIS-003", "/columns/size") in [(e["code"], e["pointer"]) for e in body["errors"]]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["evaluate", "--model", "nothing", "--from", "2025-01-01", "--to", "2025-02-01"], "model_not_found"),
        (["evaluate", "--model", "fraud", "--from", "1 March", "--to", "2025-02-01"], "CLI-DATE-001"),
        (["train", "--name", "fraud", "--train-until", "2025-01-01"], "RSK-MDL-003"),
        (["activate", "--model", "fraud", "--version", "1", "--role", "boss"], "RSK-MDL-007"),
    ],
    ids=["unknown model", "bad date", "no history", "unknown role"],
)
def test_refusals_exit_2_with_their_code(cli: CliRunner, args: list[str], code: str) -> None:
    result = cli.invoke(risk_app, args)
    assert result.exit_code == 2 and code in result.stderr


def test_simulate_needs_exactly_one_destination(cli: CliRunner) -> None:
    result = cli.invoke(simulate_app, ["--declarations", "10"])
    assert result.exit_code == 2 and "RSK-SIM-001" in result.stderr


def test_simulate_writes_the_wide_market_in_the_profile_asked_for(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "date.csv"
    args = ["--market", "wide", "--declarations", "300", "--days", "30", "--out", str(out), "--json"]
    done = cli.invoke(simulate_app, [*args, "--profile", "date"])
    assert done.exit_code == 0 and json.loads(done.stdout)["profile"] == "date"
    assert out.read_text(encoding="utf-8").splitlines()[0].split(",")[12:16] == [
        "HS6 Code",
        "Country of Departure",
        "Country of Origin",
        "Tax Rate (%)",
    ]
    refused = cli.invoke(simulate_app, [*args, "--profile", "noisy"])
    assert refused.exit_code == 2 and "RSK-SIM-006" in refused.stderr and "/profile" in refused.stderr


def test_simulate_lodges_through_the_api_as_the_tokens_enterprise(
    cli: CliRunner, client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, rt: Runtime
) -> None:
    def through_the_app(**kw: Any) -> httpx.Client:
        return TestClient(client.app, headers=kw.get("headers"))  # type: ignore[arg-type]

    monkeypatch.setattr(simulate_module.httpx, "Client", through_the_app)
    args = [
        "--declarations",
        "12",
        "--days",
        "30",
        "--seed",
        "3",
        "--start",
        "2026-10-01",
        "--submit",
        "http://testserver",
        "--token",
        world.tokens["broker"],
        "--concurrency",
        "1",
        "--json",
    ]
    result = _json(cli.invoke(simulate_app, args))
    assert result["status_codes"] == {"202": 12}
    again = _json(cli.invoke(simulate_app, args))
    assert again["status_codes"] == {"200": 12}  # the same client references: replayed, not lodged twice
    refused = cli.invoke(simulate_app, [*args[:-5], "--token", world.tokens["officer"], "--json"])
    assert refused.exit_code == 2 and "RSK-SIM-004" in refused.stderr


def test_the_module_runs_as_a_script() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "smartcustoms.cli.risk", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert result.returncode == 0 and "import-history" in result.stdout and "evaluate" in result.stdout
