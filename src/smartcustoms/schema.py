"""Every model in one metadata, and creating or upgrading the schema with Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

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
import smartcustoms.risk.selectivity.models
import smartcustoms.roster.models  # noqa: F401  (registers the tables)
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
