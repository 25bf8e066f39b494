"""The gate's local copy: recent releases, gate-outs, holds and gate users in a small SQLite file beside the server.

When the database cannot be reached the gate keeps deciding from this copy, with the same rules
(`gate.domain`): it passes only what the copy proves (a release line for the container, the seal
on record, no hold, not gone yet) and holds the rest; a copy older than `max_age_seconds` proves
nothing. Each offline decision is kept here until it is reconciled into the database, once, by
its `ref` (`gate.sync`). The copy is plain `sqlite3`, not the product's database layer: it must
work exactly when that layer cannot.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartcustoms.gate import domain
from smartcustoms.gate.domain import Ask, Line, Outcome, Reason

SCHEMA = """
CREATE TABLE IF NOT EXISTS line (
  id INTEGER PRIMARY KEY, release TEXT NOT NULL, declaration TEXT NOT NULL, office TEXT NOT NULL, released_at TEXT NOT NULL,
  container TEXT, plate TEXT, seals TEXT NOT NULL, gated_out INTEGER NOT NULL DEFAULT 0, UNIQUE (release, container)
);
CREATE INDEX IF NOT EXISTS ix_line_container ON line (container, id);
CREATE INDEX IF NOT EXISTS ix_line_plate ON line (plate, id);
CREATE INDEX IF NOT EXISTS ix_line_release ON line (release, id);
CREATE TABLE IF NOT EXISTS hold (container TEXT NOT NULL, office TEXT, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gate_user (token_sha256 TEXT PRIMARY KEY, user_id INTEGER NOT NULL, name TEXT NOT NULL, office TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
  ref TEXT PRIMARY KEY, at TEXT NOT NULL, user_id INTEGER NOT NULL, name TEXT NOT NULL, office TEXT NOT NULL,
  ask TEXT NOT NULL, decision TEXT NOT NULL, reasons TEXT NOT NULL, release TEXT, container TEXT,
  reconciled_at TEXT, result TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class GateUser:
    """A gate user the copy knows, to authenticate while the database is away."""

    user_id: int
    name: str
    office: str


@dataclass(frozen=True)
class Offline:
    """An offline check kept for reconciliation."""

    ref: str
    at: str
    user: GateUser
    ask: Ask
    decision: str
    reasons: list[dict[str, str]]
    release: str | None
    container: str | None


def token_hash(token: str) -> str:
    """How tokens are stored (as in the database)."""
    return hashlib.sha256(token.encode()).hexdigest()


class LocalCopy:
    """The local copy of one gate server (one file; threads take turns on a lock, processes on SQLite's)."""

    def __init__(self, path: Path, *, max_age_seconds: float = 900.0) -> None:
        self.path = Path(path)
        self.max_age_seconds = max_age_seconds
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript(SCHEMA)

    @contextmanager
    def _db(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock, closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as c:
            c.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")  # offline decisions must survive a power cut
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    # keeping the copy current

    def meta(self, key: str, default: str = "") -> str:
        """A bookkeeping value (feed cursor, exits cursor, time of the last refresh)."""
        with self._db() as c:
            row = c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def apply(
        self,
        *,
        releases: Sequence[dict[str, Any]],
        feed_cursor: int,
        exits: Sequence[tuple[int, int, str | None, str]],
        exits_cursor: int,
        holds: Sequence[tuple[str, str | None, str]],
        users: Sequence[tuple[str, int, str, str]],
        refreshed_at: float,
        keep_seconds: float,
    ) -> None:
        """Take what the database said: new release messages, gate-outs, holds in force, gate users; prune old lines."""
        with self._db() as c:
            for msg in releases:
                for box in msg.get("containers") or [None]:
                    if box is None and not msg.get("plate"):
                        continue
                    seals = (msg.get("seals") or {}).get(box or "", [])
                    c.execute(
                        "INSERT OR IGNORE INTO line (release, declaration, office, released_at, container, plate, seals) VALUES (?,?,?,?,?,?,?)",
                        (msg["number"], msg["declaration"], msg["office"], msg["released_at"], box, msg.get("plate"), json.dumps(seals)),
                    )
            for _, _, container, release in exits:
                c.execute("UPDATE line SET gated_out = 1 WHERE release = ? AND container IS ?", (release, container))
            c.execute("DELETE FROM hold")
            c.executemany("INSERT INTO hold (container, office, reason) VALUES (?,?,?)", holds)
            c.execute("DELETE FROM gate_user")
            c.executemany("INSERT INTO gate_user (token_sha256, user_id, name, office) VALUES (?,?,?,?)", users)
            cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(refreshed_at - keep_seconds))
            c.execute("DELETE FROM line WHERE released_at < ?", (cutoff,))
            for key, value in (("feed", feed_cursor), ("exits", exits_cursor), ("refreshed_at", refreshed_at)):
                c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))

    def mark_gated_out(self, *, release: str, container: str | None) -> None:
        """An online pass: the copy learns it at once (not only at the next refresh).

        Not synced to disk at once (the database has the gate-out; only a power cut in the next
        moment could lose this copy of it), so an online pass pays no second fsync.
        """
        with self._db(durable=False) as c:
            c.execute("UPDATE line SET gated_out = 1 WHERE release = ? AND container IS ?", (release, container))

    def user(self, token: str) -> GateUser | None:
        """The gate user of a bearer token, as of the last refresh."""
        with self._db() as c:
            row = c.execute("SELECT user_id, name, office FROM gate_user WHERE token_sha256 = ?", (token_hash(token),)).fetchone()
        return GateUser(int(row[0]), str(row[1]), str(row[2])) if row else None

    def user_named(self, name: str) -> GateUser | None:
        """A gate user the copy knows, by name (the operator's CLI while the database is away)."""
        with self._db() as c:
            row = c.execute("SELECT user_id, name, office FROM gate_user WHERE name = ? LIMIT 1", (name,)).fetchone()
        return GateUser(int(row[0]), str(row[1]), str(row[2])) if row else None

    # deciding offline

    def _lines(self, c: sqlite3.Connection, ask: Ask) -> list[Line]:
        cols = "id, release, declaration, office, released_at, container, plate, seals, gated_out"
        value: str | None
        if ask.release is not None:
            where, value = "release = ?", ask.release
        elif ask.container is not None:
            where, value = "container = ?", ask.container
        else:
            where, value = "plate = ?", ask.plate
        rows = c.execute(f"SELECT {cols} FROM line WHERE {where} ORDER BY released_at DESC, id LIMIT 20", (value,)).fetchall()
        return [Line(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(json.loads(r[7])), bool(r[8])) for r in rows]

    def decide(self, ask: Ask, *, user: GateUser, now: float, at: str) -> tuple[Outcome, str]:
        """Decide from the copy (a pass marks the line gone at once) and keep the decision for reconciliation; (outcome, ref)."""
        ref = "off-" + uuid.uuid4().hex
        with self._db() as c:
            row = c.execute("SELECT value FROM meta WHERE key = 'refreshed_at'").fetchone()
            age = now - float(row[0]) if row else float("inf")
            found = self._lines(c, ask)
            line, _ = domain.choose(ask, found)
            box = ask.container or (line.container if line else None)
            holds = [
                r[0]
                for r in c.execute("SELECT reason FROM hold WHERE container IS ? AND (office IS NULL OR office = ?)", (box, user.office))
            ]
            outcome = domain.decide(ask, found, holds=holds if box else [])
            offline = [Reason(domain.OFFLINE_UNPROVEN, "The gate is offline: it passes only what its local copy of releases proves.")]
            if age > self.max_age_seconds:
                stale = Reason(domain.OFFLINE_STALE, "The gate is offline and its local copy of releases is too old to prove a release.")
                outcome = Outcome(passed=False, reasons=(*outcome.reasons, stale), line=outcome.line)
            elif not outcome.passed:
                outcome = Outcome(passed=False, reasons=(*outcome.reasons, *offline), line=outcome.line)
            if outcome.passed and outcome.line is not None:
                c.execute("UPDATE line SET gated_out = 1 WHERE id = ?", (outcome.line.line_id,))
            c.execute(
                "INSERT INTO pending (ref, at, user_id, name, office, ask, decision, reasons, release, container) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    ref,
                    at,
                    user.user_id,
                    user.name,
                    user.office,
                    json.dumps(ask.__dict__),
                    outcome.decision,
                    json.dumps([r.as_dict() for r in outcome.reasons]),
                    outcome.line.release if outcome.line else None,
                    outcome.line.container if outcome.line else None,
                ),
            )
        return outcome, ref

    # reconciling

    def pending(self) -> list[Offline]:
        """The offline checks not yet in the database, oldest first."""
        with self._db() as c:
            rows = c.execute(
                "SELECT ref, at, user_id, name, office, ask, decision, reasons, release, container FROM pending "
                "WHERE reconciled_at IS NULL ORDER BY at, rowid"
            ).fetchall()
        return [Offline(r[0], r[1], GateUser(r[2], r[3], r[4]), Ask(**json.loads(r[5])), r[6], json.loads(r[7]), r[8], r[9]) for r in rows]

    def settle(self, ref: str, *, result: str, at: str) -> None:
        """Mark an offline check reconciled, with what the database made of it (`recorded`, `conflict`, `already`)."""
        with self._db() as c:
            c.execute("UPDATE pending SET reconciled_at = ?, result = ? WHERE ref = ?", (at, result, ref))

    def conflicts(self) -> list[dict[str, Any]]:
        """Offline passes the database refused because the container had left meanwhile."""
        with self._db() as c:
            rows = c.execute("SELECT ref, at, name, release, container FROM pending WHERE result = 'conflict' ORDER BY at").fetchall()
        return [{"ref": r[0], "at": r[1], "gate": r[2], "release": r[3], "container": r[4]} for r in rows]
