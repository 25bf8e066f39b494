"""The rest of `smartcustoms risk` as an operator runs it: the real console script on a SQLite file.

Rules with a second person's approval that then hit a lodged declaration; watch lists, restricted
goods and selectivity settings (the seed never shown); outcomes that become labelled history; and
`retrain`, which activates a new version only when it is at least as good as the champion. Refused
input exits 2, names every problem and changes nothing.

Every process start costs seconds (most of it importing pandas and SQLAlchemy), so set-up happens
in this process and each test runs only the commands it is about.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role, User
from smartcustoms.cli.main import app as cli_app
from smartcustoms.config import get_settings
from smartcustoms.declaration import repository
from smartcustoms.party import service as party_service
from smartcustoms.party.models import CreditRating
from smartcustoms.party.schemas import EnterpriseCreate
from smartcustoms.risk.history.models import HistoryRecord
from smartcustoms.risk.knowledge.models import RestrictedGood, WatchlistEntry
from smartcustoms.risk.model.models import RiskModel
from smartcustoms.risk.parameter import service as rules
from smartcustoms.risk.parameter.models import RiskRule
from smartcustoms.risk.parameter.schemas import RuleCreate
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.risk.selectivity.models import Outcome, SelectivitySetting
from smartcustoms.roster import service as roster
from smartcustoms.runtime import Runtime
from tests.conftest import BROKER, EXAMPLE, IMPORTER, OPERATOR, example, grant_mandate
from tests.e2e.test_cli import SMARTCUSTOMS, Cli

pytestmark = pytest.mark.skipif(not SMARTCUSTOMS.exists(), reason=f"console script {SMARTCUSTOMS} is not installed")

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "docs" / "examples" / "simulated-history.toml"
TODAY = datetime.now(UTC).date()
TOMORROW = TODAY + timedelta(days=1)
SIM_DAYS = 120
SIM_START = TODAY - timedelta(days=SIM_DAYS + 60)  # history ends two months ago: the newest month then holds only outcomes
USERS = (
    ("broker", Role.enterprise, BROKER, None),
    ("officer", Role.officer, None, "2248"),
    ("analyst", Role.analyst, None, None),
    ("supervisor", Role.supervisor, None, None),
)
RULE = {
    "code": "RSK-ORG-001",
    "name": "Smartphones from Viet Nam",
    "reason": "Smartphones declared as of Vietnamese origin are often transshipped.",
    "instructions": "Check the certificate of origin against the bill of lading.",
    "condition": {"all": [{"fact": "origin", "op": "eq", "value": "VN"}, {"fact": "hs4", "op": "eq", "value": "8517"}]},
    "lane": "yellow",
}


@pytest.fixture(scope="module")
def base(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """Two enterprises, a broker, an officer at 2248, an analyst and a supervisor, and simulated labelled history."""
    cli = Cli(tmp_path_factory.mktemp("risk-cli-more"))
    shutil.copy(sqlite_template, cli.db)
    rt = cli.runtime()
    with rt.write() as s:
        for uscc, name, credit in (
            (BROKER, "Shanghai Harbour Brokerage", CreditRating.aeo),
            (IMPORTER, "Tianjin Binhai", CreditRating.general),
        ):
            party_service.add(s, data=EnterpriseCreate(uscc=uscc, name=name, credit=credit), actor=OPERATOR, now=datetime.now(UTC))
        grant_mandate(s, importer=IMPORTER, broker=BROKER)
        for user, role, enterprise, office in USERS:
            auth_service.add_user(s, name=user, role=role, enterprise_uscc=enterprise, office=office, actor=OPERATOR, now=datetime.now(UTC))
    rt.stop()
    # `smartcustoms simulate` and `risk import-history`, as test_risk_cli.py runs them (in this process: set-up only)
    out = cli.home / "sim.csv"
    env = {"SMARTCUSTOMS_DATABASE_URL": cli.url, "SMARTCUSTOMS_STORAGE_DIR": str(cli.home / "files")}
    runner = CliRunner()
    get_settings.cache_clear()
    try:
        sim = ["simulate", "--declarations", "900", "--days", str(SIM_DAYS), "--seed", "7", "--start", SIM_START.isoformat()]
        assert runner.invoke(cli_app, [*sim, "--out", str(out), "--json"], env=env).exit_code == 0
        imported = runner.invoke(cli_app, ["risk", "import-history", str(out), "--mapping", str(MAPPING), "--json"], env=env)
        assert imported.exit_code == 0 and json.loads(imported.stdout)["rejected"] == 0, imported.output
    finally:
        get_settings.cache_clear()
    return cli


@pytest.fixture
def home(base: Cli, tmp_path: Path) -> Cli:
    """A copy of the prepared database for one test."""
    return base.copy_to(tmp_path / "home")


@pytest.fixture
def rt(home: Cli) -> Iterator[Runtime]:
    """A runtime on the test's database, in this process, to prepare and to look."""
    runtime: Runtime = home.runtime()
    selectivity.invalidate_all()
    yield runtime
    runtime.stop()
    selectivity.invalidate_all()


