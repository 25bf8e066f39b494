"""The assessment benchmark's instrumentation: statements counted on the engines, `selectivity.assess` and its parts timed.

Used by bench/assessment.py while it lodges (the patches are undone at the end).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


@dataclass
class Sample:
    """One lodging: the assessment (total and parts), the lodging call and its commit."""

    assess_ms: float = 0.0
    assess_cpu_ms: float = 0.0  # this thread's CPU time: what the wall time would be on an idle machine, less I/O waits
    assess_sql: int = 0
    parts_ms: dict[str, float] = field(default_factory=dict)
    parts_sql: dict[str, int] = field(default_factory=dict)
    lodge_ms: float = 0.0
    commit_ms: float = 0.0
    lodge_cpu_ms: float = 0.0  # the whole lodging with its commit, this thread's CPU time
    lodge_sql: int = 0  # statements sent by the whole lodging (BEGIN included; a batched insert counts once)
    lane: str = ""
    hits: int = 0
    contributions: int = 0


class Probe:
    """Wraps `assess` and the functions it calls (top-level calls only) while the benchmark runs."""

    def __init__(self) -> None:
        self.statements = 0
        self.current: Sample | None = None
        self._stack: list[str] = []
        self._undo: list[tuple[Any, str, Any]] = []

    def count(self, *_: Any) -> None:
        self.statements += 1

    def patch(self, owner: Any, attr: str, replacement: Any) -> None:
        self._undo.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, replacement)

    def part(self, owner: Any, attr: str, label: str) -> None:
        """Time `owner.attr` as `label` when the assessment calls it (not when another timed part does)."""
        original = getattr(owner, attr, None)
        if original is None:  # the product moved on: the part shows up as untimed time
            return
        probe = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            sample = probe.current
            if sample is None or probe._stack:
                return original(*args, **kwargs)
            probe._stack.append(label)
            n0, t0 = probe.statements, time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                sample.parts_ms[label] = sample.parts_ms.get(label, 0.0) + (time.perf_counter() - t0) * 1000
                sample.parts_sql[label] = sample.parts_sql.get(label, 0) + probe.statements - n0
                probe._stack.pop()

        self.patch(owner, attr, timed)

    def undo(self) -> None:
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)
        self._undo.clear()


@contextlib.contextmanager
def instrumented(engines: list[Any]) -> Iterator[Probe]:
    """Count every statement on the engines; time `selectivity.assess` and its parts where lodging calls it."""
    from smartcustoms.risk import facts
    from smartcustoms.risk.identification import service as identification
    from smartcustoms.risk.knowledge import service as knowledge
    from smartcustoms.risk.model import service as models
    from smartcustoms.risk.parameter import service as parameters
    from smartcustoms.risk.selectivity import assessment, domain, thresholds
    from smartcustoms.risk.selectivity import service as selectivity

    probe = Probe()
    for eng in engines:
        event.listen(eng, "before_cursor_execute", probe.count)
    original_assess = selectivity.assess

    def assess(session: Session, *, decl: Any, now: datetime) -> Any:
        sample = Sample()
        n0, t0, c0 = probe.statements, time.perf_counter(), time.thread_time()
        probe.current = sample
        try:
            a = original_assess(session, decl=decl, now=now)
        finally:
            probe.current = None
        sample.assess_ms = (time.perf_counter() - t0) * 1000
        sample.assess_cpu_ms = (time.thread_time() - c0) * 1000
        sample.assess_sql = probe.statements - n0
        sample.lane, sample.hits, sample.contributions = a.lane, len(a.hits or []), len(a.contributions or [])
        probe.last = sample  # type: ignore[attr-defined]
        return a

    # `assess_and_route` looks `assess` up in its module at each call.
    probe.patch(assessment, "assess", assess)
    for owner, attr, label in (
        (knowledge, "context", "knowledge context"),
        (assessment, "_importer_count", "importer's earlier declarations (SQL)"),
        (facts, "item_facts", "facts of the items"),
        (identification, "check_items", "HS identification check"),
        (parameters, "active", "rules in force (cached)"),
        (parameters, "evaluate", "rules evaluated"),
        (models, "for_procedure", "champion/challenger lookup (SQL)"),
        (assessment, "setting_for", "selectivity setting (cached)"),
        (models, "snapshot", "history snapshot (cached)"),
        (models.LoadedModel, "score_one", "model score + TreeSHAP explanation"),
        (thresholds, "current", "the office's recent scores, ranked (read every 5 s)"),
        (domain, "draw", "random draw"),
        (domain, "decide", "lane decision"),
    ):
        probe.part(owner, attr, label)
    try:
        yield probe
    finally:
        probe.undo()
        for eng in engines:
            event.remove(eng, "before_cursor_execute", probe.count)
