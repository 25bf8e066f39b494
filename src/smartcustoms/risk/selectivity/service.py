"""Selectivity: assess a declaration (rules + model + knowledge + random draw), store it, explain it.

`assess` runs inside the lodging transaction: the declaration, its assessment and the events are
written together or not at all. Rules, models, knowledge and settings are cached, so the hot path
reads the database only for the importer's earlier declarations and the office's setting.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from smartcustoms.kit.db import append, appends_held
from smartcustoms.party.models import CreditRating, Enterprise
from smartcustoms.risk import facts as facts_mod
from smartcustoms.risk.history import service as history
from smartcustoms.risk.identification import service as identification
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.model import service as models
from smartcustoms.risk.model.models import ModelRole, RiskModel
from smartcustoms.risk.parameter import service as parameters
from smartcustoms.risk.selectivity import domain
from smartcustoms.risk.selectivity.models import Assessment, Outcome, SelectivitySetting

# Roles that see the risk internals of an assessment (officers only at their own office).
RISK_READERS = frozenset({Role.analyst, Role.supervisor, Role.admin})
CASE_ROLES = frozenset({Role.officer, Role.inspector})
OUTCOME_ROLES = frozenset({Role.officer, Role.inspector, Role.supervisor})
DEFAULTS = {"red_rate": 0.03, "yellow_rate": 0.07, "random_rate": 0.02, "aeo_factor": 0.25, "low_credit_factor": 2.0}
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
        }


def _copy(row: SelectivitySetting) -> Setting:
    return Setting(
        row.id, row.office, row.red_rate, row.yellow_rate, row.random_rate, row.aeo_factor, row.low_credit_factor, row.seed, row.valid_from
    )


_lock = threading.Lock()
_settings: dict[tuple[str, str, date], tuple[float, Setting]] = {}


def invalidate() -> None:
    """Forget cached settings and recent score quantiles (after a change)."""
    with _lock:
        _settings.clear()
        _recent.clear()
        _at_cap.clear()


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
) -> Setting:
    """A new setting for an office (or '*') from a day on; the random seed is new unless given. Journaled."""
    values = {
        "office": office,
        "red_rate": red_rate,
        "yellow_rate": yellow_rate,
        "random_rate": random_rate,
        "aeo_factor": aeo_factor,
        "low_credit_factor": low_credit_factor,
    }
    _validate_setting(values)
    if not reason.strip():
        raise ValidationFailed("A reason is required.", [Problem("RSK-SEL-006", "/reason", "Say why the setting changes.")])
    before = _in_force(session, office, valid_from)
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


def _in_force(session: Session, office: str, on: date) -> Setting | None:
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
    found = _in_force(session, office, on)
    if found is None:  # a database that `smartcustoms init` did not prepare
        found = ensure_default(session, actor=Actor.system("selectivity"), now=now) or _in_force(session, office, on)
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


# --- assessment ----------------------------------------------------------------------------------


IMPORTER_COUNT_CAP = 10_000  # the fact only needs to tell new and small importers apart; bounded work


def importer_count_statement(cap: int) -> Any:
    """Count an importer's declarations before one (`uscc`, `before`), stopping at `cap`."""
    return select(func.count()).select_from(
        select(Declaration.id)
        .where(Declaration.trader_uscc == bindparam("uscc"), Declaration.id < bindparam("before"))
        .limit(cap)
        .subquery()
    )


_IMPORTER_COUNT = importer_count_statement(IMPORTER_COUNT_CAP)


# Importers known to have reached the cap, per database, with the id of a declaration that
# already had `IMPORTER_COUNT_CAP` before it: declarations are never deleted, so any later one
# has at least as many and need not count 10,000 index entries again.
_at_cap: dict[tuple[str, str], int] = {}
_AT_CAP_MAX = 100_000


