"""A declaration's stored history cannot be changed under the product (issue 9, item 6).

Events and versions are append-only in the database itself (migration 0006, as the journal); content
whose hash no longer matches is not served (500 integrity_error, DEC-INT-001) and is logged; on
PostgreSQL `smartcustoms init --runtime-role` makes a role that lodges but can neither change
history nor disable the guard.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from structlog.testing import capture_logs
from typer.testing import CliRunner

from smartcustoms.cli.main import app as cli
from smartcustoms.config import Settings, get_settings
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, World, example
from tests.e2e.conftest import under_review  # noqa: F401 (the fixture)

API = "/api/v1/declarations"


def _lodge_and_amend(client: TestClient, world: World) -> str:
    number = str(client.post(API, json=example(), headers=world.headers("broker")).json()["number"])
    r = client.post(
        f"{API}/{number}/amendments", json={"reason": "fix remarks", "patch": {"remarks": "v2"}}, headers=world.headers("broker")
    )
    assert r.status_code == 200, r.text
    return number


@pytest.mark.usefixtures("under_review")  # lodged for review: still amendable, not released at once
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE declaration_version SET payload = '{}' WHERE version = 1",
        "UPDATE declaration_version SET content_sha256 = 'x'",
        "DELETE FROM declaration_version",
        "UPDATE declaration_event SET reason = 'rewritten'",
        "DELETE FROM declaration_event",
    ],
)
def test_events_and_versions_refuse_update_and_delete(client: TestClient, world: World, rt: Runtime, statement: str) -> None:
    _lodge_and_amend(client, world)
    with pytest.raises(DBAPIError, match="append-only"), rt.engine.begin() as c:
        c.execute(text(statement))


def _integrity_error(r: Any) -> None:
    assert r.status_code == 500, r.text
    body = r.json()
    assert body["code"] == "integrity_error"
    assert [e["code"] for e in body["errors"]] == ["DEC-INT-001"]
    assert "tampered-value" not in r.text  # the changed content itself is never shown


@pytest.mark.usefixtures("under_review")  # lodged for review: still amendable, not released at once
def test_a_version_changed_under_the_product_is_logged_and_not_served(client: TestClient, world: World, rt: Runtime) -> None:
    number = _lodge_and_amend(client, world)
    h = world.headers("broker")
    assert client.get(f"{API}/{number}/versions/1", headers=h).status_code == 200
    payload = example()
    payload["items"][0]["value"] = "tampered-value"
    _tamper_payload(rt, json.dumps(payload))
    with capture_logs() as logs:
        _integrity_error(client.get(f"{API}/{number}/versions/1", headers=h))
        _integrity_error(client.get(f"{API}/{number}/versions", headers=h))
    assert [e["event"] for e in logs if e.get("log_level") == "error"][:2] == ["declaration.integrity_failed"] * 2
    assert logs[0]["number"] == number and logs[0]["version"] == 1
    # The current version (2) is untouched: the declaration itself is still served.
    assert client.get(f"{API}/{number}", headers=h).status_code == 200
    assert client.get(f"{API}/{number}/versions/2", headers=h).status_code == 200


def _tamper_payload(rt: Runtime, payload_json: str) -> None:
    """What an owner of the tables could do: switch the guard off, change version 1, switch it on."""
    with rt.engine.begin() as c:
        if rt.engine.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE declaration_version DISABLE TRIGGER USER"))
            c.execute(text("UPDATE declaration_version SET payload = CAST(:p AS json) WHERE version = 1"), {"p": payload_json})
            c.execute(text("ALTER TABLE declaration_version ENABLE TRIGGER USER"))
        else:
            c.execute(text("DROP TRIGGER declaration_version_no_update"))
            c.execute(text("UPDATE declaration_version SET payload = :p WHERE version = 1"), {"p": payload_json})
            c.execute(
                text(
                    "CREATE TRIGGER declaration_version_no_update BEFORE UPDATE ON declaration_version "
                    "BEGIN SELECT RAISE(ABORT, 'declaration_version is append-only'); END"
                )
            )


@pytest.mark.usefixtures("under_review")  # lodged for review: still amendable, not released at once
def test_current_content_changed_in_the_declaration_row_is_not_served(client: TestClient, world: World, rt: Runtime) -> None:
    number = _lodge_and_amend(client, world)
    h = world.headers("broker")
    payload = client.get(f"{API}/{number}", headers=h).json()["declaration"]
    payload["items"][0]["value"] = "tampered-value"
    cast = "CAST(:p AS json)" if rt.engine.dialect.name == "postgresql" else ":p"
    with rt.engine.begin() as c:  # the declaration row is not append-only (its status moves): no guard to switch off
        c.execute(text(f"UPDATE declaration SET payload = {cast} WHERE number = :n"), {"p": json.dumps(payload), "n": number})
    with capture_logs() as logs:
        _integrity_error(client.get(f"{API}/{number}", headers=h))
    assert [(e["event"], e["where"]) for e in logs] == [("declaration.integrity_failed", "declaration")]


def _init(db_url: str, *args: str) -> Any:
    """`smartcustoms init ARGS` on the test's database (settings are read once per process: read them afresh)."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, ["init", *args], env={"SMARTCUSTOMS_DATABASE_URL": db_url})
    finally:
        get_settings.cache_clear()


@pytest.fixture
def runtime_role(db_url: str, rt: Runtime) -> Iterator[str]:
    """A runtime role made by `smartcustoms init --runtime-role` on this test's PostgreSQL schema."""
    if not db_url.startswith("postgresql"):
        pytest.skip("roles are a PostgreSQL feature")
    role = f"sc_runtime_{os.getpid()}"
    result = _init(db_url, "--runtime-role", role, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["grants"]["declaration_version"] == "SELECT, INSERT"
    yield role
    with rt.engine.begin() as c:
        c.execute(text(f"DROP OWNED BY {role}"))
        c.execute(text(f"DROP ROLE {role}"))


def test_the_runtime_role_lodges_but_cannot_change_history_nor_disable_the_guard(db_url: str, world: World, runtime_role: str) -> None:
    url = make_url(db_url).set(username=runtime_role)
    as_role = Runtime(Settings(database_url=url.render_as_string(hide_password=False)))
    try:
        with as_role.write() as s:
            receipt, _ = selectivity.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)
        assert receipt["status"] == "assessed"
        engine = create_engine(url)
        for statement in (
            "UPDATE declaration_version SET content_sha256 = 'x'",
            "DELETE FROM declaration_event",
            "ALTER TABLE declaration_version DISABLE TRIGGER USER",
            "ALTER TABLE declaration_version DISABLE TRIGGER ALL",
            "DROP TRIGGER declaration_version_no_change ON declaration_version",
            "TRUNCATE audit_entry",
            "CREATE TABLE smuggled (id int)",
        ):
            with pytest.raises(ProgrammingError, match=r"permission denied|must be owner"), engine.begin() as c:
                c.execute(text(statement))
        engine.dispose()
    finally:
        as_role.stop()


def test_runtime_role_is_refused_on_sqlite(db_url: str, rt: Runtime) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the PostgreSQL case is above")
    result = _init(db_url, "--runtime-role", "server")
    assert result.exit_code == 2 and "PostgreSQL" in result.output