def _count(rt: Runtime, model: Any, *where: Any) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _actions(rt: Runtime) -> list[str]:
    with rt.read() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _batch(home: Cli, *commands: list[str], expect: int = 0) -> list[tuple[str, str]]:
    """Independent commands started together (each costs a process start); (stdout, stderr) of each, in order."""
    running = [(args, home.popen(*args)) for args in commands]
    done = []
    for args, proc in running:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == expect, (args, proc.returncode, out, err)
        done.append((out, err))
    return done


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _principal(rt: Runtime, name: str) -> auth_service.Principal:
    with rt.read() as s:
        user = s.scalar(select(User).where(User.name == name))
        assert user is not None
        return auth_service.principal_of(s, user)


def _lodge(rt: Runtime) -> str:
    """Lodge the example as the broker (assessed at once), in this process; its number."""
    with rt.write() as s:
        receipt, _ = selectivity.lodge(s, raw=example(), principal=_principal(rt, "broker"), now=datetime.now(UTC))
    return str(receipt["number"])


def _lodge_for_review(home: Cli, rt: Runtime) -> str:
    """Lodge the example to the yellow lane with its review task to `officer` (on the roster), as the e2e fixture
    `under_review` does: officers see only the declarations of their tasks."""
    now = datetime.now(UTC)
    with rt.write() as s:
        data = RuleCreate(
            valid_from=TODAY,
            code="PRM-TST-001",
            name="Every declaration",
            reason="Test lane.",
            instructions="Check it.",
            condition={"fact": "consignor_watchlisted", "op": "is", "value": False},
            lane="yellow",
        )
        r = rules.propose(s, data=data, principal=_principal(rt, "analyst"), now=now)
        rules.approve(s, code=r.code, version=r.version, note="Checked.", principal=_principal(rt, "supervisor"), now=now)
        roster.set_officer(s, name="officer", capacity=1000, actor=OPERATOR, now=now)
        # No random check: one lodging in fifty would otherwise go to inspection, out of the officer's sight.
        selectivity.set_setting(
            s,
            office="*",
            red_rate=0.03,
            yellow_rate=0.07,
            random_rate=0.0,
            valid_from=TODAY,
            reason="No random draw.",
            actor=OPERATOR,
            now=now,
        )
    selectivity.invalidate_all()
    return str(home.json("declaration", "lodge", str(EXAMPLE), "--as", "broker")["number"])  # the clearance path routes it


# --- rules ------------------------------------------------------------------------------------------


def test_a_rule_approved_by_a_second_person_hits_the_declaration_the_broker_lodges(home: Cli, rt: Runtime, tmp_path: Path) -> None:
    rule_file = _write(tmp_path / "rule.json", {**RULE, "valid_from": TODAY.isoformat()})

    proposed = home.json("risk", "rule", "propose", str(rule_file), "--as", "analyst")
    assert (proposed["code"], proposed["version"], proposed["status"], proposed["created_by"]) == ("RSK-ORG-001", 1, "proposed", "analyst")

    same = home.run("risk", "rule", "approve", "RSK-ORG-001", "--version", "1", "--note", "Looks right", "--as", "analyst", expect=2)
    assert "same_person" in same.stderr and "another analyst must approve it" in same.stderr
    with rt.read() as s:
        assert s.scalar(select(RiskRule.status)) == "proposed"

    approved = home.json(
        "risk", "rule", "approve", "RSK-ORG-001", "--version", "1", "--note", "Checked on May's seizures", "--as", "supervisor"
    )
    assert (approved["status"], approved["decided_by"], approved["decision_note"]) == ("active", "supervisor", "Checked on May's seizures")

    lodged = home.json("declaration", "lodge", str(EXAMPLE), "--as", "broker")
    shown = home.json("declaration", "show", lodged["number"], "--as", "analyst")

    assert shown["status"] == {"yellow": "under_review", "red": "under_inspection"}[shown["assessment"]["lane"]]  # routed by its lane
    assert [(h["code"], h["version"], h["line"], h["lane"]) for h in shown["assessment"]["hits"]] == [("RSK-ORG-001", 1, 1, "yellow")]
    assert shown["assessment"]["lane"] in ("yellow", "red")
    assert [a for a in _actions(rt) if a.startswith("risk_rule.")] == ["risk_rule.proposed", "risk_rule.approved"]


