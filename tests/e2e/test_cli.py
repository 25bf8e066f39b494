"""The real `smartcustoms` console script, run as a process on a fresh SQLite file, the way an operator uses it.

Refused input exits 2 and names each problem's code; `--json` prints machine-readable output;
the token of a new user is the last line of standard output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.core import TyperGroup
from typer.testing import CliRunner

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role, User
from smartcustoms.cli.main import app as cli_app
from smartcustoms.config import Settings
from smartcustoms.declaration.models import Declaration, DeclarationEvent, RejectedSubmission
from smartcustoms.party.models import Enterprise
from smartcustoms.reference.models import ExchangeRate, HsCode
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.runtime import Runtime
from smartcustoms.web.app import create_app
from tests.conftest import BROKER, EXAMPLE, IMPORTER, example

SMARTCUSTOMS = Path(sys.executable).with_name("smartcustoms")
pytestmark = pytest.mark.skipif(not SMARTCUSTOMS.exists(), reason=f"console script {SMARTCUSTOMS} is not installed")
WRONG_CHECK_CHARACTER = BROKER[:-1] + "8"  # 91310000MA1FL8XX28


@dataclass
class Cli:
    """The console script against one SQLite file, run from (and storing files under) one folder."""

    home: Path

    @property
    def db(self) -> Path:
        return self.home / "smartcustoms.db"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCUSTOMS_")}
        env.update(
            SMARTCUSTOMS_DATABASE_URL=self.url,
            SMARTCUSTOMS_STORAGE_DIR=str(self.home / "files"),
            COLUMNS="200",  # rich wraps at 80 columns without a terminal; keep each message on one line
            NO_COLOR="1",
        )
        env.update(extra)
        return env

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(SMARTCUSTOMS), *args], cwd=self.home, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def run(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(SMARTCUSTOMS), *args], cwd=self.home, env=self.env(), capture_output=True, text=True, timeout=120)
        if expect is not None:
            assert done.returncode == expect, f"smartcustoms {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def copy_to(self, home: Path) -> Cli:
        """The same database, copied into another folder (the file only: no process has it open)."""
        home.mkdir(parents=True, exist_ok=True)
        for f in self.home.glob("smartcustoms.db*"):
            shutil.copy(f, home / f.name)
        return Cli(home)

    def runtime(self) -> Runtime:
        return Runtime(Settings(database_url=self.url, storage_dir=self.home / "files"))


@dataclass
class Templates:
    """Databases prepared once through the console script, copied for each test."""

    initialized: Cli
    populated: Cli  # + the broker (AEO) and importer enterprises, the importer's mandate for the broker, the enterprise user "broker"
    broker_token: str


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    initialized = Cli(tmp_path_factory.mktemp("cli-initialized"))
    initialized.run("init")
    populated = initialized.copy_to(tmp_path_factory.mktemp("cli-populated"))
    populated.run("enterprise", "add", "--uscc", BROKER, "--name", "Shanghai Harbour Brokerage Co., Ltd.", "--credit", "aeo")
    populated.run("enterprise", "add", "--uscc", IMPORTER, "--name", "Tianjin Binhai Electronics Trading Co., Ltd.")
    populated.run("mandate", "grant", "--importer", IMPORTER, "--broker", BROKER)
    # Release needs the duties paid or guaranteed: the SAMPLE tariff and the importer's guarantee.
    populated.run("tariff", "load-sample")
    populated.run("guarantee", "add", "--uscc", IMPORTER, "--amount", "100000000.00")
    token = populated.run("user", "add", "--role", "enterprise", "--name", "broker", "--enterprise", BROKER).stdout.splitlines()[-1]
    return Templates(initialized, populated, token)


@pytest.fixture
def fresh(tmp_path: Path) -> Cli:
    """A folder with no database yet."""
    return Cli(tmp_path)


@pytest.fixture
def initialized(templates: Templates, tmp_path: Path) -> Cli:
    """A database after `smartcustoms init`."""
    return templates.initialized.copy_to(tmp_path / "initialized")


@pytest.fixture
def populated(templates: Templates, tmp_path: Path) -> Cli:
    """A database after `init`, two `enterprise add`, the sample tariff, the importer's guarantee and `user add --name broker`."""
    return templates.populated.copy_to(tmp_path / "populated")


