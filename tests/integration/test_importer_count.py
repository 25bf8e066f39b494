"""The importer's earlier declarations, a fact of every assessment: counted up to a cap, and not
counted again once an importer has reached it."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from smartcustoms.declaration.models import Declaration
from smartcustoms.risk.selectivity import assessment
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, World, example


def test_the_count_stops_at_the_cap_and_an_importer_at_the_cap_is_not_counted_again(
    rt: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cap of 3 instead of 10,000, with the statement built the same way.
    monkeypatch.setattr(assessment, "IMPORTER_COUNT_CAP", 3)
    monkeypatch.setattr(assessment, "_IMPORTER_COUNT", assessment.importer_count_statement(3))
    for i in range(6):
        raw = example()
        raw["client_reference"] = f"CAP-{i}"
        with rt.write() as s:
            selectivity.lodge(s, raw=raw, principal=world.principals["broker"], now=NOW)
    selectivity.invalidate()
    counted: list[str] = []
    event.listen(rt.read_engine, "before_cursor_execute", lambda *a: counted.append(a[2]) if "count(" in a[2] else None)
    with rt.read() as s:
        decls = list(s.scalars(select(Declaration).order_by(Declaration.id)))
        seen = [assessment._importer_count(s, d) for d in decls]
    assert seen == [0, 1, 2, 3, 3, 3]
    assert len(counted) == 4  # the fifth and sixth need no count: the fourth reached the cap
    with rt.read() as s:
        again = [assessment._importer_count(s, d) for d in decls]  # e.g. an older declaration amended
    assert again == [0, 1, 2, 3, 3, 3]
    assert len(counted) == 4 + 3  # the three before the cap are counted, the others are not