def test_rule_test_back_tests_a_condition_on_the_history_of_a_period(home: Cli, tmp_path: Path) -> None:
    hubs = _write(tmp_path / "hubs.json", {"fact": "departure_country", "op": "in", "value": ["SG", "HK", "AE", "MY", "PA"]})
    start, end = SIM_START + timedelta(days=30), SIM_START + timedelta(days=90)

    out = home.json("risk", "rule", "test", str(hubs), "--from", start.isoformat(), "--to", end.isoformat())

    assert (out["from"], out["to"], out["labelled"], out["errors"]) == (start.isoformat(), end.isoformat(), True, 0)
    assert out["rows"] > 300 and 0 < out["hits"] < out["rows"] and 0 <= out["true_hits"] <= out["hits"]
    assert out["precision"] == pytest.approx(out["true_hits"] / out["hits"]) and out["revenue"] >= 0


# --- knowledge base and selectivity -------------------------------------------------------------------


def test_watch_lists_restrictions_and_selectivity_settings_change_through_the_services(home: Cli, rt: Runtime) -> None:
    watch = ["risk", "watch", "add", "--list", "intelligence", "--kind", "consignor", "--id", "Saigon  mobile Devices JSC"]
    (added_out, _), (restricted_out, _), (set_plain, set_err) = _batch(
        home,
        [*watch, "--reason", "Two seizures of counterfeit batteries", "--as", "analyst", "--json"],
        ["risk", "restrict", "add", "--hs", "3004", "--licence", "drug import licence", "--reason", "Medicaments", "--as", "analyst", "--json"],
        ["risk", "selectivity", "set", "--office", "2248", "--red", "0.05", "--yellow", "0.1", "--random", "0.02",
         "--window", "800", "--reason", "More inspections at Shanghai", "--as", "analyst"],
    )  # fmt: skip
    added, restricted = json.loads(added_out), json.loads(restricted_out)
    assert (added["list"], added["kind"], added["identifier"], added["valid_from"], added["valid_to"], added["added_by"]) == (
        "intelligence", "consignor", "SAIGON MOBILE DEVICES JSC", TODAY.isoformat(), None, "analyst",
    )  # fmt: skip
    assert (restricted["hs_prefix"], restricted["licence"], restricted["prohibited"]) == ("3004", "drug import licence", False)

    (listed_out, _), (shown, _) = _batch(
        home, ["risk", "watch", "list", "--json"], ["risk", "selectivity", "show", "--office", "2248", "--json"]
    )
    assert [(e["id"], e["identifier"]) for e in json.loads(listed_out)] == [(added["id"], "SAIGON MOBILE DEVICES JSC")]
    ended = home.json("risk", "watch", "end", str(added["id"]), "--reason", "Cleared by the investigation", "--as", "supervisor")
    assert ended["valid_to"] == TODAY.isoformat()

    with rt.read() as s:
        (setting,) = s.scalars(select(SelectivitySetting)).all()
    body = json.loads(shown)
    assert (body["in_force"]["office"], body["in_force"]["red_rate"], body["in_force"]["aeo_factor"]) == ("2248", 0.05, 0.25)
    assert body["in_force"]["seed_ref"] in set_plain and body["settings"][0]["seed_ref"] == body["in_force"]["seed_ref"]
    assert str(setting.seed) not in shown + set_plain + set_err and '"seed"' not in shown
    assert {"counts", "shares", "random_selected", "targets", "assessments", "by_cause"} <= set(body["lane_shares"])
    assert body["in_force"]["score_window"] == 800 and "window 800" in set_plain
    assert set(body["lane_shares"]["by_cause"]) == {"rule", "model", "review_on_error", "random"}
    assert body["lane_shares"]["targets"]["seed_ref"] == body["in_force"]["seed_ref"]

    with rt.read() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action.in_(["watchlist.added", "watchlist.ended"])).order_by(AuditEntry.id))
        assert [(e.action, e.actor_name, e.reason) for e in entries] == [
            ("watchlist.added", "analyst", "Two seizures of counterfeit batteries"),
            ("watchlist.ended", "supervisor", "Cleared by the investigation"),
        ]
    assert {"restricted_good.added", "risk.selectivity_set"} <= set(_actions(rt))