def _importer_count(session: Session, decl: Declaration) -> int:
    """How many declarations the importer lodged before this one, counted up to `IMPORTER_COUNT_CAP`."""
    key = (str(session.get_bind().engine.url), decl.trader_uscc)
    reached = _at_cap.get(key)
    if reached is not None and decl.id >= reached:
        return IMPORTER_COUNT_CAP
    n = int(session.scalar(_IMPORTER_COUNT, {"uscc": decl.trader_uscc, "before": decl.id}) or 0)
    if n >= IMPORTER_COUNT_CAP:
        with _lock:
            if len(_at_cap) >= _AT_CAP_MAX:
                _at_cap.clear()
            _at_cap[key] = min(decl.id, _at_cap.get(key, decl.id))
    return n


def assess(session: Session, *, decl: Declaration, now: datetime) -> Assessment:
    """Assess the current version of a declaration and store the assessment (no status change here)."""
    on = now.date()
    base = knowledge.context(session, on=on)
    ctx = facts_mod.Context(
        base.credit,
        {decl.trader_uscc: _importer_count(session, decl)},
        base.reference_price,
        base.watchlist,
        base.licences,
        base.prohibited,
    )
    rows = facts_mod.item_facts(decl.payload, ctx)
    mismatches = {m.line: m for m in identification.check_items(session, decl.payload.get("items") or [])}
    for r in rows:
        m = mismatches.get(int(r["line"])) if r.get("line") is not None else None
        r["hs_mismatch"], r["hs_suggested"] = m is not None, (m.suggested_heading if m else None)
    rules = parameters.active(session, on=on)
    ev = parameters.evaluate(rules, rows, office=decl.office)
    champion, challenger = models.for_procedure(session, procedure=decl.procedure)
    score: float | None = None
    contributions: list[dict[str, Any]] = []
    red_at = yellow_at = None
    setting = setting_for(session, office=decl.office, on=on, now=now)
    credit = str(rows[0].get("importer_credit", "unknown")) if rows else "unknown"
    rates = setting.rates(credit)
    model_label = None
    shadow = None
    threshold_basis = "fixed bands for the rules' own score"
    if champion is not None:
        snap = models.snapshot(session, until=on)
        score, expl = champion.score_one(rows, snap, on=on)
        contributions = [{k: _round(v) for k, v in c.items()} for c in expl.top(8)]
        model_label = champion.label
        recent = _recent_quantiles(session, office=decl.office, model=champion.label)
        q: list[float]
        q, threshold_basis = (
            recent if recent is not None else (list(champion.histogram.get("quantiles") or []), "the model's validation scores")
        )
        red_at = domain.threshold(q, rates.red)
        yellow_at = domain.threshold(q, rates.red + rates.yellow)
        if challenger is not None:
            c_score, _ = challenger.score_one(rows, snap, on=on)
            shadow = {"model": challenger.label, "score": round(c_score, 6)}
    else:
        score = round(domain.rule_score(ev.hits), 6)
        red_at, yellow_at = domain.RULE_SCORE_RED, domain.RULE_SCORE_YELLOW
    the_draw = domain.draw(seed=setting.seed, number=decl.number, version=decl.version, rates=rates)
    decision = domain.decide(hits=ev.hits, errors=ev.errors, score=score, red_at=red_at, yellow_at=yellow_at, the_draw=the_draw)
    draw_json = the_draw.as_json(setting_id=setting.id, seed_ref=domain.seed_ref(setting.seed))
    draw_json.update({"credit": credit, "red_at": red_at, "yellow_at": yellow_at, "thresholds_from": threshold_basis})
    row = {
        "declaration_id": decl.id,
        "number": decl.number,
        "declaration_version": decl.version,
        "office": decl.office,
        "lane": decision.lane,
        "score": float(score or 0.0),
        "model": model_label,
        "challenger": shadow,
        "hits": [_public_hit(h, rules) for h in ev.hits] + [_identification_hit(m) for m in mismatches.values()],
        "errors": ev.errors,
        "contributions": contributions,
        "random_draw": draw_json,
        "basis": decision.basis,
        "assessed_at": now,
    }
    # Assessments are never changed once made: the row is queued with the lodging's other
    # append-only rows (one statement for all of them on PostgreSQL); callers get it as an object.
    append(session, _ASSESSMENTS, row)
    return Assessment(**row)


