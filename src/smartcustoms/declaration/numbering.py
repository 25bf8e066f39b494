"""Declaration sequence numbers: taken in the lodging's own transaction, or from reserved blocks.

A declaration number is office + year + direction + sequence (`domain.declaration_number`).
The sequence comes from one counter row per office, year and direction. Taken inside the
lodging's transaction, that row stays locked until the lodging commits, so on PostgreSQL every
concurrent lodging at an office queues on it for the whole of another's assessment and commit
("INSERT waiting" in `pg_stat_activity`). SQLite has a single write lock anyway, so there the
number is always taken in the lodging's transaction: gapless, at no extra cost.

With `NumberBlocks` (PostgreSQL, `SMARTCUSTOMS_NUMBER_BLOCK` > 0) a process reserves a block of
numbers in a short transaction of its own and hands them out one by one: the row is locked for
one statement per block. What that costs, as with any database sequence: a number whose lodging
then fails is not reused, a block's unused numbers are lost when the process stops, and two
processes' numbers interleave rather than follow the order of lodging. Numbers stay unique.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smartcustoms.declaration import repository

# Where a writing session finds its process's blocks (`Session.info`, set by the runtime).
NUMBER_BLOCKS = "smartcustoms.declaration_numbers"


class NumberBlocks:
    """Blocks of sequence numbers reserved by this process, per office, year and direction."""

    def __init__(self, engine: Engine, size: int) -> None:
        if size < 1:
            raise ValueError("a block holds at least one number")
        self._engine = engine
        self.size = size
        self._lock = threading.Lock()
        self._next: dict[tuple[str, int, str], tuple[int, int]] = {}  # key -> (next number, last reserved)

    def take(self, *, office: str, year: int, flag: str) -> int:
        """The next number of this process's block, reserving a new block when it is used up."""
        key = (office, year, flag)
        with self._lock:
            nxt, last = self._next.get(key, (1, 0))
            if nxt > last:
                # Its own transaction, committed at once: the counter row is locked only this long.
                with self._engine.begin() as conn:
                    last = repository.reserve_numbers(conn, office=office, year=year, flag=flag, size=self.size)
                nxt = last - self.size + 1
            self._next[key] = (nxt + 1, last)
            return nxt


def take(session: Session, *, office: str, year: int, flag: str) -> int:
    """The sequence number for a new declaration: from the process's blocks if it has them, else in this transaction."""
    blocks = session.info.get(NUMBER_BLOCKS)
    if isinstance(blocks, NumberBlocks):
        return blocks.take(office=office, year=year, flag=flag)
    return repository.next_sequence(session, office=office, year=year, flag=flag)