def test_refused_input_exits_2_with_every_problem_and_changes_nothing(home: Cli, rt: Runtime, tmp_path: Path) -> None:
    bad_rule = _write(tmp_path / "bad-rule.json", {**RULE, "code": "ORG-1", "reason": None, "colour": "red", "valid_from": "soon"})
    watched = _count(rt, WatchlistEntry), _count(rt, RestrictedGood), _count(rt, SelectivitySetting), _count(rt, RiskRule)
    journal = _count(rt, AuditEntry)
    cases: dict[str, tuple[list[str], list[str]]] = {
        "rule": (["risk", "rule", "propose", str(bad_rule), "--as", "analyst"], ["REQ-003 /code", "REQ-003 /reason", "REQ-002 /colour", "REQ-003 /valid_from"]),
        "watch": (
            ["risk", "watch", "add", "--list", " ", "--kind", "shipper", "--id", "X", "--reason", " ", "--from", "1 May", "--as", "analyst", "--json"],
            ["REQ-001 /reason", "CLI-DATE-001 /valid_from", "RSK-KB-001 /party_kind", "RSK-KB-002 /list_name"],
        ),
        "restrict": (
            ["risk", "restrict", "add", "--hs", "30x", "--licence", "L", "--prohibited", "--reason", "Arms", "--as", "analyst"],
            ["CLI-OPT-001 /prohibited", "RSK-KB-004 /hs_prefix"],
        ),
        "selectivity": (
            ["risk", "selectivity", "set", "--office", "22", "--red", "0.9", "--yellow", "0.5", "--random", "2", "--reason", "", "--as", "analyst"],
            ["RSK-SEL-006 /reason", "RSK-SEL-001 /random_rate", "RSK-SEL-002 /yellow_rate", "RSK-SEL-005 /office"],
        ),
        "not staff": (["risk", "watch", "add", "--list", "x", "--kind", "importer", "--id", IMPORTER, "--reason", "r", "--as", "broker"], ["forbidden"]),
    }  # fmt: skip

    done = dict(zip(cases, _batch(home, *(args for args, _ in cases.values()), expect=2), strict=True))

    for name, (out, err) in done.items():
        assert out == "" and "Traceback" not in err, (name, err)
        if name == "watch":  # --json: the error body, every problem in it
            body = json.loads(err)
            err = "\n".join(f"{e['code']} {e['pointer']}" for e in body["errors"])
            assert body["code"] == "validation_failed" and len(body["errors"]) == 4, body
        for expected in cases[name][1]:
            assert expected in err, (name, expected, err)
    assert (_count(rt, WatchlistEntry), _count(rt, RestrictedGood), _count(rt, SelectivitySetting), _count(rt, RiskRule)) == watched
    assert _count(rt, AuditEntry) == journal


# --- outcomes and retraining ----------------------------------------------------------------------------


def test_an_outcome_is_journaled_and_becomes_labelled_history(home: Cli, rt: Runtime) -> None:
    number = _lodge_for_review(home, rt)

    refused = home.run(
        "risk", "outcome", number, "--source", "x-ray", "--no-hit", "--critical", "3", "--revenue", "lots", "--as", "officer", expect=2
    )
    for code in ("REQ-003 /revenue_recovered", "RSK-OUT-001 /source", "RSK-OUT-002 /critical", "RSK-OUT-004 /hit"):
        assert code in refused.stderr
    assert _count(rt, Outcome) == 0 and _count(rt, HistoryRecord, HistoryRecord.source == "outcome") == 0

    out = home.json(
        "risk", "outcome", number, "--source", "inspection", "--hit", "--critical", "1", "--revenue", "1200.50",
        "--finding", "Phones undervalued by a third", "--as", "officer",
    )  # fmt: skip

    assert (out["number"], out["source"], out["hit"], out["critical"], out["revenue_recovered"], out["history_rows"]) == (
        number, "inspection", True, 1, "1200.50", 3,
    )  # fmt: skip
    with rt.read() as s:
        rows = s.scalars(select(HistoryRecord).where(HistoryRecord.source == "outcome").order_by(HistoryRecord.declaration_id)).all()
        assert [(r.declaration_id, r.declared_on, r.label_fraud, r.label_critical, r.hs_code) for r in rows] == [
            (f"{number}/{line}", TODAY, 1, 1, hs) for line, hs in ((1, "8517130000"), (2, "8507600090"), (3, "4901990000"))
        ]
        assert sum(Decimal(str(r.revenue_recovered)) for r in rows) == pytest.approx(Decimal("1200.50"))
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "risk.outcome_recorded"))
        assert entry is not None and (entry.actor_name, entry.subject_id, entry.reason) == (
            "officer",
            number,
            "Phones undervalued by a third",
        )


