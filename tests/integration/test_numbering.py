"""Declaration numbers: unique under concurrency; on PostgreSQL taken from reserved blocks, so a
lodging does not hold the office's counter until it commits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from smartcustoms.config import Settings
from smartcustoms.declaration import numbering
from smartcustoms.declaration.models import Declaration, NumberCounter
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, World, example


def _lodge(rt: Runtime, world: World, ref: str) -> str:
    raw = example()
    raw["client_reference"] = ref
    with rt.write() as s:
        receipt, _ = selectivity.lodge(s, raw=raw, principal=world.principals["broker"], now=NOW)
    return str(receipt["number"])


def _sequence(number: str) -> int:
    return int(number[9:])


def _counter(rt: Runtime) -> int:
    with rt.read() as s:
        return int(s.scalar(select(NumberCounter.last)) or 0)


def test_sixteen_concurrent_lodgings_get_sixteen_different_numbers(rt: Runtime, world: World) -> None:
    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(lambda i: _lodge(rt, world, f"NUM-{i:03d}"), range(16)))
    assert len(set(numbers)) == 16
    assert {n[:9] for n in numbers} == {numbers[0][:9]}  # one office, year and direction
    assert sorted(_sequence(n) for n in numbers) == list(range(1, 17))
    if rt.engine.dialect.name == "sqlite":
        assert _counter(rt) == 16  # in the lodging's transaction: the counter is the last number used
    else:
        assert _counter(rt) == rt.settings.number_block  # one block reserved, 16 of its 20 used


def test_numbers_a_process_reserved_are_not_handed_out_by_another(rt: Runtime, world: World) -> None:
    first = _lodge(rt, world, "NUM-A")
    other = Runtime(rt.settings)  # a second server process on the same database
    try:
        second = _lodge(other, world, "NUM-B")
    finally:
        other.stop()
    third = _lodge(rt, world, "NUM-C")
    with rt.read() as s:
        stored = set(s.scalars(select(Declaration.number)))
    assert stored == {first, second, third}
    if rt.engine.dialect.name == "sqlite":
        assert [_sequence(n) for n in (first, second, third)] == [1, 2, 3]
    else:
        block = rt.settings.number_block
        assert [_sequence(n) for n in (first, second, third)] == [1, block + 1, 2]


@pytest.mark.postgres
def test_on_postgresql_a_lodging_does_not_wait_for_another_lodging_to_commit(rt: Runtime, world: World) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one write lock: lodgings are serialised whatever the numbering")
    with rt.write() as first:
        raw = example()
        raw["client_reference"] = "NUM-OPEN"
        a, _ = selectivity.lodge(first, raw=raw, principal=world.principals["broker"], now=NOW)
        # `first` has not committed. Were its number taken in its own transaction, the counter's
        # row would stay locked and this second lodging would wait: it would meet the lock timeout.
        with rt.write() as second:
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            raw["client_reference"] = "NUM-NEXT"
            b, _ = selectivity.lodge(second, raw=raw, principal=world.principals["broker"], now=NOW)
    assert _sequence(b["number"]) == _sequence(a["number"]) + 1


@pytest.mark.postgres
def test_number_block_zero_takes_each_number_in_the_lodging_transaction_without_gaps(rt: Runtime, world: World) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL setting")
    gapless = Runtime(Settings(**{**rt.settings.model_dump(), "number_block": 0}))
    try:
        with gapless.write() as first:
            raw: dict[str, Any] = example()
            raw["client_reference"] = "NUM-HELD"
            selectivity.lodge(first, raw=raw, principal=world.principals["broker"], now=NOW)
            assert numbering.NUMBER_BLOCKS not in first.info
            with pytest.raises(OperationalError, match="lock timeout"), gapless.write() as second:
                second.execute(text("SET LOCAL lock_timeout = '1s'"))
                raw["client_reference"] = "NUM-WAITS"
                selectivity.lodge(second, raw=raw, principal=world.principals["broker"], now=NOW)
        assert _counter(gapless) == 1  # the refused lodging took no number
    finally:
        gapless.stop()


def test_a_block_is_reserved_in_one_statement_and_handed_out_in_order(rt: Runtime) -> None:
    blocks = numbering.NumberBlocks(rt.engine, 3)
    taken = [blocks.take(office="2248", year=2026, flag="1") for _ in range(7)]
    assert taken == [1, 2, 3, 4, 5, 6, 7]
    assert _counter(rt) == 9  # three blocks of three: 1-3, 4-6, 7-9
    assert blocks.take(office="0202", year=2026, flag="1") == 1  # each office has its own counter
    with pytest.raises(ValueError):
        numbering.NumberBlocks(rt.engine, 0)
