"""Fixtures: real databases (SQLite always, PostgreSQL when configured), the app, users and tokens."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, text

from smartcustoms import schema
from smartcustoms.adapters.bus import InProcessBus
from smartcustoms.adapters.storage import DirectoryStore
from smartcustoms.adapters.webhook import RecordingSender
from smartcustoms.audit.service import Actor
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.config import Settings
from smartcustoms.duty import payments
from smartcustoms.duty.models import Guarantee
from smartcustoms.mandate import service as mandate_service
from smartcustoms.party import service as party_service
from smartcustoms.party.models import CreditRating
from smartcustoms.party.schemas import EnterpriseCreate
from smartcustoms.reference import service as reference_service
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.runtime import Runtime
from smartcustoms.tariff import service as tariff_service
from smartcustoms.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLE = SHARED / "examples" / "declaration-import.json"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
OPERATOR = Actor(id=None, name="test-operator", role="admin")
PG_URL = os.environ.get("SMARTCUSTOMS_TEST_DATABASE_URL", "")
PG_SCHEMA = f"sc_test_{os.getpid()}"
WORLD_GUARANTEE = "100000000.00"  # each world enterprise's guarantee (CNY): covers the duties of any test's lodgings
SIGNING_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # a release signing key for production-mode tests (bytes 0..31)

BROKER = "91310000MA1FL8XX29"
IMPORTER = "91120116MA05JB6G5T"
OTHER = "91440300MA5DC7QK1" + "0"  # replaced below with a valid check character


def _valid_uscc(body17: str) -> str:
    from stdnum.cn import uscc

    return body17 + uscc.calc_check_digit(body17)


OTHER = _valid_uscc("91440300MA5DC7QK1")

# Real argon2, at the lowest cost: each test creates eleven users, and production's cost
# (about 170 ms a hash on this machine) would make that the slowest part of the suite.
auth_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NON_REFERENCE_TABLES = (
    "guarantee_debit",
    "duty_payment",
    "duty_account",
    "duty_assessment",
    "guarantee",
    "tariff_line",
    "tariff_preference",
    "gate_feed",
    "gate_hold",
    "gate_check",
    "gate_exit",
    "release_container",
    "xray_scan",
    "inspection_instruction",
    "inspection_photo",
    "clearance_office",
    "review_query",
    "task",
    "release",
    "manifest_declaration_ref",
    "manifest_line",
    "manifest_version",
    "manifest",
    "roster_assignment",
    "roster_officer",
    "roster_dispatch_seed",
    "roster_load",
    "risk_outcome",
    "risk_assessment",
    "risk_selectivity_setting",
    "risk_rule",
    "risk_model",
    "risk_history",
    "risk_watchlist_entry",
    "risk_restricted_good",
    "risk_reference_price",
    "webhook_delivery",
    "webhook_subscription",
    "notification",
    "outbox_message",
    "declaration_document",
    "declaration_event",
    "declaration_version",
    "declaration",
    "declaration_number_counter",
    "rejected_submission",
    "mandate",
    "web_session",
    "sign_in_failure",
    "api_token",
    "app_user",
    "enterprise",
    "audit_entry",
)


def example() -> dict[str, Any]:
    """The canonical import declaration from shared/examples (a fresh copy each time)."""
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return data


def backends() -> list[Any]:
    """SQLite always; PostgreSQL when SMARTCUSTOMS_TEST_DATABASE_URL is set."""
    params = [pytest.param("sqlite", id="sqlite")]
    if PG_URL:
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


def _pg_url() -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{PG_SCHEMA}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the built-in reference data, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    rt = Runtime(Settings(database_url=f"sqlite:///{path}"))
    schema.upgrade(rt.engine)
    with rt.write() as s:
        reference_service.load_builtin(s, actor=OPERATOR, now=NOW)
    rt.stop()
    return path


@pytest.fixture(scope="session")
def pg_ready() -> Iterator[str]:
    """A PostgreSQL schema of our own, migrated, with reference data; dropped at the end."""
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
    rt = Runtime(Settings(database_url=_pg_url()))
    schema.upgrade(rt.engine)
    with rt.write() as s:
        reference_service.load_builtin(s, actor=OPERATOR, now=NOW)
    rt.stop()
    yield _pg_url()
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database for one test, on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_ready")
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("TRUNCATE " + ", ".join(NON_REFERENCE_TABLES) + " RESTART IDENTITY CASCADE"))
    eng.dispose()
    reference_service.invalidate_catalog()
    selectivity.invalidate_all()
    return url


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on the test database, with an in-process bus and a recording webhook sender."""
    runtime = Runtime(
        Settings(database_url=db_url, storage_dir=tmp_path / "files", max_document_bytes=64 * 1024),
        bus=InProcessBus(),
        sender=RecordingSender(),
        store=DirectoryStore(tmp_path / "files"),
    )
    yield runtime
    runtime.stop()


