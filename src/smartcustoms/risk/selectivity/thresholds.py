"""The office's recent model scores, read from the database and cached briefly, that its lanes follow (`ranking`).

Every server process derives the same state from the database: the office's last N assessments
(N = the setting's `score_window`), those scored by the model that serves now, each with its
trader's credit. A process reads them at most every `TTL_SECONDS` per office and model, and adds
its own assessments as it makes them, so a burst of lodgings in one process follows its own
scores at once and the other processes' within seconds.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.risk.selectivity import ranking
from smartcustoms.risk.selectivity.models import Assessment
from smartcustoms.risk.selectivity.settings import Setting

TTL_SECONDS = 5.0
_MAX_CACHED = 512


@dataclass
class _Recent:
    """One office's recent scores by one model, newest last, as (score, credit)."""

    read_at: float
    scores: deque[tuple[float, str]]
    window: ranking.Window | None = None  # built from `scores` on demand; dropped when a score is added
    factors: tuple[float, float] = (1.0, 1.0)  # the (AEO, low credit) factors `window` was built with
    lock: threading.Lock = field(default_factory=threading.Lock)


_lock = threading.Lock()
_recent: dict[tuple[str, str, str, int], _Recent] = {}


def invalidate() -> None:
    """Forget the recent scores (tests; a process reads them again within `TTL_SECONDS` anyway)."""
    with _lock:
        _recent.clear()


def recent_scores(session: Session, *, office: str, model: str, size: int) -> list[tuple[float, str]]:
    """The scores `model` gave among the office's last `size` assessments (every office's for '*'), oldest first, with the trader's credit."""
    stmt = select(Assessment.score, Assessment.model, Assessment.random_draw["credit"].as_string()).limit(size)
    if office == "*":
        stmt = stmt.order_by(Assessment.id.desc())
    else:
        stmt = stmt.where(Assessment.office == office).order_by(Assessment.assessed_at.desc(), Assessment.id.desc())
    rows = session.execute(stmt).all()
    return [(float(score), str(credit or "general")) for score, m, credit in reversed(rows) if m == model]


def _entry(session: Session, *, office: str, model: str, size: int) -> _Recent:
    key = (str(session.get_bind().engine.url), office, model, size)
    found = _recent.get(key)
    if found is not None and time.monotonic() - found.read_at < TTL_SECONDS:
        return found
    scores = recent_scores(session, office=office, model=model, size=size)
    entry = _Recent(time.monotonic(), deque(scores, maxlen=size))
    with _lock:
        if len(_recent) >= _MAX_CACHED:
            _recent.clear()
        _recent[key] = entry
    return entry


def _factor(setting: Setting, credit: str) -> float:
    return setting.aeo_factor if credit == "aeo" else setting.low_credit_factor if credit == "low" else 1.0


def current(session: Session, *, office: str, model: str, setting: Setting, seed: Sequence[float]) -> tuple[ranking.Window | None, bool]:
    """The window the office's next score is ranked in.

    While the office has fewer than `ranking.SEED_WEIGHT` scores of its own, the other offices'
    recent scores by the model stand in for the rest (live traffic, which validation scores may
    not resemble), or the model's validation scores `seed` while there are too few of those too.
    Returns the window and whether it was filled with validation scores.
    """
    entry = _entry(session, office=office, model=model, size=setting.score_window)
    prior: Sequence[float] = seed
    if len(entry.scores) < ranking.SEED_WEIGHT:
        everywhere = _entry(session, office="*", model=model, size=setting.score_window)
        if len(everywhere.scores) >= ranking.SEED_WEIGHT:
            prior = [s for s, _ in everywhere.scores]
    factors = (setting.aeo_factor, setting.low_credit_factor)
    with entry.lock:
        if entry.window is None or entry.factors != factors or len(entry.scores) < ranking.SEED_WEIGHT:
            live = [(s, _factor(setting, c)) for s, c in entry.scores]
            entry.window, entry.factors = ranking.window(live, prior), factors
        return entry.window, prior is seed


def add(session: Session, *, office: str, model: str, size: int, score: float, credit: str) -> None:
    """Count a score this process just gave (the database has it at commit; other processes read it then)."""
    url = str(session.get_bind().engine.url)
    for scope in (office, "*"):
        entry = _recent.get((url, scope, model, size))
        if entry is not None:
            with entry.lock:
                entry.scores.append((float(score), credit))
                entry.window = None


def basis(win: ranking.Window, office: str, *, seeded: bool) -> str:
    """Where the thresholds came from, in words (stored with the assessment)."""
    prior = "the model's validation scores" if seeded else "recent scores at every office"
    own = f"the last {win.live} scores at office {office}"
    if win.live == 0:
        return prior
    if win.seed_weight > 0:
        return f"{own} and {prior} (as {win.seed_weight:g} more)"
    return own
