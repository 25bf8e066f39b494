"""Declarative base, engine and sessions for SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from functools import lru_cache
from math import isfinite
from typing import Any, NamedTuple

try:
    import fcntl
except ImportError:  # not on Windows: threads still take turns
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import JSON, MetaData, Table, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker
from sqlalchemy.sql import sqltypes
from sqlalchemy.types import TypeDecorator

from smartcustoms.kit.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; FULL fsyncs each commit so an answered
    # request survives even a power cut; busy_timeout queues writers instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


# At least as many pooled connections as a server process runs request threads (8 by default,
# SMARTCUSTOMS_REQUEST_THREADS up to 40) plus its relay, so that under load no connection is closed
# on return and opened again for the next request (a new PostgreSQL connection is a new server
# process). Connections are opened only when needed: an idle pool holds few.
POOL_SIZE = 40
MAX_OVERFLOW = 10


def make_engine(url: str, *, readonly: bool = False, **kwargs: Any) -> Engine:
    """An engine for the URL, with SQLite tuned for concurrent durable use.

    On SQLite a writing engine takes the write lock when a transaction begins, so two writers
    queue instead of failing on lock upgrade; a read-only engine reads a snapshot beside them.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=kwargs.pop("pool_size", POOL_SIZE),
            max_overflow=kwargs.pop("max_overflow", MAX_OVERFLOW),
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        return engine
    return create_engine(
        url,
        pool_size=kwargs.pop("pool_size", POOL_SIZE),
        max_overflow=kwargs.pop("max_overflow", MAX_OVERFLOW),
        pool_pre_ping=True,
        **kwargs,
    )


class WriterTurns:
    """One writing transaction at a time on an SQLite file, handed over without SQLite's polling.

    SQLite admits one writer at a time, and a writer it refuses polls again after sleeps of up to
    100 ms (its busy handler): under load the write lock stood free while the next writer slept
    (lodging p99 about 1 s at 32 clients, docs/benchmarks.md). Here the threads of a process take
    turns on a lock, handed over at once, and processes on an exclusive `flock` of a file beside
    the database, tried again every few milliseconds. A writer that has not had its turn after
    `wait_seconds` (a stuck holder, a long import in another process) goes on to SQLite, whose
    busy handler then decides as before ("database is locked" after its own timeout). A program
    that does not take these turns (the sqlite3 shell) queues through the busy handler too.
    """

    def __init__(self, database: str | None, *, wait_seconds: float = 10.0) -> None:
        self.wait_seconds = wait_seconds
        self._path = f"{database}-writer.lock" if database and database != ":memory:" and fcntl is not None else None
        self._reset()
        _ALL_TURNS.add(self)

    def _reset(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for this writer's turn (nested turns of one thread pass through)."""
        deadline = time.monotonic() + self.wait_seconds
        mine = self._lock.acquire(timeout=self.wait_seconds)
        on_file = False
        try:
            if mine:
                self._depth += 1
                if self._depth == 1:
                    on_file = self._lock_file(deadline)
            yield
        finally:
            if mine:
                if on_file and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                self._depth -= 1
                self._lock.release()

    def _lock_file(self, deadline: float) -> bool:
        if self._path is None:
            return False
        if self._fd is None:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o666)  # less the umask
            except PermissionError:  # made by another user: flock works on a read-only descriptor too
                try:
                    self._fd = os.open(self._path, os.O_RDONLY)
                except OSError:
                    self._path = None  # threads still take turns; processes use SQLite's handler
                    return False
        pause = 0.0005
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.005)

    def close(self) -> None:
        """Close the lock file (the turns still work, reopening it when needed)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


_ALL_TURNS: weakref.WeakSet[WriterTurns] = weakref.WeakSet()


def _turns_after_fork() -> None:
    # A forked child shares the parent's lock file description (and so its flock) and may inherit
    # a lock held by a thread that does not exist in the child: it starts its own.
    for turns in list(_ALL_TURNS):
        if turns._fd is not None:
            os.close(turns._fd)
        turns._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_turns_after_fork)


def make_sessionmaker(engine: Engine, *, info: dict[str, Any] | None = None) -> sessionmaker[Session]:
    """A session factory that keeps objects readable after commit; `info` is every session's `Session.info`."""
    return sessionmaker(engine, expire_on_commit=False, info=info)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --- append-only rows: written in batches, in order, inside the caller's transaction ---------------