@pytest.fixture
def runtime_of() -> Iterator[Any]:
    """Open runtimes on a CLI's database (in this process), stopped after the test."""
    opened: list[Runtime] = []

    def open_(cli: Cli) -> Runtime:
        opened.append(cli.runtime())
        return opened[-1]

    yield open_
    for rt in opened:
        rt.stop()


def _count(rt: Runtime, model: Any) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --- init --------------------------------------------------------------------------------


def test_init_creates_the_schema_and_reference_data_and_a_second_run_adds_nothing(fresh: Cli, runtime_of: Any) -> None:
    first = fresh.json("init")
    assert first["database"] == "sqlite"
    kinds = [
        "country",
        "currency",
        "unit",
        "incoterm",
        "transport_mode",
        "office",
        "port",
        "hs_code",
        "exchange_rate",
        "selectivity_settings",
    ]
    assert list(first["loaded"]) == kinds
    assert all(first["loaded"][k] > 0 for k in kinds), first
    assert first["loaded"]["selectivity_settings"] == 1  # the default setting, with its own secret seed
    rt = runtime_of(fresh)
    before = (_count(rt, HsCode), _count(rt, ExchangeRate), _count(rt, AuditEntry))
    assert before[0] == first["loaded"]["hs_code"] and before[1] == first["loaded"]["exchange_rate"]

    second = fresh.json("init")

    assert second == {"database": "sqlite", "loaded": dict.fromkeys(kinds, 0)}
    assert (_count(rt, HsCode), _count(rt, ExchangeRate), _count(rt, AuditEntry)) == before


# --- enterprises and users ---------------------------------------------------------------


def test_enterprise_add_registers_a_valid_uscc(initialized: Cli, runtime_of: Any) -> None:
    out = initialized.json("enterprise", "add", "--uscc", BROKER, "--name", "Shanghai Harbour Brokerage Co., Ltd.", "--credit", "aeo")
    assert out == {"uscc": BROKER, "name": "Shanghai Harbour Brokerage Co., Ltd.", "credit": "aeo"}
    with runtime_of(initialized).read() as s:
        assert [(e.uscc, e.credit.value) for e in s.scalars(select(Enterprise))] == [(BROKER, "aeo")]


def test_enterprise_add_refuses_a_wrong_check_character_with_exit_2_and_changes_nothing(initialized: Cli, runtime_of: Any) -> None:
    rt = runtime_of(initialized)
    audit_before = _count(rt, AuditEntry)

    done = initialized.run("enterprise", "add", "--uscc", WRONG_CHECK_CHARACTER, "--name", "Typo Ltd.", expect=2)

    assert "PTY-USCC-002 /uscc" in done.stderr
    assert f"The USCC {WRONG_CHECK_CHARACTER} has a wrong check character." in done.stderr
    assert done.stdout == ""
    assert _count(rt, Enterprise) == 0 and _count(rt, AuditEntry) == audit_before


def test_user_add_prints_the_token_last_and_that_token_authenticates(populated: Cli, runtime_of: Any) -> None:
    done = populated.run("user", "add", "--role", "enterprise", "--name", "x", "--enterprise", IMPORTER)

    token = done.stdout.splitlines()[-1]
    assert token.startswith("sc_") and done.stdout == token + "\n"
    assert "user x (enterprise) created" in done.stderr
    rt = runtime_of(populated)
    with rt.read() as s:
        who = auth_service.authenticate_token(s, token=token)
    assert (who.name, who.role, who.enterprise_uscc, who.office) == ("x", Role.enterprise, IMPORTER, None)
    with TestClient(create_app(rt.settings, runtime=rt, start_workers=False)) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json() == {"name": "x", "role": "enterprise", "enterprise": IMPORTER, "office": None}


