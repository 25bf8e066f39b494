"""Selectivity settings: each office's target lane rates, random share and secret seed, from a day on (cached briefly)."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.party.models import CreditRating
from smartcustoms.risk.selectivity import domain
from smartcustoms.risk.selectivity.models import SelectivitySetting

DEFAULTS = {"red_rate": 0.03, "yellow_rate": 0.07, "random_rate": 0.02, "aeo_factor": 0.25, "low_credit_factor": 2.0}
SCORE_WINDOW = 2000  # the office's last N model scores its lanes follow (ranking.py), unless the setting says otherwise
SCORE_WINDOW_RANGE = (50, 100_000)
SETTING_TTL_SECONDS = 30.0


@dataclass(frozen=True)
class Setting:
    """The selectivity setting in force for an office (a copy, safe to cache)."""

    id: int
    office: str
    red_rate: float
    yellow_rate: float
    random_rate: float
    aeo_factor: float
    low_credit_factor: float
    seed: int
    valid_from: date
    score_window: int = SCORE_WINDOW

    def rates(self, credit: str) -> domain.Rates:
        """The office's rates, scaled for the trader's credit rating."""
        base = domain.Rates(self.red_rate, self.yellow_rate, self.random_rate)
        if credit == CreditRating.aeo.value:
            return base.scaled(self.aeo_factor)
        if credit == CreditRating.low.value:
            return base.scaled(self.low_credit_factor)
        return base

    def public(self) -> dict[str, Any]:
        """The setting as the API shows it: the seed itself stays secret, its fingerprint does not."""
        return {
            "id": self.id,
            "office": self.office,
            "red_rate": self.red_rate,
            "yellow_rate": self.yellow_rate,
            "random_rate": self.random_rate,
            "aeo_factor": self.aeo_factor,
            "low_credit_factor": self.low_credit_factor,
            "seed_ref": domain.seed_ref(self.seed),
            "valid_from": self.valid_from.isoformat(),
            "score_window": self.score_window,
        }


def _copy(row: SelectivitySetting) -> Setting:
    return Setting(
        row.id,
        row.office,
        row.red_rate,
        row.yellow_rate,
        row.random_rate,
        row.aeo_factor,
        row.low_credit_factor,
        row.seed,
        row.valid_from,
        row.score_window,
    )


_lock = threading.Lock()
_settings: dict[tuple[str, str, date], tuple[float, Setting]] = {}


def invalidate() -> None:
    """Forget cached settings (after a change)."""
    with _lock:
        _settings.clear()


def _validate_setting(values: dict[str, Any]) -> None:
    problems = []
    for name in ("red_rate", "yellow_rate", "random_rate"):
        v = values[name]
        if not 0.0 <= v <= 1.0:
            problems.append(Problem("RSK-SEL-001", f"/{name}", f"{name} must be a share between 0 and 1, not {v}."))
    if values["red_rate"] + values["yellow_rate"] > 1.0:
        problems.append(Problem("RSK-SEL-002", "/yellow_rate", "Together, red_rate and yellow_rate cannot exceed 1."))
    for name in ("aeo_factor", "low_credit_factor"):
        v = values[name]
        if not 0.0 <= v <= 10.0:
            problems.append(Problem("RSK-SEL-003", f"/{name}", f"{name} must be between 0 and 10, not {v}."))
    if values["aeo_factor"] > 1.0:
        problems.append(Problem("RSK-SEL-004", "/aeo_factor", "AEO enterprises get lower rates: aeo_factor cannot exceed 1."))
    lo, hi = SCORE_WINDOW_RANGE
    if not lo <= values["score_window"] <= hi:
        problems.append(
            Problem(
                "RSK-SEL-007",
                "/score_window",
                f"score_window is the number of recent scores lanes follow: {lo} to {hi}, not {values['score_window']}.",
            )
        )
    office = values["office"]
    if office != "*" and not (isinstance(office, str) and office.isascii() and office.isdigit() and len(office) == 4):
        problems.append(Problem("RSK-SEL-005", "/office", "office must be a 4-digit customs office code, or * for every office."))
    if problems:
        raise ValidationFailed("The selectivity setting has problems.", problems)


def set_setting(
    session: Session,
    *,
    office: str,
    red_rate: float,
    yellow_rate: float,
    random_rate: float,
    aeo_factor: float = DEFAULTS["aeo_factor"],
    low_credit_factor: float = DEFAULTS["low_credit_factor"],
    valid_from: date,
    reason: str,
    actor: Actor,
    now: datetime,
    seed: int | None = None,
    score_window: int = SCORE_WINDOW,
) -> Setting:
    """A new setting for an office (or '*') from a day on; the random seed is new unless given. Journaled."""
    values = {
        "office": office,
        "red_rate": red_rate,
        "yellow_rate": yellow_rate,
        "random_rate": random_rate,
        "aeo_factor": aeo_factor,
        "low_credit_factor": low_credit_factor,
        "score_window": score_window,
    }
    _validate_setting(values)
    if not reason.strip():
        raise ValidationFailed("A reason is required.", [Problem("RSK-SEL-006", "/reason", "Say why the setting changes.")])
    before = in_force(session, office, valid_from)
    row = SelectivitySetting(
        **values,
        seed=seed if seed is not None else secrets.randbits(62),
        valid_from=valid_from,
        reason=reason,
        created_by=actor.name,
        created_at=now,
    )
    session.add(row)
    session.flush()
    setting = _copy(row)
    record(
        session,
        actor=actor,
        action="risk.selectivity_set",
        subject_type="selectivity_setting",
        subject_id=office,
        now=now,
        before=before.public() if before is not None and before.office == office else None,
        after=setting.public(),
        reason=reason,
    )
    invalidate()
    return setting


def in_force(session: Session, office: str, on: date) -> Setting | None:
    for key in (office, "*"):
        row = session.scalar(
            select(SelectivitySetting)
            .where(SelectivitySetting.office == key, SelectivitySetting.valid_from <= on)
            .order_by(SelectivitySetting.valid_from.desc(), SelectivitySetting.id.desc())
            .limit(1)
        )
        if row is not None:
            return _copy(row)
    return None


def ensure_default(session: Session, *, actor: Actor, now: datetime) -> Setting | None:
    """Create the '*' setting with a fresh secret seed if there is none (`smartcustoms init` calls this); idempotent."""
    if session.scalar(select(SelectivitySetting.id).where(SelectivitySetting.office == "*").limit(1)) is not None:
        return None
    return set_setting(
        session,
        office="*",
        valid_from=date(2000, 1, 1),
        reason="Default selectivity setting.",
        actor=actor,
        now=now,
        red_rate=DEFAULTS["red_rate"],
        yellow_rate=DEFAULTS["yellow_rate"],
        random_rate=DEFAULTS["random_rate"],
        aeo_factor=DEFAULTS["aeo_factor"],
        low_credit_factor=DEFAULTS["low_credit_factor"],
    )


def setting_for(session: Session, *, office: str, on: date, now: datetime) -> Setting:
    """The setting in force for an office on a day; a default one (with a fresh seed) is created the first time."""
    key = (str(session.get_bind().engine.url), office, on)
    hit = _settings.get(key)
    if hit is not None and time.monotonic() - hit[0] < SETTING_TTL_SECONDS:
        return hit[1]
    found = in_force(session, office, on)
    if found is None:  # a database that `smartcustoms init` did not prepare
        found = ensure_default(session, actor=Actor.system("selectivity"), now=now) or in_force(session, office, on)
        assert found is not None
    with _lock:
        if len(_settings) > 256:
            _settings.clear()
        _settings[key] = (time.monotonic(), found)
    return found


def settings(session: Session) -> list[Setting]:
    """Every setting ever made, newest first."""
    rows = session.scalars(select(SelectivitySetting).order_by(SelectivitySetting.valid_from.desc(), SelectivitySetting.id.desc()))
    return [_copy(r) for r in rows]
