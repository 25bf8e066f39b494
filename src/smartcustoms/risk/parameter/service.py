"""The parameter library: propose, approve (maker-checker), reject, retire, evaluate, back-test."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import record
from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.parameter.domain import Compiled, check, compile_condition
from smartcustoms.risk.parameter.models import RiskRule, RuleStatus
from smartcustoms.risk.parameter.schemas import RuleCreate

AUTHORS = frozenset({Role.analyst, Role.admin})
CHECKERS = frozenset({Role.analyst, Role.supervisor, Role.admin})


class SamePerson(Conflict):
    """Maker-checker: the person who wrote a rule cannot approve it."""

    default_code = "same_person"


@dataclass(frozen=True)
class ActiveRule:
    """An approved rule in force, compiled."""

    id: int
    code: str
    version: int
    name: str
    reason: str
    instructions: str
    lane: str | None
    weight: float
    offices: frozenset[str] | None
    compiled: Compiled


def _journal(
    session: Session, rule: RiskRule, action: str, principal: Principal, now: datetime, before: dict[str, Any] | None, reason: str | None
) -> None:
    record(
        session,
        actor=principal.actor(),
        action=action,
        subject_type="risk_rule",
        subject_id=f"{rule.code}/v{rule.version}",
        now=now,
        before=before,
        after={
            "status": rule.status.value,
            "condition": rule.condition,
            "lane": rule.lane.value if rule.lane else None,
            "weight": rule.weight,
        },
        reason=reason,
    )


def propose(session: Session, *, data: RuleCreate, principal: Principal, now: datetime) -> RiskRule:
    """Write a new rule or a new version of one; it waits for a second analyst's approval."""
    if principal.role not in AUTHORS:
        raise Forbidden("Only analysts write risk rules.")
    problems = check(data.condition, knowledge.named_lists(session, on=now.date()))
    if data.valid_to is not None and data.valid_to <= data.valid_from:
        problems.append(Problem("RSK-RUL-001", "/valid_to", "valid_to must be after valid_from."))
    if data.lane is None and data.weight == 0:
        problems.append(Problem("RSK-RUL-002", "/weight", "A rule needs a lane or a weight, or it does nothing."))
    if problems:
        raise ValidationFailed("The rule cannot be proposed.", problems)
    last = session.scalar(select(func.max(RiskRule.version)).where(RiskRule.code == data.code)) or 0
    pending = session.scalar(select(RiskRule.id).where(RiskRule.code == data.code, RiskRule.status == RuleStatus.proposed))
    if pending is not None:
        raise Conflict(f"Rule {data.code} already has a version waiting for approval.", code="proposal_pending")
    rule = RiskRule(
        code=data.code,
        version=last + 1,
        status=RuleStatus.proposed,
        name=data.name,
        reason=data.reason,
        instructions=data.instructions,
        condition=data.condition,
        lane=data.lane,
        weight=data.weight,
        offices=data.offices,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        legal_reference=data.legal_reference,
        created_by=principal.name,
        created_at=now,
    )
    session.add(rule)
    session.flush()
    _journal(session, rule, "risk_rule.proposed", principal, now, None, None)
    return rule


def _get(session: Session, code: str, version: int) -> RiskRule:
    rule = session.scalar(select(RiskRule).where(RiskRule.code == code, RiskRule.version == version))
    if rule is None:
        raise NotFound(f"No rule {code} version {version}.")
    return rule