def test_an_enterprise_user_without_an_enterprise_is_refused_with_exit_2_and_changes_nothing(populated: Cli, runtime_of: Any) -> None:
    rt = runtime_of(populated)
    users_before, audit_before = _count(rt, User), _count(rt, AuditEntry)

    done = populated.run("user", "add", "--role", "enterprise", "--name", "x", expect=2)

    assert "AUTH-USR-001 /enterprise: An enterprise user must be bound to an enterprise (give its USCC)." in done.stderr
    assert done.stdout == ""
    assert (_count(rt, User), _count(rt, AuditEntry)) == (users_before, audit_before)


# --- declarations --------------------------------------------------------------------------


def test_lodging_a_file_prints_the_number_and_lodging_it_again_says_replayed(populated: Cli, runtime_of: Any) -> None:
    first = populated.json("declaration", "lodge", str(EXAMPLE), "--as", "broker")

    number = first["number"]
    assert len(number) == 18 and number.startswith(f"2248{datetime.now(UTC).year}1")
    lane = first["assessment"]["lane"]
    assert lane in ("green", "blue", "yellow", "red") and set(first["assessment"]) == {"lane", "check", "message"}
    # Routed in the lodging command: green and blue are released at once, yellow goes to review, red to inspection.
    routed = {"green": "released", "blue": "released", "yellow": "under_review", "red": "under_inspection"}[lane]
    assert (first["status"], first["client_reference"], first["version"], first["replayed"]) == (routed, "SHIMP-2026-000123", 1, False)

    again = populated.json("declaration", "lodge", str(EXAMPLE), "--as", "broker")

    assert again == {**first, "replayed": True}
    plain = populated.run("declaration", "lodge", str(EXAMPLE), "--as", "broker")
    lines = plain.stdout.strip().splitlines()
    assert lines[0] == f"already lodged: {number} {routed}"
    assert lines[1] == f"lane {first['assessment']['lane']}: {first['assessment']['message']}"
    rt = runtime_of(populated)
    assert _count(rt, Declaration) == 1 and _count(rt, DeclarationEvent) == 4  # lodged, accepted, assessed, routed


def test_a_bad_declaration_file_exits_2_with_every_problem_and_stores_only_rejections(
    populated: Cli, runtime_of: Any, tmp_path: Path
) -> None:
    bad = example()
    bad["items"][0]["hs_code"] = "12"
    bad["containers"][0]["number"] = "MSKU1234566"
    bad["currency"] = "XXQ"
    path = _write(tmp_path / "bad.json", bad)

    plain = populated.run("declaration", "lodge", str(path), "--as", "broker", expect=2)
    as_json = populated.run("declaration", "lodge", str(path), "--as", "broker", "--json", expect=2)

    assert "validation_failed: The declaration has 3 problem(s); nothing was stored." in plain.stderr
    for line in ("DEC-CTR-001 /containers/0/number", "DEC-REF-002 /currency", "DEC-HS-001 /items/0/hs_code"):
        assert line in plain.stderr
    assert plain.stdout == as_json.stdout == ""
    body = json.loads(as_json.stderr)
    assert (body["error"], body["code"]) == ("Validation failed", "validation_failed")
    assert {(e["code"], e["pointer"]) for e in body["errors"]} == {
        ("DEC-CTR-001", "/containers/0/number"),
        ("DEC-REF-002", "/currency"),
        ("DEC-HS-001", "/items/0/hs_code"),
    }
    rt = runtime_of(populated)
    assert _count(rt, Declaration) == 0
    with rt.read() as s:
        rejected = [(r.client_reference, r.codes, r.problem_count) for r in s.scalars(select(RejectedSubmission))]
    assert rejected == [("SHIMP-2026-000123", ["DEC-CTR-001", "DEC-HS-001", "DEC-REF-002"], 3)] * 2


