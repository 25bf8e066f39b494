"""What an assessment shows to whom, how the lanes fell against the targets (by cause), and enterprise profiles."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import repository
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.errors import NotFound
from smartcustoms.party.models import Enterprise
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.selectivity import domain
from smartcustoms.risk.selectivity.models import Assessment, Outcome
from smartcustoms.risk.selectivity.settings import in_force

# Roles that see the risk internals of an assessment (officers only at their own office).
RISK_READERS = frozenset({Role.analyst, Role.supervisor, Role.admin})
CASE_ROLES = frozenset({Role.officer, Role.inspector})


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


def declarations_page(
    session: Session,
    *,
    enterprise_id: int | None,
    office: str | None,
    status: Status | None,
    lane: str | None,
    limit: int,
    offset: int,
    only: Any = None,
) -> tuple[list[tuple[Declaration, str | None]], int]:
    """A page of the declarations a caller may see, newest first, each with the lane of its newest assessment; and the total.

    `lane` keeps only the declarations whose newest assessment fell in that lane; `only`, a select of
    declaration ids (an officer's tasks' declarations), keeps only those.
    """
    newest_lane = (
        select(Assessment.lane)
        .where(Assessment.declaration_id == Declaration.id)
        .order_by(Assessment.id.desc())
        .limit(1)
        .correlate(Declaration)
        .scalar_subquery()
    )
    stmt = repository.scoped(select(Declaration, newest_lane.label("lane")), enterprise_id=enterprise_id, office=office)
    if status is not None:
        stmt = stmt.where(Declaration.status == status)
    if lane is not None:
        stmt = stmt.where(newest_lane == lane)
    if only is not None:
        stmt = stmt.where(Declaration.id.in_(only))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(Declaration.lodged_at.desc(), Declaration.id.desc()).limit(limit).offset(offset)).all()
    return [(d, str(ln) if ln is not None else None) for d, ln in rows], int(total)


# --- statistics -----------------------------------------------------------------------------------


def lane_shares(session: Session, *, office: str | None, now: datetime, days: int = 30) -> dict[str, Any]:
    """How the lanes actually fell in the last days, against the setting's targets (one row per declaration version).

    `by_cause` says what sent them there: for each cause (`domain.CAUSES`), how many assessments
    ended in a lane that cause asked for, and how many only that cause asked for (`alone`). A
    declaration two causes sent to red counts under both. Assessments made before causes were
    recorded count under `unrecorded`.
    """
    since = now - timedelta(days=days)
    asked = [Assessment.random_draw[("asked", c)].as_string() for c in domain.CAUSES]
    stmt = select(Assessment.lane, *asked, func.count()).where(Assessment.assessed_at >= since).group_by(Assessment.lane, *asked)
    if office:
        stmt = stmt.where(Assessment.office == office)
    counts = dict.fromkeys(domain.LANES, 0)
    causes = (*domain.CAUSES, "unrecorded")
    by_cause: dict[str, dict[str, Any]] = {
        c: {"counts": dict.fromkeys(domain.LANES[1:], 0), "alone": dict.fromkeys(domain.LANES[1:], 0)} for c in causes
    }
    for lane, *wanted, n in session.execute(stmt):
        lane, n = str(lane), int(n)
        counts[lane] += n
        if lane == "green":
            continue
        asking = (
            [c for c, w in zip(domain.CAUSES, wanted, strict=True) if w == lane] if any(w is not None for w in wanted) else ["unrecorded"]
        )
        for c in asking:
            by_cause[c]["counts"][lane] += n
            if len(asking) == 1:
                by_cause[c]["alone"][lane] += n
    total = sum(counts.values())
    setting = in_force(session, office or "*", now.date())
    random_n = session.scalar(
        select(func.count())
        .select_from(Assessment)
        .where(Assessment.assessed_at >= since, *([Assessment.office == office] if office else []))
        .where(Assessment.random_draw["selected"].as_boolean())
    )
    for entry in by_cause.values():
        entry["shares"] = {k: (v / total if total else 0.0) for k, v in entry["counts"].items()}
    if not any(by_cause["unrecorded"]["counts"].values()):
        del by_cause["unrecorded"]
    return {
        "office": office or "*",
        "days": days,
        "assessments": total,
        "counts": counts,
        "shares": {k: (v / total if total else 0.0) for k, v in counts.items()},
        "random_selected": int(random_n or 0),
        "targets": setting.public() if setting else None,
        "by_cause": by_cause,
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
