"""Declarative base, engine and sessions for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, MetaData, Table, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker

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
    """Insert the rows queued by `append` now (called by the session's events; rarely by hand)."""
    pending: dict[Table, list[dict[str, Any]]] | None = session.info.pop(_APPENDS, None)
    if pending:
        conn = session.connection()
        for table, rows in pending.items():
            conn.execute(table.insert(), rows)


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