_ASSESSMENTS = cast(Table, Assessment.__table__)
RECENT_WINDOW = 2000
RECENT_MINIMUM = 100
RECENT_TTL_SECONDS = 30.0
_recent: dict[tuple[str, str, str], tuple[float, list[float] | None]] = {}


def _recent_quantiles(session: Session, *, office: str, model: str) -> tuple[list[float], str] | None:
    """Score quantiles of recent assessments by this model: the office's, else all offices', once there are enough.

    Target rates turn into thresholds through the scores actually seen, so a shift in trade (new
    traders, a season, goods the model never saw) does not flood the inspectors: volumes follow
    capacity. Until `RECENT_MINIMUM` assessments exist, the model's validation scores stand in.
    """
    for scope in (office, "*"):
        key = (str(session.get_bind().engine.url), scope, model)
        hit = _recent.get(key)
        if hit is not None and time.monotonic() - hit[0] < RECENT_TTL_SECONDS:
            found = hit[1]
        else:
            stmt = select(Assessment.score).where(Assessment.model == model).order_by(Assessment.id.desc()).limit(RECENT_WINDOW)
            if scope != "*":
                stmt = stmt.where(Assessment.office == office)
            scores = sorted(session.scalars(stmt))
            found = None
            if len(scores) >= RECENT_MINIMUM:
                n = len(scores) - 1
                found = [scores[round(i * n / 200)] for i in range(201)]
            with _lock:
                if len(_recent) > 256:
                    _recent.clear()
                _recent[key] = (time.monotonic(), found)
        if found is not None:
            where = f"office {office}" if scope != "*" else "all offices"
            return found, f"the last {RECENT_WINDOW} or fewer scores at {where}"
    return None


def _round(v: Any) -> Any:
    return round(v, 6) if isinstance(v, float) else v


IDENTIFICATION_CODE = "SYS-HSID-001"


def _identification_hit(m: Any) -> dict[str, Any]:
    """Smart identification's flag, shown beside the rule hits; it weighs nothing by itself (rules on `hs_mismatch` may)."""
    return {
        "code": IDENTIFICATION_CODE,
        "version": 1,
        "line": m.line,
        "reason": f"The description reads like heading {m.suggested_heading} ({m.suggested_text[:120]}; probability {m.probability:.2f}), "
        f"not the declared heading {m.declared_heading}.",
        "instructions": "Check the goods and the description against the declared tariff line; the classification may be wrong.",
        "lane": None,
        "weight": 0.0,
        "facts": ["hs_code", "description"],
    }


def _public_hit(hit: dict[str, Any], rules: tuple[parameters.ActiveRule, ...]) -> dict[str, Any]:
    facts = next((sorted(r.compiled.facts) for r in rules if r.code == hit["code"]), [])
    return {**hit, "facts": facts}


def assess_and_route(session: Session, *, decl: Declaration, now: datetime) -> Assessment:
    """Assess an accepted declaration and move it to `assessed`, with the lane in the event's reason."""
    a = assess(session, decl=decl, now=now)
    declaration_service.transition(
        session, decl=decl, to=Status.assessed, actor=Actor.system("selectivity"), now=now, reason=_event_reason(a)
    )
    return a


def reassess(session: Session, *, decl: Declaration, now: datetime) -> Assessment:
    """Assess an amended declaration again; the new assessment replaces the old one, which stays on record."""
    a = assess(session, decl=decl, now=now)
    declaration_service.record_event(
        session,
        decl,
        event="declaration.reassessed",
        from_status=decl.status,
        actor=Actor.system("selectivity"),
        now=now,
        reason=_event_reason(a),
        audit_after={"status": decl.status.value, "version": decl.version, "lane": a.lane},
    )
    return a


