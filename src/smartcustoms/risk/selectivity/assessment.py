"""Assessment: a declaration's facts through the rules, the model, identification and the random draw, to a lane.

`assess` runs inside the lodging transaction: the declaration, its assessment and the events are
written together or not at all. Rules, models, knowledge, settings and the office's recent scores
are cached, so the hot path reads the database only for the importer's earlier declarations (and,
every few seconds per office, its recent scores).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.kit.db import append, appends_held
from smartcustoms.manifest import service as manifests
from smartcustoms.risk import facts as facts_mod
from smartcustoms.risk.identification import service as identification
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.model import service as models
from smartcustoms.risk.model.models import ModelRole, RiskModel
from smartcustoms.risk.parameter import service as parameters
from smartcustoms.risk.selectivity import domain, ranking, thresholds
from smartcustoms.risk.selectivity.models import Assessment
from smartcustoms.risk.selectivity.settings import setting_for
from smartcustoms.risk.selectivity.views import view

_lock = threading.Lock()

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


def forget_importer_counts() -> None:
    """Forget which importers reached the cap (tests; after a database is emptied)."""
    with _lock:
        _at_cap.clear()


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
    on_manifest = manifests.note_declaration(session, declaration=decl, now=now)  # also keeps its B/L for matching
    for r in rows:
        r["bl_on_manifest"] = on_manifest
    rules = parameters.active(session, on=on)
    ev = parameters.evaluate(rules, rows, office=decl.office)
    champion, challenger = models.for_procedure(session, procedure=decl.procedure)
    score: float | None = None
    contributions: list[dict[str, Any]] = []
    red_at = yellow_at = None
    setting = setting_for(session, office=decl.office, on=on, now=now)
    credit = str(rows[0].get("importer_credit", "unknown")) if rows else "unknown"
    rates = setting.rates(credit)
    the_draw = domain.draw(seed=setting.seed, number=decl.number, version=decl.version, rates=rates)
    model_label = None
    shadow = None
    model_lane: tuple[str, str | None] | None = None
    ranked: dict[str, Any] = {"thresholds_from": "fixed bands for the rules' own score"}
    if champion is not None:
        snap = models.snapshot(session, until=on)
        score, expl = champion.score_one(rows, snap, on=on)
        contributions = [{k: _round(v) for k, v in c.items()} for c in expl.top(8)]
        model_label = champion.label
        seed = [float(q) for q in champion.histogram.get("quantiles") or []]
        win, seeded = thresholds.current(session, office=decl.office, model=model_label, setting=setting, seed=seed)
        if win is not None:
            factor = _credit_factor(setting, credit)
            v = ranking.verdict(win, score=score, factor=factor, red=setting.red_rate, yellow=setting.yellow_rate, u=the_draw.tie_u)
            model_lane = (v.lane, v.reason)
            red_at, yellow_at = _round(v.red_at), _round(v.yellow_at)
            ranked = {
                "thresholds_from": thresholds.basis(win, decl.office, seeded=seeded),
                "position": _round(v.position),
                "red_cut": _round(v.red_cut),
                "yellow_cut": _round(v.yellow_cut),
            }
        else:
            model_lane = ("green", None)
            ranked = {"thresholds_from": "no scores to rank against"}
        thresholds.add(session, office=decl.office, model=model_label, size=setting.score_window, score=score, credit=credit)
        if challenger is not None:
            c_score, _ = challenger.score_one(rows, snap, on=on)
            shadow = {"model": challenger.label, "score": round(c_score, 6)}
    else:
        score = round(domain.rule_score(ev.hits), 6)
        red_at, yellow_at = domain.RULE_SCORE_RED, domain.RULE_SCORE_YELLOW
    decision = domain.decide(
        hits=ev.hits, errors=ev.errors, score=score, red_at=red_at, yellow_at=yellow_at, the_draw=the_draw, model=model_lane
    )
    draw_json = the_draw.as_json(setting_id=setting.id, seed_ref=domain.seed_ref(setting.seed))
    draw_json.update({"credit": credit, "red_at": red_at, "yellow_at": yellow_at, **ranked, "asked": decision.asked})
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


def _credit_factor(setting: Any, credit: str) -> float:
    """How a trader's credit scales the office's rates (1 unless AEO or low credit)."""
    return float(setting.aeo_factor) if credit == "aeo" else float(setting.low_credit_factor) if credit == "low" else 1.0


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
