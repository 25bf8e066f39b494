"""SQLite's writers take turns (threads on a lock, processes on a lock file), not by polling SQLite's write lock."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, text

from smartcustoms.config import Settings
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


def test_another_process_on_the_same_file_waits_for_its_turn_too(rt: Runtime, db_url: str) -> None:
    if rt.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL runs writers side by side")
    other = Runtime(Settings(database_url=db_url))  # a second runtime opens the lock file as another process does
    try:
        with other.engine.connect():
            pass
        taken: list[float] = []

        def on_checkout(*_args: object) -> None:
            taken.append(time.monotonic())

        event.listen(other.engine, "checkout", on_checkout)

        def write_elsewhere() -> None:
            with other.write() as s:
                s.execute(text("SELECT 1"))

        waiter = threading.Thread(target=write_elsewhere)
        with rt.write() as s:
            s.execute(text("SELECT 1"))
            waiter.start()
            time.sleep(0.3)
            assert taken == []  # before: it had begun and sat in SQLite's busy handler
            leaving_at = time.monotonic()
        waiter.join(timeout=10)
        assert len(taken) == 1 and taken[0] >= leaving_at
    finally:
        other.stop()