def _event_reason(a: Assessment) -> str:
    return f"Lane {a.lane}: " + domain.LANE_MEANING[a.lane][1]


def latest(session: Session, *, declaration_id: int) -> Assessment | None:
    """The newest assessment of a declaration."""
    return session.scalar(select(Assessment).where(Assessment.declaration_id == declaration_id).order_by(Assessment.id.desc()).limit(1))


def sees_internals(principal: Principal, decl: Declaration) -> bool:
    """Analysts, supervisors and admins, and the officers of the declaration's office."""
    if principal.role in RISK_READERS:
        return True
    return principal.role in CASE_ROLES and principal.office == decl.office


def view(a: Assessment, *, principal: Principal, decl: Declaration) -> dict[str, Any]:
    """The assessment as this caller may see it: the full picture, or the trader's view."""
    if sees_internals(principal, decl):
        return {
            "lane": a.lane,
            "score": a.score,
            "model": a.model,
            "challenger": a.challenger,
            "basis": a.basis,
            "hits": [{k: h.get(k) for k in ("code", "version", "line", "reason", "instructions", "lane", "weight")} for h in a.hits or []],
            "errors": a.errors,
            "contributions": a.contributions,
            "random_draw": a.random_draw,
            "declaration_version": a.declaration_version,
            "assessed_at": a.assessed_at.isoformat(),
        }
    shown = domain.trader_view(
        a.lane,
        [frozenset(h.get("facts") or ()) for h in a.hits or []],
        random=bool((a.random_draw or {}).get("selected")),
        errors=bool(a.errors),
    )
    return {"lane": a.lane, **shown, "assessed_at": a.assessed_at.isoformat()}


# --- outcomes: what checks found, and the labels the model learns from ----------------------------


def record_outcome(
    session: Session,
    *,
    decl: Declaration,
    source: str,
    hit: bool,
    critical: int,
    revenue_recovered: Decimal,
    finding: str | None,
    principal: Principal,
    now: datetime,
) -> Outcome:
    """Record what a review, inspection or audit found; journaled, and copied into labelled history."""
    if principal.role not in OUTCOME_ROLES:
        raise Forbidden("Only officers, inspectors and supervisors record outcomes.")
    if principal.role is not Role.supervisor and principal.office != decl.office:
        raise Forbidden("Only the officers of the declaration's office record its outcomes.")
    problems = []
    if source not in ("review", "inspection", "audit"):
        problems.append(Problem("RSK-OUT-001", "/source", "source must be review, inspection or audit."))
    if critical not in (0, 1, 2):
        problems.append(Problem("RSK-OUT-002", "/critical", "critical must be 0 (none), 1 (serious) or 2 (critical)."))
    if revenue_recovered < 0:
        problems.append(Problem("RSK-OUT-003", "/revenue_recovered", "Revenue recovered cannot be negative."))
    if not hit and (critical or revenue_recovered):
        problems.append(Problem("RSK-OUT-004", "/hit", "A check that found nothing cannot be critical or recover revenue."))
    if problems:
        raise ValidationFailed("The outcome has problems.", problems)
    if decl.status in (Status.lodged, Status.accepted, Status.rejected, Status.withdrawn):
        raise Conflict(f"Declaration {decl.number} is {decl.status.value}; it has not been assessed, so there is no check to record.")
    row = Outcome(
        declaration_id=decl.id,
        number=decl.number,
        source=source,
        hit=hit,
        critical=critical,
        revenue_recovered=revenue_recovered,
        finding=finding,
        recorded_by=principal.name,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=principal.actor(),
        action="risk.outcome_recorded",
        subject_type="declaration",
        subject_id=decl.number,
        now=now,
        before=None,
        after={"source": source, "hit": hit, "critical": critical, "revenue_recovered": str(revenue_recovered)},
        reason=finding,
    )
    # The learning copy: one labelled history row per item, facts as they were declared.
    ctx = knowledge.context(session, on=decl.lodged_at.date())
    rows = facts_mod.item_facts(decl.payload, ctx)
    total = sum(float(r.get("value") or 0.0) for r in rows) or 1.0
    for r in rows:
        share = float(r.get("value") or 0.0) / total
        history.record_outcome_row(
            session,
            declaration_id=f"{decl.number}/{r.get('line')}",
            declared_on=decl.lodged_at.date(),
            facts=r,
            label_fraud=hit,
            label_critical=critical,
            revenue_recovered=float(revenue_recovered) * share,
            now=now,
        )
    return row