_APPENDS = "smartcustoms.appends"


def append(session: Session, table: Table, row: dict[str, Any]) -> None:
    """Queue one row for an append-only table (journal, events, outbox) in the session's transaction.

    The rows are inserted with one batched INSERT (an executemany) per table, in the order they were appended,
    before the session's next statement and at the latest when it commits, so they are visible to
    every later query in the same transaction and committed or rolled back with it. Without the
    ORM's unit of work, a row costs a fraction of what an ORM object does; rows that need their
    id at once, or that are read back as objects in the same transaction, stay ORM objects.
    """
    session.info.setdefault(_APPENDS, {}).setdefault(table, []).append(row)


def write_appends(session: Session) -> None:
    """Insert the rows queued by `append` now (called by the session's events; rarely by hand).

    On PostgreSQL every table's rows go in one statement (see `_one_statement`); elsewhere, and
    for a table whose rows that statement cannot carry, one batched INSERT per table.
    """
    pending: dict[Table, list[dict[str, Any]]] | None = session.info.pop(_APPENDS, None)
    if not pending:
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        carried = {table: (rows, carry) for table, rows in pending.items() if (carry := _carried(table, rows)) is not None}
        if carried:
            sql = _one_statement(tuple((table, tuple(rows[0])) for table, (rows, _) in carried.items()), conn.dialect)
            params = {f"p{i}": _as_json(table, rows, carry.times) for i, (table, (rows, carry)) in enumerate(carried.items())}
            conn.exec_driver_sql(sql, params)
        pending = {table: rows for table, rows in pending.items() if table not in carried}
    for table, rows in pending.items():
        conn.execute(table.insert(), rows)


# PostgreSQL: one lodging queues about ten rows in four tables. Sent as four executemany calls they
# cost about 0.9 ms of the server's CPU (SQLAlchemy and psycopg work per row and per statement);
# as one statement of data-modifying CTEs, each table's rows one JSON array unpacked by
# json_to_recordset, 0.3 ms and one round trip (tests/integration/test_append_rows.py checks that
# both ways store the same rows, JSON text included). WITH ORDINALITY ... ORDER BY keeps each
# table's ids in the order the rows were appended; json (not jsonb) keeps a JSON value's text as
# json.dumps wrote it, which is what SQLAlchemy's JSON type stores. Tables that fall back to an
# executemany are written after the others (no queued table refers to another).
_CARRIED = (sqltypes.Integer, sqltypes.String, sqltypes.Boolean, sqltypes.Float, sqltypes.JSON, UTCDateTime)


class _Carry(NamedTuple):
    floats: tuple[str, ...]  # checked finite in each row (JSON has no NaN or infinity)
    times: tuple[str, ...]  # written in ISO 8601 by `_as_json`


def _carried(table: Table, rows: list[dict[str, Any]]) -> _Carry | None:
    """How the one-statement path carries these rows, or None if it cannot: the same keys in every row,
    column types it knows, and floats only when finite."""
    if any(row.keys() != rows[0].keys() for row in rows):
        return None
    carry = _carry(table, tuple(rows[0]))
    if carry is None or not all(row[key] is None or isfinite(row[key]) for key in carry.floats for row in rows):
        return None
    return carry


@lru_cache(maxsize=256)
def _carry(table: Table, keys: tuple[str, ...]) -> _Carry | None:
    """The float and time columns among the keys if every column is of a type whose values JSON holds
    as they are (times aside) and no other type decorator (its bind processing would be skipped), and
    no column left out has a Python-side default; else None."""
    for column in table.columns:
        if column.key in keys:
            kind = column.type
            if (
                not isinstance(kind, _CARRIED)
                or isinstance(kind, sqltypes.Enum)  # SQLAlchemy stores a member's name, JSON would carry its value
                or (isinstance(kind, TypeDecorator) and not isinstance(kind, UTCDateTime))
            ):
                return None
        elif column.default is not None:
            return None
    used = [c for c in table.columns if c.key in keys]
    return _Carry(
        floats=tuple(c.key for c in used if isinstance(c.type, sqltypes.Float)),
        times=tuple(c.key for c in used if isinstance(c.type, UTCDateTime)),
    )