@dataclass
class World:
    """Enterprises and users of every role, with their tokens and principals."""

    tokens: dict[str, str]
    principals: dict[str, Principal]

    def headers(self, name: str) -> dict[str, str]:
        """Authorization header for a user."""
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def grant_mandate(session: Any, *, importer: str, broker: str) -> int:
    """The importer's open-ended mandate for the broker, in force from a year before NOW; its id."""
    found = mandate_service.grant(
        session,
        importer_uscc=importer,
        broker_uscc=broker,
        valid_from=NOW.date().replace(year=NOW.year - 1),
        valid_to=None,
        procedures=None,
        offices=None,
        actor=OPERATOR,
        now=NOW,
    )
    return found.mandate.id


@pytest.fixture
def world(rt: Runtime) -> World:
    """Three enterprises (broker AEO, importer, an unrelated one), the importer's mandate for the broker
    (from a year before NOW, every procedure and office), and one user per role.

    Release needs duties paid or guaranteed: the SAMPLE tariff is loaded and each enterprise has a
    guarantee of WORLD_GUARANTEE, so a green declaration is released in the request that lodged it
    (tests of unpaid duties use `no_guarantees`)."""
    with rt.write() as s:
        for uscc, name, credit in (
            (BROKER, "Shanghai Harbour Brokerage", CreditRating.aeo),
            (IMPORTER, "Tianjin Binhai Electronics", CreditRating.general),
            (OTHER, "Shenzhen Other Trading", CreditRating.low),
        ):
            party_service.add(s, data=EnterpriseCreate(uscc=uscc, name=name, credit=credit), actor=OPERATOR, now=NOW)
        grant_mandate(s, importer=IMPORTER, broker=BROKER)
        # No random draw by default: with a fresh secret seed each test, 2 % of declarations would be
        # drawn at random and a test expecting a lane would fail now and then. Tests of the draw set
        # their own setting.
        selectivity.set_setting(
            s,
            office="*",
            red_rate=0.03,
            yellow_rate=0.07,
            random_rate=0.0,
            valid_from=date(2000, 1, 1),
            reason="Test world: no random draw.",
            actor=OPERATOR,
            now=NOW,
            seed=20261204,
        )
        tariff_service.load_sample(s, actor=OPERATOR, now=NOW)
        for uscc in (BROKER, IMPORTER, OTHER):
            payments.add_guarantee(s, uscc=uscc, amount=WORLD_GUARANTEE, expires=None, actor=OPERATOR, now=NOW)
    tokens: dict[str, str] = {}
    users = (
        ("broker", Role.enterprise, BROKER, None),
        ("importer", Role.enterprise, IMPORTER, None),
        ("other", Role.enterprise, OTHER, None),
        ("officer", Role.officer, None, "2248"),
        ("officer_tianjin", Role.officer, None, "0202"),
        ("inspector", Role.inspector, None, "2248"),
        ("analyst", Role.analyst, None, None),
        ("supervisor", Role.supervisor, None, None),
        ("gate", Role.gate, None, "2248"),
        ("agency", Role.agency, None, None),
        ("admin", Role.admin, None, None),
    )
    with rt.write() as s:
        for name, role, uscc, office in users:
            _, tokens[name] = auth_service.add_user(
                s, name=name, role=role, enterprise_uscc=uscc, office=office, password="correct-horse-battery", actor=OPERATOR, now=NOW
            )
    principals = {}
    with rt.read() as s:
        for name in tokens:
            principals[name] = auth_service.authenticate_token(s, token=tokens[name])
    return World(tokens, principals)


@pytest.fixture
def no_guarantees(rt: Runtime, world: World) -> None:
    """The world without its enterprises' guarantees: import duties must be paid before release."""
    with rt.write() as s:
        s.execute(delete(Guarantee))


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    """An HTTP client for the app on the test runtime (no background worker: tests pump)."""
    app = create_app(rt.settings, runtime=rt, start_workers=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
