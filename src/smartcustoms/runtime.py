"""The running system's parts, assembled once from the settings: databases, storage, bus, workers."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from smartcustoms.adapters.bus import Bus, make_bus
from smartcustoms.adapters.storage import DirectoryStore, FileStore
from smartcustoms.adapters.webhook import HttpSender, WebhookSender
from smartcustoms.auth import service as auth_service
from smartcustoms.config import Settings
from smartcustoms.declaration.numbering import NUMBER_BLOCKS, NumberBlocks
from smartcustoms.duty import payments as _payments  # noqa: F401  (a closed declaration's guarantees are given back)
from smartcustoms.gate.local import LocalCopy
from smartcustoms.gate.station import Station, SyncReport
from smartcustoms.kit.clock import utcnow
from smartcustoms.kit.db import WriterTurns, make_engine, make_sessionmaker, transaction
from smartcustoms.notification import service as notification_service
from smartcustoms.release.signing import SIGNER, LazySigner
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.task import service as _tasks  # noqa: F401  (officers see only their tasks' declarations)

log = structlog.get_logger("smartcustoms")
WARM_EVERY_SECONDS = 60.0
WARM_RETRY_SECONDS = 2.0  # until the first warm-up succeeds
_heap_frozen = threading.Event()  # once per process


def freeze_long_lived() -> int:
    """Move every object alive now out of the garbage collector's sight; once per process; returns how many.

    A full collection walks every tracked object while holding the interpreter lock: with the
    libraries, the reference catalog and the HS classifier loaded that is about 270,000 objects
    and 130-200 ms on the benchmark machine, every request in the process stalled meanwhile (seen
    as lodging latency spikes, docs/benchmarks.md). These objects live as long as the process, so
    after one last collection they are frozen (`gc.freeze`) and later collections only walk what
    was made since. Called by the runtime's worker once the caches are warm.
    """
    if _heap_frozen.is_set():
        return 0
    _heap_frozen.set()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class Runtime:
    """Engines, session factories and adapters for one process."""

    def __init__(
        self, settings: Settings, *, bus: Bus | None = None, sender: WebhookSender | None = None, store: FileStore | None = None
    ) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        self.read_engine = make_engine(settings.database_url, readonly=True) if settings.database_url.startswith("sqlite") else self.engine
        self.signer = LazySigner(settings)  # release receipts: the key is read (or made, in development) on first use
        info: dict[str, object] = {SIGNER: self.signer}
        if settings.number_block > 0 and self.engine.dialect.name == "postgresql":
            info[NUMBER_BLOCKS] = NumberBlocks(self.engine, settings.number_block)
        self._writer = make_sessionmaker(self.engine, info=info)
        self._reader = make_sessionmaker(self.read_engine, info={SIGNER: self.signer})
        self.store: FileStore = store or DirectoryStore(settings.storage_dir)
        self._bus = bus
        self.sender: WebhookSender = sender or HttpSender(
            settings.webhook_timeout_seconds, allow_private=settings.webhook_allow_private_networks
        )
        self._stop = threading.Event()
        self.ready = threading.Event()  # set once the caches are warm (GET /readyz)
        self._thread: threading.Thread | None = None
        self._pump_lock = threading.Lock()
        self._turns = WriterTurns(self.engine.url.database) if self.engine.dialect.name == "sqlite" else None
        self._station: Station | None = None
        self._station_lock = threading.Lock()

    @property
    def station(self) -> Station:
        """The gate station of this process (its local copy opened on first use)."""
        with self._station_lock:
            if self._station is None:
                path = self.settings.gate_local_path or self.settings.storage_dir / "gate-local.db"
                self._station = Station(LocalCopy(path, max_age_seconds=self.settings.gate_offline_max_age_seconds))
            return self._station

    def sync_gate(self) -> SyncReport:
        """Reconcile the gate's offline checks and refresh its local copy (see `Station.sync`)."""
        return self.station.sync(self.read, self.write)

    @property
    def bus(self) -> Bus:
        """The bus, connected on first use."""
        if self._bus is None:
            self._bus = make_bus(self.settings.bus_url)
        return self._bus

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A writing unit of work: commits on success. On SQLite, writers take turns (`WriterTurns`)."""
        with self._turns.turn() if self._turns is not None else nullcontext(), transaction(self._writer) as s:
            yield s

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work."""
        with transaction(self._reader) as s:
            yield s

    def pump(self, now: datetime | None = None) -> tuple[int, int]:
        """Relay pending outbox messages, then try due webhook deliveries; returns both counts.

        Webhooks are posted outside any transaction (a slow receiver must never hold the database,
        least of all SQLite's single write lock): the due deliveries are claimed in one short
        transaction, sent, and their results recorded in another.
        """
        with self._pump_lock:
            now = now or utcnow()
            with self.write() as s:
                relayed = notification_service.relay_once(s, bus=self.bus, now=now)
            with self.read() as s:
                if not notification_service.due(s, now=now):
                    return relayed, 0
            with self.write() as s:
                claimed = notification_service.claim_due(s, now=now)
            results = [(a, notification_service.send(self.sender, a, now=now)) for a in claimed]
            with self.write() as s:
                notification_service.settle(
                    s, results, now=now, give_up_after=timedelta(seconds=self.settings.webhook_give_up_after_seconds)
                )
            return relayed, len(claimed)

    def warm(self, now: datetime | None = None) -> list[str]:
        """Build the caches requests would otherwise build inside themselves (see `selectivity.keep_warm`)."""
        auth_service.dummy_hash()  # a failed login for an unknown name costs what any failed login does
        with self.read() as s:
            return selectivity.keep_warm(s, now=now or utcnow())

    def _loop(self) -> None:
        warmed_at = synced_at = float("-inf")
        while not self._stop.is_set():
            every = self.settings.gate_refresh_seconds
            if every > 0 and time.monotonic() - synced_at >= every:
                synced_at = time.monotonic()
                try:
                    report = self.sync_gate()
                    if report.reconciled or report.conflicts:
                        log.info("gate.reconciled", **report.as_dict())
                except Exception:  # the database may be away: the gate decides from its copy meanwhile
                    log.warning("gate.sync_failed", exc_info=True)
            if time.monotonic() - warmed_at >= WARM_EVERY_SECONDS:
                warmed_at = time.monotonic()
                try:
                    built = self.warm()
                    if built:
                        log.info("caches.warmed", built=built, seconds=round(time.monotonic() - warmed_at, 3))
                    if frozen := freeze_long_lived():  # only once warm: what is frozen stays
                        log.info("heap.frozen", objects=frozen)
                    # Ready (GET /readyz) only now: before the first warm-up the first lodgings would
                    # build the caches themselves and take seconds instead of milliseconds.
                    self.ready.set()
                except Exception:  # a cold cache is slower, not wrong: lodgings build it themselves
                    log.exception("caches.warm_failed")
                    if not self.ready.is_set():  # not ready yet: try again soon rather than in a minute
                        warmed_at -= WARM_EVERY_SECONDS - WARM_RETRY_SECONDS
            pause = self.settings.relay_interval_seconds
            try:
                relayed, delivered = self.pump()
                if relayed or delivered:
                    # Busy: come back soon, but not at once, so that under load each pump carries
                    # a batch rather than a message or two (two transactions per pump).
                    pause = self.settings.relay_busy_interval_seconds
            except Exception:  # the relay must keep going; the failed batch stays pending
                log.exception("relay.failed")
            self._stop.wait(pause)

    def start(self) -> None:
        """Start the background relay and webhook worker."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="outbox-relay", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the worker and release connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._bus is not None:
            self._bus.close()
        self.engine.dispose()
        self.read_engine.dispose()
        if self._turns is not None:
            self._turns.close()
