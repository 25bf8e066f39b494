"""SQLite's writers take turns (threads on a lock, processes on a lock file), not by polling SQLite's write lock."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text

from smartcustoms.config import Settings
from smartcustoms.kit.db import WriterTurns
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

    about_to_write = threading.Event()

    def second() -> None:
        about_to_write.set()
        with rt.write() as s:
            s.execute(text("SELECT 1"))

    try:
        waiter = threading.Thread(target=second, name="second")
        with rt.write() as s:
            s.execute(text("SELECT 1"))
            waiter.start()
            assert about_to_write.wait(10)
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

        about_to_write = threading.Event()

        def write_elsewhere() -> None:
            about_to_write.set()
            with other.write() as s:
                s.execute(text("SELECT 1"))

        waiter = threading.Thread(target=write_elsewhere)
        with rt.write() as s:
            s.execute(text("SELECT 1"))
            waiter.start()
            assert about_to_write.wait(10)
            time.sleep(0.3)
            assert taken == []  # before: it had begun and sat in SQLite's busy handler
            leaving_at = time.monotonic()
        waiter.join(timeout=10)
        assert len(taken) == 1 and taken[0] >= leaving_at
    finally:
        other.stop()


def _held(turns: WriterTurns, release: threading.Event, holding: threading.Event) -> threading.Thread:
    def hold() -> None:
        with turns.turn():
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(10)
    return thread


@pytest.mark.parametrize("holder", ["another thread", "another process"])
def test_a_writer_whose_turn_does_not_come_goes_on_to_sqlite_after_its_wait(tmp_path: Path, holder: str) -> None:
    # Before, a stuck holder (or a long import in another process) stopped every writer for good;
    # now a writer waits its turn at most wait_seconds, then SQLite's busy handler decides as before.
    database = str(tmp_path / "turns.db")
    mine = WriterTurns(database, wait_seconds=0.2)
    theirs = mine if holder == "another thread" else WriterTurns(database, wait_seconds=0.2)
    release, holding = threading.Event(), threading.Event()
    thread = _held(theirs, release, holding)
    try:
        started = time.monotonic()
        with mine.turn():
            waited = time.monotonic() - started
        assert 0.2 <= waited < 5
    finally:
        release.set()
        thread.join(10)
        mine.close()
        theirs.close()
    with mine.turn():  # and once the holder is gone, turns work again
        pass


def test_the_lock_file_made_by_another_user_is_used_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = str(tmp_path / "turns.db")
    Path(f"{database}-writer.lock").touch()
    real_open = os.open

    def as_another_user(path: str, flags: int, *args: int) -> int:  # the tests may run as root, who may write anything
        if path.endswith("-writer.lock") and flags & os.O_RDWR:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", as_another_user)
    first, second = WriterTurns(database, wait_seconds=0.2), WriterTurns(database, wait_seconds=0.2)
    release, holding = threading.Event(), threading.Event()
    thread = _held(first, release, holding)
    try:
        started = time.monotonic()
        with second.turn():
            assert time.monotonic() - started >= 0.2  # the read-only descriptor still excluded it
    finally:
        release.set()
        thread.join(10)
        first.close()
        second.close()