def approve(session: Session, *, code: str, version: int, note: str, principal: Principal, now: datetime) -> RiskRule:
    """A second analyst approves a proposed version; it replaces the version in force."""
    if principal.role not in CHECKERS:
        raise Forbidden("Only analysts and supervisors approve risk rules.")
    rule = _get(session, code, version)
    if rule.status is not RuleStatus.proposed:
        raise Conflict(f"Rule {code} v{version} is {rule.status.value}; only proposed versions are approved.", code="illegal_transition")
    if rule.created_by == principal.name:
        raise SamePerson(f"{principal.name} wrote rule {code} v{version}; another analyst must approve it.")
    for old in session.scalars(select(RiskRule).where(RiskRule.code == code, RiskRule.status == RuleStatus.active)):
        before = {"status": old.status.value}
        old.status = RuleStatus.superseded
        old.decision_note = f"superseded by v{version}"
        _journal(session, old, "risk_rule.superseded", principal, now, before, f"v{version} approved")
    rule.status, rule.decided_by, rule.decided_at, rule.decision_note = RuleStatus.active, principal.name, now, note
    _journal(session, rule, "risk_rule.approved", principal, now, {"status": "proposed"}, note)
    invalidate()
    return rule


def reject(session: Session, *, code: str, version: int, note: str, principal: Principal, now: datetime) -> RiskRule:
    """Refuse a proposed version, with a note."""
    if principal.role not in CHECKERS:
        raise Forbidden("Only analysts and supervisors decide on risk rules.")
    rule = _get(session, code, version)
    if rule.status is not RuleStatus.proposed:
        raise Conflict(f"Rule {code} v{version} is {rule.status.value}; only proposed versions are rejected.", code="illegal_transition")
    rule.status, rule.decided_by, rule.decided_at, rule.decision_note = RuleStatus.rejected, principal.name, now, note
    _journal(session, rule, "risk_rule.rejected", principal, now, {"status": "proposed"}, note)
    return rule


def retire(session: Session, *, code: str, note: str, principal: Principal, now: datetime) -> RiskRule:
    """Take the version in force out of use (it stays in the history)."""
    if principal.role not in CHECKERS:
        raise Forbidden("Only analysts and supervisors retire risk rules.")
    rule = session.scalar(select(RiskRule).where(RiskRule.code == code, RiskRule.status == RuleStatus.active))
    if rule is None:
        raise NotFound(f"Rule {code} has no version in force.")
    rule.status, rule.decision_note = RuleStatus.retired, note
    _journal(session, rule, "risk_rule.retired", principal, now, {"status": "active"}, note)
    invalidate()
    return rule


def versions(session: Session, *, code: str) -> Sequence[RiskRule]:
    """Every version of a rule, oldest first."""
    rows = session.scalars(select(RiskRule).where(RiskRule.code == code).order_by(RiskRule.version)).all()
    if not rows:
        raise NotFound(f"No rule {code}.")
    return rows


def listing(session: Session, *, status: RuleStatus | None = None) -> Sequence[RiskRule]:
    """Rules by code, newest version first, optionally by status."""
    stmt = select(RiskRule).order_by(RiskRule.code, RiskRule.version.desc())
    if status is not None:
        stmt = stmt.where(RiskRule.status == status)
    return session.scalars(stmt).all()


_lock = threading.Lock()
_cache: dict[tuple[str, date], tuple[float, int, tuple[ActiveRule, ...]]] = {}
# Another process (a second worker, the CLI) may approve or retire a rule: this process sees it
# within half a minute. In this process, changes to rules or to the lists they name show at once.
RULES_TTL_SECONDS = 30.0


def invalidate() -> None:
    """Forget compiled rules (after an approval or retirement)."""
    with _lock:
        _cache.clear()


def active(session: Session, *, on: date) -> tuple[ActiveRule, ...]:
    """The approved rules in force on a day, compiled (cached per database and day)."""
    key = (str(session.get_bind().engine.url), on)
    hit = _cache.get(key)
    if hit is not None and hit[1] == knowledge.generation() and time.monotonic() - hit[0] < RULES_TTL_SECONDS:
        return hit[2]
    gen = knowledge.generation()
    lists = knowledge.named_lists(session, on=on)
    rows = session.scalars(
        select(RiskRule)
        .where(
            RiskRule.status == RuleStatus.active,
            RiskRule.valid_from <= on,
            or_(RiskRule.valid_to.is_(None), RiskRule.valid_to > on),
        )
        .order_by(RiskRule.code)
    ).all()
    out = []
    for r in rows:
        if check(r.condition, lists):
            continue  # a list it names has gone: evaluate() reports it as an error below
        out.append(
            ActiveRule(
                r.id,
                r.code,
                r.version,
                r.name,
                r.reason,
                r.instructions,
                r.lane.value if r.lane else None,
                r.weight,
                frozenset(r.offices) if r.offices else None,
                compile_condition(r.condition, lists),
            )
        )
    result = tuple(out)
    with _lock:
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = (time.monotonic(), gen, result)
    return result