def outcomes(session: Session, *, declaration_id: int) -> list[Outcome]:
    """The outcomes recorded for a declaration, oldest first."""
    return list(session.scalars(select(Outcome).where(Outcome.declaration_id == declaration_id).order_by(Outcome.id)))


# --- statistics -----------------------------------------------------------------------------------


def lane_shares(session: Session, *, office: str | None, now: datetime, days: int = 30) -> dict[str, Any]:
    """How the lanes actually fell in the last days, against the setting's targets (one row per declaration version)."""
    since = now - timedelta(days=days)
    stmt = select(Assessment.lane, func.count()).where(Assessment.assessed_at >= since).group_by(Assessment.lane)
    if office:
        stmt = stmt.where(Assessment.office == office)
    counts = {lane: 0 for lane in domain.LANES}
    for lane, n in session.execute(stmt):
        counts[str(lane)] = int(n)
    total = sum(counts.values())
    setting = _in_force(session, office or "*", now.date())
    random_n = session.scalar(
        select(func.count())
        .select_from(Assessment)
        .where(Assessment.assessed_at >= since, *([Assessment.office == office] if office else []))
        .where(Assessment.random_draw["selected"].as_boolean())
    )
    return {
        "office": office or "*",
        "days": days,
        "assessments": total,
        "counts": counts,
        "shares": {k: (v / total if total else 0.0) for k, v in counts.items()},
        "random_selected": int(random_n or 0),
        "targets": setting.public() if setting else None,
    }


# --- enterprise profiles --------------------------------------------------------------------------


def profile(session: Session, *, uscc: str, now: datetime, days: int = 365) -> dict[str, Any]:
    """What customs knows of an enterprise: credit, watch lists, declarations, lanes, checks and what they found."""
    ent = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
    if ent is None:
        raise NotFound(f"No enterprise with USCC {uscc}.")
    since = now - timedelta(days=days)
    mine = or_(Declaration.trader_uscc == uscc, Declaration.declarant_uscc == uscc)
    as_trader = session.scalar(select(func.count()).select_from(Declaration).where(Declaration.trader_uscc == uscc)) or 0
    as_declarant = session.scalar(select(func.count()).select_from(Declaration).where(Declaration.declarant_uscc == uscc)) or 0
    first = session.scalar(select(func.min(Declaration.lodged_at)).where(mine))
    statuses = {
        str(st.value if hasattr(st, "value") else st): int(n)
        for st, n in session.execute(
            select(Declaration.status, func.count()).where(mine, Declaration.lodged_at >= since).group_by(Declaration.status)
        )
    }
    latest_ids = (
        select(func.max(Assessment.id))
        .join(Declaration, Declaration.id == Assessment.declaration_id)
        .where(mine, Assessment.assessed_at >= since)
        .group_by(Assessment.declaration_id)
    )
    lanes = {lane: 0 for lane in domain.LANES}
    for lane, n in session.execute(select(Assessment.lane, func.count()).where(Assessment.id.in_(latest_ids)).group_by(Assessment.lane)):
        lanes[str(lane)] = int(n)
    rule_hits: dict[str, int] = {}
    for hits in session.scalars(select(Assessment.hits).where(Assessment.id.in_(latest_ids))):
        for h in hits or []:
            rule_hits[str(h.get("code"))] = rule_hits.get(str(h.get("code")), 0) + 1
    checks = session.execute(
        select(Outcome.hit, func.count(), func.coalesce(func.sum(Outcome.critical), 0))
        .join(Declaration, Declaration.id == Outcome.declaration_id)
        .where(mine, Outcome.recorded_at >= since)
        .group_by(Outcome.hit)
    ).all()
    found = {bool(hit): int(n) for hit, n, _ in checks}
    revenue = sum(
        (
            o
            for o in session.scalars(
                select(Outcome.revenue_recovered)
                .join(Declaration, Declaration.id == Outcome.declaration_id)
                .where(mine, Outcome.recorded_at >= since)
            )
        ),
        Decimal(0),
    )
    on = now.date()
    watched = [
        {"list": e.list_name, "as": e.party_kind, "reason": e.reason, "since": e.valid_from.isoformat()}
        for e in knowledge.watchlist(session, on=on)
        if e.identifier == uscc
    ]
    checked = found.get(True, 0) + found.get(False, 0)
    return {
        "uscc": ent.uscc,
        "name": ent.name,
        "credit": ent.credit.value,
        "out_of_town": ent.out_of_town,
        "watch_lists": watched,
        "declarations": {
            "as_trader": int(as_trader),
            "as_declarant": int(as_declarant),
            "first_lodged_at": first.isoformat() if first else None,
        },
        "period_days": days,
        "statuses": statuses,
        "lanes": lanes,
        "rule_hits": dict(sorted(rule_hits.items(), key=lambda kv: -kv[1])),
        "checks": {
            "recorded": checked,
            "found_something": found.get(True, 0),
            "hit_rate": found.get(True, 0) / checked if checked else None,
        },
        "revenue_recovered": str(revenue),
    }


