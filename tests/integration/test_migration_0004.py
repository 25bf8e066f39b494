"""Migration 0004 fills the importer's enterprise of existing declarations and restores the parties
they were lodged with (an amendment could change them before), on each database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from smartcustoms import schema
from tests.conftest import BROKER, IMPORTER, OTHER, PG_URL, backends

AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
UNREGISTERED = "91110000100000000" + "0"
ENTERPRISE = sa.table(
    "enterprise",
    *(sa.column(c) for c in ("id", "uscc", "name", "credit", "out_of_town")),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
DECLARATION = sa.table(
    "declaration",
    *(
        sa.column(c)
        for c in [
            "id",
            "number",
            "kind",
            "procedure",
            "status",
            "client_reference",
            "submitter_enterprise_id",
            "declarant_uscc",
            "trader_uscc",
            "office",
            "port",
            "currency",
            "total_value",
            "item_count",
            "advance",
            "version",
            "content_sha256",
            "submitted_sha256",
        ]
    ),
    sa.column("payload", sa.JSON),
    sa.column("receipt", sa.JSON),
    sa.column("lodged_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
VERSION = sa.table(
    "declaration_version",
    *(sa.column(c) for c in ("id", "declaration_id", "version", "content_sha256", "actor_name")),
    sa.column("payload", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


@pytest.fixture(params=backends())
def engine_at_0003(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    """An empty database migrated to 0003 (SQLite file, or a PostgreSQL schema of its own)."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path}/m.db")
        yield engine
        engine.dispose()
        return
    name = f"sc_mig_{os.getpid()}"
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in PG_URL else "?"
    engine = create_engine(f"{PG_URL}{sep}options=-csearch_path%3D{name}")
    yield engine
    engine.dispose()
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    admin.dispose()


def _payload(declarant: str, importer: str) -> dict[str, object]:
    return {"kind": "import", "declarant": {"uscc": declarant, "name": "d"}, "importer": {"uscc": importer, "name": "i"}}


def _declaration(id_: int, *, submitter: int, declarant: str, trader: str, payload: dict[str, object]) -> dict[str, object]:
    return {
        "id": id_, "number": f"22482026100000000{id_}", "kind": "import", "procedure": "general", "status": "assessed",
        "client_reference": f"REF-{id_}", "submitter_enterprise_id": submitter, "declarant_uscc": declarant, "trader_uscc": trader,
        "office": "2248", "port": "CNSHA", "currency": "USD", "total_value": "1.00", "item_count": 1, "advance": False, "version": 2,
        "content_sha256": "0" * 64, "submitted_sha256": "0" * 64, "payload": payload, "receipt": {}, "lodged_at": AT, "updated_at": AT,
    }  # fmt: skip


def test_the_importers_enterprise_is_filled_in_and_the_parties_as_lodged_restored(engine_at_0003: Engine) -> None:
    cfg = schema.alembic_config(engine_at_0003)
    command.upgrade(cfg, "0003")
    with engine_at_0003.begin() as c:
        c.execute(
            ENTERPRISE.insert(),
            [
                {"id": i, "uscc": u, "name": u, "credit": "general", "out_of_town": False, "created_at": AT}
                for i, u in ((1, BROKER), (2, IMPORTER), (3, OTHER))
            ],
        )
        hijacked = _payload(OTHER, IMPORTER)  # version 2: the importer made OTHER the declarant (possible before 0004)
        c.execute(
            DECLARATION.insert(),
            [
                _declaration(1, submitter=1, declarant=OTHER, trader=IMPORTER, payload=hijacked),
                _declaration(2, submitter=1, declarant=BROKER, trader=UNREGISTERED, payload=_payload(BROKER, UNREGISTERED)),
                _declaration(3, submitter=2, declarant=IMPORTER, trader=IMPORTER, payload=_payload(IMPORTER, IMPORTER)),
            ],
        )
        c.execute(
            VERSION.insert(),
            [
                {"id": 1, "declaration_id": 1, "version": 1, "content_sha256": "0" * 64, "actor_name": "a", "payload": _payload(BROKER, IMPORTER), "created_at": AT},
                {"id": 2, "declaration_id": 1, "version": 2, "content_sha256": "0" * 64, "actor_name": "t", "payload": hijacked, "created_at": AT},
                {"id": 3, "declaration_id": 2, "version": 1, "content_sha256": "0" * 64, "actor_name": "a", "payload": _payload(BROKER, UNREGISTERED), "created_at": AT},
                {"id": 4, "declaration_id": 3, "version": 1, "content_sha256": "0" * 64, "actor_name": "t", "payload": _payload(IMPORTER, IMPORTER), "created_at": AT},
            ],
        )  # fmt: skip
    command.upgrade(cfg, "heads")
    with engine_at_0003.connect() as c:
        rows = c.execute(
            text("SELECT id, submitter_enterprise_id, trader_enterprise_id, declarant_uscc, trader_uscc FROM declaration ORDER BY id")
        ).all()
        assert c.execute(text("SELECT count(*) FROM mandate")).scalar() == 0
    assert [tuple(r) for r in rows] == [
        (1, 1, 2, BROKER, IMPORTER),
        (2, 1, None, BROKER, UNREGISTERED),
        (3, 2, 2, IMPORTER, IMPORTER),
    ]
    _ = date
