"""Revenue by HS chapter, origin, office and month, from each declaration's latest assessment in a period."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.duty.models import DutyAssessment
from smartcustoms.duty.service import from_fen, to_fen

COLUMNS = ("period", "office", "chapter", "origin", "items", "duty", "consumption_tax", "vat", "total")


def revenue(session: Session, *, start: date, end: date, office: str | None = None) -> dict[str, Any]:
    """Rows (period = month assessed, office, chapter, origin) with the taxes due after waivers, and the revenue recovered.

    Each declaration counts once, at its newest assessment within [start, end]; a waived tax
    counts zero; `office` keeps one office's. `recovered` sums the increases of reassessments in the period, `refunds_due` their
    decreases, `reassessments` counts them by source (amendment, inspection) with the net difference.
    """
    lo = datetime.combine(start, time.min, tzinfo=UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    stmt = select(DutyAssessment).where(DutyAssessment.assessed_at >= lo, DutyAssessment.assessed_at < hi).order_by(DutyAssessment.id)
    if office is not None:  # one office's revenue (an officer's)
        stmt = stmt.where(DutyAssessment.office == office)
    newest: dict[int, DutyAssessment] = {}
    recovered = refunds = 0
    by_source: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "recovered": 0, "refunds_due": 0})
    for a in session.scalars(stmt):
        newest[a.declaration_id] = a
        recovered += max(a.difference_fen, 0)
        refunds += max(-a.difference_fen, 0)
        if a.source != "lodging":
            by_source[a.source]["count"] += 1
            by_source[a.source]["recovered"] += max(a.difference_fen, 0)
            by_source[a.source]["refunds_due"] += max(-a.difference_fen, 0)
    sums: dict[tuple[str, str, str, str], dict[str, Any]] = defaultdict(lambda: {"items": 0, "duty": 0, "consumption_tax": 0, "vat": 0})
    for a in newest.values():
        waived = {w["tax"] for w in a.detail.get("waived", [])}
        for item in a.detail.get("items", []):
            key = (a.assessed_at.strftime("%Y-%m"), a.office, item["chapter"], item["origin"])
            row = sums[key]
            row["items"] += 1
            for tax in ("duty", "consumption_tax", "vat"):
                if tax not in waived:
                    row[tax] += to_fen(Decimal(item[tax]))
    rows = []
    for (period, office, chapter, origin), v in sorted(sums.items()):
        total = v["duty"] + v["consumption_tax"] + v["vat"]
        rows.append(
            {
                "period": period,
                "office": office,
                "chapter": chapter,
                "origin": origin,
                "items": v["items"],
                **{t: str(from_fen(v[t])) for t in ("duty", "consumption_tax", "vat")},
                "total": str(from_fen(total)),
            }
        )
    grand = sum((Decimal(r["total"]) for r in rows), Decimal("0.00"))
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "declarations": len(newest),
        "rows": rows,
        "total": str(grand),
        "recovered": str(from_fen(recovered)),
        "refunds_due": str(from_fen(refunds)),
        "reassessments": {
            k: {"count": v["count"], "recovered": str(from_fen(v["recovered"])), "refunds_due": str(from_fen(v["refunds_due"]))}
            for k, v in sorted(by_source.items())
        },
    }


DIMENSIONS = ("chapter", "origin", "office", "period")


def totals_by(rows: list[dict[str, Any]], dimension: str, *, top: int = 12) -> list[tuple[str, Decimal]]:
    """The report's total revenue by one dimension, largest first (periods in time order); beyond `top`, the rest as "…"."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        sums[str(r[dimension])] += Decimal(r["total"])
    if dimension == "period":
        return sorted(sums.items())
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) > top:
        ranked = [*ranked[: top - 1], ("…", sum((v for _, v in ranked[top - 1 :]), Decimal("0.00")))]
    return ranked