# --- the single window's entry points, with assessment --------------------------------------------


def lodge(session: Session, *, raw: Any, principal: Principal, now: datetime) -> tuple[dict[str, Any], bool]:
    """Lodge a declaration and, in the same transaction, assess it and route it to a lane."""
    receipt, decl = declaration_service.intake(session, raw=raw, principal=principal, now=now)
    if decl is None:
        return receipt, True
    # Nothing the assessment reads depends on the declaration's new status, its events, journal
    # entries or outbox messages: all of them are written once, with the assessment, at commit.
    with session.no_autoflush, appends_held(session):
        a = assess_and_route(session, decl=decl, now=now)
    # The answer tells the trader at once where the goods stand; a retry replays the same answer.
    shown = view(a, principal=principal, decl=decl)
    receipt = {**receipt, "status": decl.status.value, "assessment": {k: shown[k] for k in ("lane", "check", "message")}}
    decl.receipt = receipt
    return receipt, False


def amend(session: Session, *, number: str, patch: dict[str, Any], reason: str, principal: Principal, now: datetime) -> Declaration:
    """Amend a declaration and assess the new version."""
    decl = declaration_service.amend(session, number=number, patch=patch, reason=reason, principal=principal, now=now)
    if decl.status is Status.accepted:
        assess_and_route(session, decl=decl, now=now)
    else:
        reassess(session, decl=decl, now=now)
    return decl


def keep_warm(session: Session, *, now: datetime) -> list[str]:
    """Build now what the next lodgings would otherwise build inside themselves; returns what was built.

    The HS classifier (seconds, on first use) and, when a model serves, the history snapshot its
    features read (a second on a large history, every ten minutes): the runtime's worker calls
    this at start and every minute, and rebuilds the snapshot when it is 80 % through its life.
    """
    built = ["identification"] if identification.warm(session) else []
    if session.scalar(select(RiskModel.id).where(RiskModel.role == ModelRole.champion).limit(1)) is not None:
        t0 = time.monotonic()
        models.snapshot(session, until=now.date(), max_age=models.SNAPSHOT_TTL_SECONDS * 0.8)
        if time.monotonic() - t0 > 0.05:
            built.append("snapshot")
    return built


def invalidate_all() -> None:
    """Forget every risk cache of this process: rules, knowledge, models, snapshots, settings."""
    parameters.invalidate()
    knowledge.invalidate()
    models.invalidate()
    identification.invalidate()
    invalidate()