def test_retrain_activates_a_first_champion_and_refuses_a_version_it_cannot_show_is_as_good(home: Cli, rt: Runtime) -> None:
    first = home.json("risk", "retrain", "--name", "fraud", "--activate")

    assert first["activated"] is True and first["champion"] is None and first["better"] is True
    assert (first["model"]["name"], first["model"]["version"], first["model"]["role"], first["procedure"]) == ("fraud", 1, "champion", "*")
    assert first["history"]["outcome_rows"] == 0 and first["history"]["imported_rows"] == first["history"]["rows"] > 1000
    last = SIM_START + timedelta(days=SIM_DAYS)
    assert first["evaluation"]["to"] <= last.isoformat() and first["new"]["positives"] > 0 and first["new"]["auc"] > 0.6
    assert [a for a in _actions(rt) if a.startswith("risk_model.")] == [
        "risk_model.trained",
        "risk_model.activated",
        "risk_model.retrained",
    ]

    # An inspection finds fraud today; the newest month of history is now that declaration's three items alone, all frauds.
    number = _lodge(rt)
    with rt.write() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        selectivity.record_outcome(
            s, decl=decl, source="inspection", hit=True, critical=1, revenue_recovered=Decimal("900"), finding="Undervalued",
            principal=_principal(rt, "officer"), now=datetime.now(UTC),
        )  # fmt: skip
    journal = _count(rt, AuditEntry)

    refused = home.run("risk", "retrain", "--name", "fraud", "--train-until", TOMORROW.isoformat(), "--activate", "--json", expect=1)

    report = json.loads(refused.stdout)
    assert json.loads(refused.stderr)["code"] == "model_not_better"
    assert report["history"]["outcome_rows"] == 3 and report["model"]["rows"] == first["model"]["rows"] + 3  # it learnt from them
    assert report["evaluation"]["from"] > last.isoformat() and (report["new"]["rows"], report["new"]["positives"]) == (3, 3)
    assert report["better"] is None and report["activated"] is False and "cannot be compared" in report["verdict"]
    with rt.read() as s:
        assert [(m.version, m.role.value) for m in s.scalars(select(RiskModel))] == [(1, "champion")]  # nothing stored
    assert _count(rt, AuditEntry) == journal


# --- help ------------------------------------------------------------------------------------------------

NEW = {
    ("risk", "rule"): ["propose", "approve", "reject", "retire", "list", "show", "test"],
    ("risk", "watch"): ["add", "list", "end"],
    ("risk", "restrict"): ["add", "list"],
    ("risk", "selectivity"): ["set", "show"],
}


def test_every_new_group_and_command_answers_help() -> None:
    paths = [("risk",), *NEW, ("risk", "outcome"), ("risk", "retrain")] + [(*g, c) for g, cs in NEW.items() for c in cs]
    for path in paths:  # in this process: test_cli.py starts the console script for the help of every group
        result = CliRunner().invoke(cli_app, [*path, "--help"], prog_name="smartcustoms", env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert result.exit_code == 0, (path, result.output)
        assert f"Usage: smartcustoms {' '.join(path)}" in result.output, (path, result.output)
        if path == ("risk",):
            assert all(c in result.output for c in ("rule", "watch", "restrict", "selectivity", "outcome", "retrain")), result.output
        elif path in NEW:
            assert all(c in result.output for c in NEW[path]), (path, result.output)
        else:
            assert "--json" in result.output, (path, result.output)
