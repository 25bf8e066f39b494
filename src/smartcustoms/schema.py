"""Every model in one metadata, and creating or upgrading the schema with Alembic."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine

import smartcustoms.audit.models
import smartcustoms.auth.models
import smartcustoms.clearance.models
import smartcustoms.declaration.models
import smartcustoms.duty.models
import smartcustoms.gate.models
import smartcustoms.inspection.models
import smartcustoms.kit.outbox
import smartcustoms.mandate.models
import smartcustoms.manifest.models
import smartcustoms.notification.models
import smartcustoms.party.models
import smartcustoms.reference.models
import smartcustoms.release.models
import smartcustoms.review.models
import smartcustoms.risk.history.models
import smartcustoms.risk.knowledge.models
import smartcustoms.risk.model.models
import smartcustoms.risk.parameter.models
import smartcustoms.risk.selectivity.models
import smartcustoms.roster.models
import smartcustoms.tariff.models
import smartcustoms.task.models
import smartcustoms.xray.models  # noqa: F401  (registers the tables)
from smartcustoms.kit.db import Base

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def metadata() -> MetaData:
    """The metadata holding every table."""
    return Base.metadata


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to the engine."""
    from alembic.config import Config  # Alembic only when migrating: every command and server would load it

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command

    command.upgrade(alembic_config(engine), "heads")


# Tables the database itself keeps append-only (triggers in migrations 0001 and 0006): the runtime
# role may read and add rows, never change or remove them.
APPEND_ONLY = frozenset({"audit_entry", "declaration_event", "declaration_version"})
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def grant_runtime_role(engine: Engine, *, role: str, password: str | None) -> dict[str, str]:
    """Create (or update) a PostgreSQL login role the server runs as, owning nothing (idempotent).

    It may read and write the tables' rows (append-only tables: read and add), use their id
    sequences and nothing else: no DDL, no TRUNCATE, no ownership, so it can neither change the
    schema nor disable the append-only triggers (only a table's owner or a superuser can). Run it
    again after every upgrade: new tables get their grants then. Returns table -> privileges.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError("A runtime role is a PostgreSQL feature; SQLite has no roles (protect the file instead).")
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError("The role name must be lower-case letters, digits and underscores (at most 63).")
    quote = engine.dialect.identifier_preparer.quote
    who = quote(role)
    granted: dict[str, str] = {}
    with engine.begin() as c:
        exists = c.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar() is not None
        login = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        secret = "" if password is None else " PASSWORD " + "'" + password.replace("'", "''") + "'"
        c.execute(text(f"{'ALTER' if exists else 'CREATE'} ROLE {who} {login}{secret}"))
        schema_name = c.execute(text("SELECT current_schema()")).scalar_one()
        c.execute(text(f"GRANT USAGE ON SCHEMA {quote(schema_name)} TO {who}"))
        c.execute(text(f"REVOKE CREATE ON SCHEMA {quote(schema_name)} FROM {who}"))
        for table in sorted(metadata().tables):
            privileges = "SELECT, INSERT" if table in APPEND_ONLY else "SELECT, INSERT, UPDATE, DELETE"
            c.execute(text(f"REVOKE ALL ON TABLE {quote(table)} FROM {who}"))
            c.execute(text(f"GRANT {privileges} ON TABLE {quote(table)} TO {who}"))
            granted[table] = privileges
        c.execute(text(f"GRANT SELECT ON TABLE alembic_version TO {who}"))
        c.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema_name)} TO {who}"))
    return granted
