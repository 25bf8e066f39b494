"""`smartcustoms mandate grant | list | revoke` and the customs office an office role's user needs, through the console script."""

# ruff: noqa: F811  (the fixtures of test_cli.py are imported, and named again as test parameters)
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth.models import User
from tests.conftest import BROKER, EXAMPLE, IMPORTER
from tests.e2e.test_cli import Cli, populated, pytestmark, runtime_of, templates  # noqa: F401


def _count(rt: Any, model: Any) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_mandates_are_granted_listed_and_revoked_and_a_revoked_one_no_longer_lets_the_broker_lodge(populated: Cli) -> None:
    listed = populated.json("mandate", "list")
    assert [(m["importer"], m["broker"], m["status"], m["procedures"], m["offices"]) for m in listed] == [
        (IMPORTER, BROKER, "in_force", None, None)
    ]
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    second = populated.json(
        "mandate", "grant", "--importer", IMPORTER, "--broker", BROKER, "--valid-to", until, "--procedure", "bonded", "--office", "2248"
    )
    assert (second["valid_to"], second["procedures"], second["offices"], second["granted_by"]) == (
        until,
        ["bonded"],
        ["2248"],
        "cli-operator",
    )
    assert [m["id"] for m in populated.json("mandate", "list", "--uscc", BROKER)] == [second["id"], listed[0]["id"]]
    populated.run("mandate", "revoke", str(listed[0]["id"]))
    assert populated.json("mandate", "list")[1]["status"] == "revoked"
    refused = populated.run("declaration", "lodge", str(EXAMPLE), "--as", "broker", expect=2)
    assert "DEC-MND-002 /importer/uscc" in refused.stderr  # the remaining mandate covers only bonded goods
    again = populated.run("mandate", "revoke", str(listed[0]["id"]), expect=2)
    assert "mandate_revoked" in again.stderr


def test_a_mandate_with_problems_exits_2_with_every_code(populated: Cli) -> None:
    done = populated.run("mandate", "grant", "--importer", IMPORTER, "--broker", IMPORTER, "--valid-from", "2026-02-30", expect=2)
    assert "CLI-DATE-001 /valid_from" in done.stderr
    done = populated.run(
        "mandate", "grant", "--importer", IMPORTER, "--broker", IMPORTER, "--valid-from", "2026-03-01", "--valid-to", "2026-03-01", expect=2
    )
    assert "MND-GRT-002 /broker" in done.stderr and "MND-GRT-003 /valid_to" in done.stderr
    done = populated.run("mandate", "grant", "--importer", IMPORTER, "--broker", BROKER, "--procedure", "smuggling", expect=2)
    assert "MND-GRT-006 /procedures/0" in done.stderr


def test_office_roles_need_a_customs_office_from_the_reference_list(populated: Cli, runtime_of: Any) -> None:
    rt = runtime_of(populated)
    before = (_count(rt, User), _count(rt, AuditEntry))
    missing = populated.run("user", "add", "--role", "officer", "--name", "nowhere", expect=2)
    assert "AUTH-USR-006 /office" in missing.stderr
    unknown = populated.run("user", "add", "--role", "inspector", "--name", "nowhere", "--office", "9999", expect=2)
    assert "AUTH-USR-007 /office: 9999 is not a customs office in the reference list." in unknown.stderr
    national = populated.run("user", "add", "--role", "analyst", "--name", "nowhere", "--office", "2248", expect=2)
    assert "AUTH-USR-008 /office" in national.stderr
    assert (_count(rt, User), _count(rt, AuditEntry)) == before
    populated.run("user", "add", "--role", "gate", "--name", "gate-0202", "--office", "0202")
    with rt.read() as s:
        assert s.scalar(select(User.office_code).where(User.name == "gate-0202")) == "0202"