def test_a_file_that_is_not_json_exits_2_with_req_008_instead_of_a_traceback(populated: Cli, runtime_of: Any, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"client_reference": "SHIMP-1",', encoding="utf-8")

    done = populated.run("declaration", "lodge", str(path), "--as", "broker", "--json", expect=2)

    body = json.loads(done.stderr)
    assert (body["code"], body["detail"]) == ("validation_failed", "broken.json is not valid JSON.")
    assert [(e["code"], e["pointer"]) for e in body["errors"]] == [("REQ-008", "/file")]
    assert "Traceback" not in done.stderr
    rt = runtime_of(populated)
    assert _count(rt, Declaration) == _count(rt, RejectedSubmission) == 0


def test_list_show_and_withdraw_act_as_the_named_user(populated: Cli, templates: Templates, runtime_of: Any) -> None:
    rt = runtime_of(populated)
    with rt.read() as s:
        broker = auth_service.authenticate_token(s, token=templates.broker_token)
    with rt.write() as s:
        receipt, _ = selectivity.lodge(s, raw=example(), principal=broker, now=datetime.now(UTC))
    number = receipt["number"]

    listed = populated.json("declaration", "list", "--as", "broker")
    assert listed["total"] == 1
    assert [(d["number"], d["status"], d["client_reference"], d["value"]) for d in listed["items"]] == [
        (number, "assessed", "SHIMP-2026-000123", "USD 234240.00")
    ]
    shown = populated.json("declaration", "show", number, "--as", "broker")
    assert (shown["number"], shown["status"], shown["version"], shown["declaration"]) == (number, "assessed", 1, example())
    assert [(e["event"], e["to"]) for e in shown["events"]] == [
        ("declaration.lodged", "lodged"),
        ("declaration.accepted", "accepted"),
        ("declaration.assessed", "assessed"),
    ]
    assert shown["assessment"]["lane"] == receipt["assessment"]["lane"] and "score" not in shown["assessment"]

    withdrawn = populated.json("declaration", "withdraw", number, "--reason", "Declared under the wrong procedure", "--as", "broker")
    assert withdrawn == {"number": number, "status": "withdrawn"}

    again = populated.run("declaration", "withdraw", number, "--reason", "again", "--as", "broker", "--json", expect=2)
    assert json.loads(again.stderr)["code"] == "illegal_transition"
    nobody = populated.run("declaration", "list", "--as", "nobody", "--json", expect=2)
    assert json.loads(nobody.stderr) == {"error": "Not found", "code": "user_not_found", "detail": "No user named 'nobody'.", "errors": []}
    with rt.read() as s:
        events = s.scalars(select(DeclarationEvent.event).order_by(DeclarationEvent.id)).all()
        reasons = s.scalars(select(DeclarationEvent.reason).order_by(DeclarationEvent.id)).all()
    assert list(events) == ["declaration.lodged", "declaration.accepted", "declaration.assessed", "declaration.withdrawn"]
    assert reasons[-1] == "Declared under the wrong procedure"


# --- help and demo -----------------------------------------------------------------------


def _commands(group: TyperGroup, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], bool]:
    """Every command path under the group, mapped to whether it is a group itself."""
    paths = {prefix: True}
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            paths |= _commands(command, (*prefix, name))
        else:
            paths[(*prefix, name)] = False
    return paths


def _root() -> TyperGroup:
    root = typer.main.get_command(cli_app)
    assert isinstance(root, TyperGroup)
    return root


def test_every_command_group_answers_help_from_the_console_script(fresh: Cli) -> None:
    groups = [path for path, is_group in _commands(_root()).items() if is_group]
    assert {(), ("reference",), ("enterprise",), ("user",), ("declaration",)} <= set(groups)

    running = [(path, fresh.popen(*path, "--help")) for path in groups]  # all at once: each costs a process start
    for path, proc in running:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (path, err)
        assert f"Usage: smartcustoms {' '.join(path)}".rstrip() in out, (path, out)
    assert not fresh.db.exists()  # asking for help touches no database