@lru_cache(maxsize=64)
def _one_statement(shape: tuple[tuple[Table, tuple[str, ...]], ...], dialect: Dialect) -> str:
    """`WITH a0 AS (INSERT ...), a1 AS (INSERT ...) INSERT ...`, parameters %(p0)s, %(p1)s, ... (JSON arrays)."""
    quote = dialect.identifier_preparer.quote
    inserts = []
    for i, (table, keys) in enumerate(shape):
        columns = [table.columns[key] for key in keys]
        names = ", ".join(quote(c.name) for c in columns)
        # The JSON objects' fields are the rows' keys; the columns are named apart (_c0, _c1, ...).
        fields = ", ".join(f"{quote(key)} {c.type.compile(dialect)}" for key, c in zip(keys, columns, strict=True))
        aliases = ", ".join(f"_c{j}" for j in range(len(columns)))
        # None in a JSON column is stored as JSON null, as SQLAlchemy's insert stores it unless the type
        # says none_as_null (json_to_recordset gives SQL NULL).
        values = ", ".join(
            f"coalesce(_c{j}, 'null')" if isinstance(c.type, sqltypes.JSON) and not c.type.none_as_null else f"_c{j}"
            for j, c in enumerate(columns)
        )
        inserts.append(
            f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) SELECT {values} "
            f"FROM ROWS FROM (json_to_recordset(%(p{i})s::json) AS ({fields})) WITH ORDINALITY AS _r({aliases}, _n) ORDER BY _n"
        )
    heads = ", ".join(f"_a{i} AS ({sql})" for i, sql in enumerate(inserts[:-1]))
    return f"WITH {heads} {inserts[-1]}" if heads else inserts[-1]


def _as_json(table: Table, rows: list[dict[str, Any]], times: tuple[str, ...]) -> str:
    """The rows as one JSON array; times as ISO 8601 in UTC (naive times refused, as UTCDateTime does)."""
    if times:
        rows = [dict(row) for row in rows]
        for row in rows:
            for key in times:
                value = row[key]
                if value is not None:
                    if value.tzinfo is None:
                        raise ValueError(f"naive datetime given for {table.name}.{key}; pass timezone-aware UTC times")
                    row[key] = value.astimezone(UTC).isoformat()
    return json.dumps(rows)  # json.dumps' own separators: a JSON column's text as SQLAlchemy writes it


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows of one table now, in order, the way queued rows are written (one statement on PostgreSQL)."""
    for row in rows:
        append(session, table, row)
    write_appends(session)


@contextmanager
def appends_held(session: Session) -> Iterator[None]:
    """Within the block, queued rows wait for the commit (or an explicit flush) instead of being
    written before each statement: for code whose queries read none of the append-only tables,
    so that one lodging's rows go out in one batch per table."""
    session.info[_HELD] = session.info.get(_HELD, 0) + 1
    try:
        yield
    finally:
        session.info[_HELD] -= 1


_HELD = "smartcustoms.appends.held"


@event.listens_for(Session, "do_orm_execute")
def _appends_before_statement(state: ORMExecuteState) -> None:
    if not state.session.info.get(_HELD):
        write_appends(state.session)


@event.listens_for(Session, "before_commit")
def _appends_before_commit(session: Session) -> None:
    write_appends(session)


@event.listens_for(Session, "before_flush")
def _appends_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    write_appends(session)


@event.listens_for(Session, "after_transaction_end")
def _appends_dropped(session: Session, transaction: Any) -> None:
    # Rows still queued when the outermost transaction ends were rolled back with it.
    if transaction.parent is None:
        session.info.pop(_APPENDS, None)
