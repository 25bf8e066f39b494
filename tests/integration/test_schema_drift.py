"""The migrations build exactly the tables the models describe, on each database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from smartcustoms import schema
from smartcustoms.runtime import Runtime


def test_the_migrated_schema_matches_the_models(rt: Runtime) -> None:
    with rt.engine.connect() as c:
        differences = compare_metadata(MigrationContext.configure(c), schema.metadata())
    assert differences == []