def test_every_command_answers_help() -> None:
    commands = [path for path, is_group in _commands(_root()).items() if not is_group]
    assert {("init",), ("serve",), ("demo",), ("declaration", "lodge"), ("user", "add"), ("reference", "load-locode")} <= set(commands)

    for path in commands:  # in this process: starting the console script is covered above
        result = CliRunner().invoke(cli_app, [*path, "--help"], prog_name="smartcustoms", env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert result.exit_code == 0, (path, result.output)
        assert f"Usage: smartcustoms {' '.join(path)}" in result.output, (path, result.output)


def test_demo_creates_users_of_every_role_and_prints_their_tokens(initialized: Cli, runtime_of: Any) -> None:
    out = initialized.json("demo", "--declarations", "40")

    assert (out["enterprises_added"], out["declarations_added"]) == (5, 40)
    names = [
        "admin",
        "broker",
        "importer",
        "shenzhen",
        "ningbo",
        "officer",
        "inspector",
        "analyst",
        "supervisor",
        "gate",
        "xray",
        "scanner",
        "agency",
        "line",
        "bank",
    ]
    assert list(out["tokens"]) == names
    rt = runtime_of(initialized)
    with rt.read() as s:
        roles = {name: auth_service.authenticate_token(s, token=token).role for name, token in out["tokens"].items()}
    assert set(roles.values()) == set(Role)
    assert (roles["broker"], roles["officer"], roles["admin"]) == (Role.enterprise, Role.officer, Role.admin)
    assert _count(rt, Declaration) == 40


def test_revoking_a_users_tokens_or_disabling_them_locks_them_out_of_a_running_server(
    populated: Cli, templates: Templates, runtime_of: Any
) -> None:
    rt = runtime_of(populated)
    rt.settings = settings = rt.settings.model_copy(update={"auth_cache_seconds": 0.5})
    token = templates.broker_token
    second = populated.run("user", "token", "--name", "broker").stdout.splitlines()[-1]
    me = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, runtime=rt, start_workers=False)) as client:
        assert client.get("/api/v1/me", headers=me).status_code == 200  # now remembered by this server
        assert populated.json("user", "revoke", "--name", "broker") == {"user": "broker", "revoked": 2}
        # Another process revoked them: this server hears of it within SMARTCUSTOMS_AUTH_CACHE_SECONDS.
        time.sleep(0.6)
        for t in (token, second):
            r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {t}"})
            assert r.status_code == 401, r.text
        fresh_token = populated.run("user", "token", "--name", "broker").stdout.splitlines()[-1]
        mine = {"Authorization": f"Bearer {fresh_token}"}
        assert client.get("/api/v1/me", headers=mine).status_code == 200  # a new token works at once
        assert populated.json("user", "disable", "--name", "broker") == {"user": "broker", "active": False}
        time.sleep(0.6)
        assert client.get("/api/v1/me", headers=mine).status_code == 401
        assert populated.json("user", "enable", "--name", "broker") == {"user": "broker", "active": True}
        time.sleep(0.6)
        assert client.get("/api/v1/me", headers=mine).status_code == 200
    with rt.read() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "user").order_by(AuditEntry.id)))
    assert actions[-3:] == ["user.tokens_revoked", "user.disabled", "user.enabled"]
    bad = populated.run("user", "revoke", "--name", "nobody", "--json", expect=2)
    assert "AUTH-USR-005" in bad.stdout + bad.stderr


def test_in_the_server_process_a_revocation_takes_effect_at_once(populated: Cli, templates: Templates, runtime_of: Any) -> None:
    rt = runtime_of(populated)
    me = {"Authorization": f"Bearer {templates.broker_token}"}
    with TestClient(create_app(rt.settings, runtime=rt, start_workers=False)) as client:
        assert rt.settings.auth_cache_seconds > 1
        assert client.get("/api/v1/me", headers=me).status_code == 200
        with rt.write() as s:
            assert auth_service.revoke_tokens(s, name="broker", actor=auth_service.Actor.system("test"), now=datetime.now(UTC)) == 1
        assert client.get("/api/v1/me", headers=me).status_code == 401