@dataclass(frozen=True)
class Evaluation:
    """What the rules found on one declaration."""

    hits: list[dict[str, Any]]
    errors: list[dict[str, Any]]


def evaluate(rules: Sequence[ActiveRule], facts: Sequence[dict[str, Any]], *, office: str) -> Evaluation:
    """Every hit and every rule that could not be evaluated, on the items of one declaration."""
    hits: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for rule in rules:
        if rule.offices is not None and office not in rule.offices:
            continue
        targets = facts if rule.compiled.item_level else facts[:1]
        for f in targets:
            r = rule.compiled.scalar(f)
            line = f.get("line") if rule.compiled.item_level else None
            if r is None:
                missing = sorted(k for k in rule.compiled.facts if f.get(k) is None)
                errors.append(
                    {
                        "code": rule.code,
                        "version": rule.version,
                        "line": line,
                        "message": f"Rule {rule.code} could not be evaluated: missing {', '.join(missing) or 'a fact'}.",
                    }
                )
            elif r:
                hits.append(
                    {
                        "code": rule.code,
                        "version": rule.version,
                        "line": line,
                        "reason": rule.reason,
                        "instructions": rule.instructions,
                        "lane": rule.lane,
                        "weight": rule.weight,
                    }
                )
    return Evaluation(hits, errors)


def score_frame(rules: Sequence[ActiveRule], frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Rules-only risk of every row of a facts frame: (score = summed weights of hits, error count)."""
    score = np.zeros(len(frame))
    errs = np.zeros(len(frame), dtype=int)
    for rule in rules:
        t, e = rule.compiled.frame(frame)
        if rule.offices is not None and "office" in frame.columns:
            applies = frame["office"].isin(rule.offices).to_numpy()
            t, e = t & applies, e & applies
        score += t * (rule.weight if rule.weight else (1.0 if rule.lane == "red" else 0.5 if rule.lane == "yellow" else 0.1))
        errs += e
    return score, errs


def test_condition(condition: dict[str, Any], frame: pd.DataFrame, *, lists: dict[str, frozenset[str]]) -> dict[str, Any]:
    """What a condition would have hit in a facts frame with labels, and how many were real discrepancies."""
    problems = check(condition, lists)
    if problems:
        raise ValidationFailed("The condition has problems.", problems)
    compiled = compile_condition(condition, lists)
    t, e = compiled.frame(frame)
    labelled = "label_fraud" in frame.columns
    fraud = frame["label_fraud"].fillna(0).astype(int).to_numpy() == 1 if labelled else np.zeros(len(frame), dtype=bool)
    revenue = pd.to_numeric(frame.get("revenue_recovered", pd.Series(0, index=frame.index)), errors="coerce").fillna(0).to_numpy()
    hits = int(t.sum())
    true_hits = int((t & fraud).sum())
    return {
        "rows": len(frame),
        "hits": hits,
        "hit_share": hits / len(frame) if len(frame) else 0.0,
        "errors": int(e.sum()),
        "labelled": labelled,
        "true_hits": true_hits,
        "precision": true_hits / hits if hits else None,
        "recall": true_hits / int(fraud.sum()) if fraud.sum() else None,
        "revenue": float(revenue[t].sum()),
        "sample": frame.loc[t].head(10).get("declaration_id", pd.Series(dtype=str)).astype(str).tolist(),
    }
