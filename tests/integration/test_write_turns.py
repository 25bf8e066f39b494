"""SQLite's writers take turns on a lock of the process, not by polling SQLite's write lock."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, text

from smartcustoms.runtime import Runtime


def test_a_second_writer_waits_for_its_turn_before_it_begins_and_starts_when_the_first_commits(rt: Runtime) -> None:
    if rt.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL runs writers side by side")
    with rt.engine.connect(), rt.engine.connect():
        pass  # two pooled connections: opening one runs PRAGMAs that would wait on SQLite's lock themselves
    begun: list[tuple[str, float]] = []

    def on_checkout(*_args: object) -> None:  # a writer takes a connection before its BEGIN IMMEDIATE
        begun.append((threading.current_thread().name, time.monotonic()))

    event.listen(rt.engine, "checkout", on_checkout)
    leaving_at: list[float] = []

    def second() -> None:
        with rt.write() as s:
            s.execute(text("SELECT 1"))

    try:
        waiter = threading.Thread(target=second, name="second")
        with rt.write() as s:
            s.execute(text("SELECT 1"))
            waiter.start()
            time.sleep(0.3)
            # Before: the second writer had begun and sat in SQLite's busy handler, which polls with sleeps.
            assert [name for name, _ in begun] == [threading.current_thread().name]
            leaving_at.append(time.monotonic())
        waiter.join(timeout=10)
    finally:
        event.remove(rt.engine, "checkout", on_checkout)
    assert [name for name, _ in begun][-1] == "second" and len(begun) == 2
    assert begun[1][1] >= leaving_at[0]  # its turn came once the first had committed
