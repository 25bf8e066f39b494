"""Alembic environment: runs migrations on the engine the caller passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from smartcustoms.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` run by hand: use the configured URL
    from smartcustoms.config import get_settings

    engine = create_engine(get_settings().database_url)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata(), render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
if connection.in_transaction():
    connection.commit()
