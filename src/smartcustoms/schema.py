"""Every model in one metadata, and creating or upgrading the schema with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

import smartcustoms.audit.models
import smartcustoms.auth.models
import smartcustoms.declaration.models
import smartcustoms.kit.outbox
import smartcustoms.notification.models
import smartcustoms.party.models
import smartcustoms.reference.models
import smartcustoms.risk.history.models
import smartcustoms.risk.knowledge.models
import smartcustoms.risk.model.models
import smartcustoms.risk.parameter.models
import smartcustoms.risk.selectivity.models  # noqa: F401  (registers the tables)
from smartcustoms.kit.db import Base

MIGRATIONS = Path(__file__).parent / "migrations"


def metadata() -> MetaData:
    """The metadata holding every table."""
    return Base.metadata


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to the engine."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    command.upgrade(alembic_config(engine), "heads")
