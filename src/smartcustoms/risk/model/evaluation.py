"""Evaluation: score a period of history as if it arrived then, beside a rules-only and a random
baseline; the starter rules; score drift against the training histogram."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.risk.history import service as history
from smartcustoms.risk.model import features as F
from smartcustoms.risk.model.metrics import PATTERN_K, _clean_dict, _random_baseline, _top_weights, psi, ranking
from smartcustoms.risk.model.serving import LoadedModel, load
from smartcustoms.risk.parameter.domain import compile_condition
from smartcustoms.risk.parameter.service import ActiveRule, score_frame

# The rules-only baseline when the parameter library has no rule in force: conditions any customs
# analyst would start from, written in the facts language (risk/facts.py). Weights add up.
HUBS = ["SG", "HK", "AE", "MY", "PA"]
STARTER_RULES: tuple[dict[str, Any], ...] = (
    {
        "code": "START-PRICE",
        "name": "Unit price far under the reference",
        "weight": 3.0,
        "condition": {"fact": "price_ratio", "op": "lt", "value": 0.6},
    },
    {
        "code": "START-NEW",
        "name": "First declaration of the importer",
        "weight": 1.0,
        "condition": {"fact": "importer_first", "op": "is", "value": True},
    },
    {
        "code": "START-HUB",
        "name": "Shipped through a transshipment hub",
        "weight": 1.0,
        "condition": {"fact": "departure_country", "op": "in", "value": HUBS},
    },
    {
        "code": "START-CREDIT",
        "name": "Importer with a low credit rating",
        "weight": 1.0,
        "condition": {"fact": "importer_credit", "op": "eq", "value": "low"},
    },
    {
        "code": "START-WATCH",
        "name": "A party is on a watch list",
        "weight": 3.0,
        "condition": {
            "any": [
                {"fact": "consignor_watchlisted", "op": "is", "value": True},
                {"fact": "importer_watchlisted", "op": "is", "value": True},
                {"fact": "declarant_watchlisted", "op": "is", "value": True},
            ]
        },
    },
    {"code": "START-PROHIBITED", "name": "Prohibited goods", "weight": 5.0, "condition": {"fact": "prohibited", "op": "is", "value": True}},
)


def starter_rules() -> tuple[ActiveRule, ...]:
    """The built-in starter rule set, compiled."""
    return tuple(
        ActiveRule(0, r["code"], 1, r["name"], r["name"], "", None, float(r["weight"]), None, compile_condition(r["condition"], {}))
        for r in STARTER_RULES
    )


def evaluate(
    session: Session,
    *,
    model_name: str,
    version: int | None = None,
    date_from: date,
    date_to: date,
    rules: Sequence[ActiveRule] | None = None,
) -> dict[str, Any]:
    """Score the history declared in [date_from, date_to) as if it arrived then, beside a random and a rules-only baseline.

    The rules baseline uses `rules`, else the rules in force on date_from, else the starter set
    (`STARTER_RULES`). See `evaluate_frame`.
    """
    if date_from >= date_to:
        raise ValidationFailed("Empty period.", [Problem("RSK-MDL-005", "/to", "The end of the period must be after its start.")])
    model = load(session, name=model_name, version=version)
    source = "given"
    if rules is None:
        rules, source = _baseline_rules(session, on=date_from)
    return evaluate_frame(
        model, history.frame(session, date_to=date_to), date_from=date_from, date_to=date_to, rules=rules, rules_source=source
    )


def _baseline_rules(session: Session, *, on: date) -> tuple[Sequence[ActiveRule], str]:
    """The rules baseline of an evaluation: the rules in force on a day, else the starter set."""
    from smartcustoms.risk.parameter import service as parameters

    rules: Sequence[ActiveRule] = parameters.active(session, on=on)
    if not rules:
        return starter_rules(), "starter rules"
    return rules, f"{len(rules)} rules in force on {on}"


# Facts computed from others: what a history needs for them.
_DERIVED = {
    "unit_price": "quantity and value",
    "price_ratio": "quantity, value and a reference price",
    "reference_price": "a reference price for the subheading",
    "kg_price": "net mass and value",
    "kg_per_unit": "quantity and net mass",
}


def evaluable_rules(rules: Sequence[ActiveRule], rows: pd.DataFrame) -> tuple[list[ActiveRule], list[dict[str, str]]]:
    """The rules a history can evaluate, and the others with why: a fact they read is missing on every row.

    A rule that reads a fact the history lacks altogether (no `importer_credit` column, no
    quantity for `price_ratio`) would count an error on every row; it is left out of the baseline
    and named instead.
    """
    usable: list[ActiveRule] = []
    skipped: list[dict[str, str]] = []
    for rule in rules:
        absent = sorted(f for f in rule.compiled.facts if f not in rows.columns or not rows[f].notna().any())
        if not absent:
            usable.append(rule)
            continue
        why = "; ".join(f"{f} (needs {_DERIVED[f]})" if f in _DERIVED else f for f in absent)
        skipped.append({"code": rule.code, "reason": f"the history has no value of {why} on any row"})
    return usable, skipped


def evaluate_frame(
    model: LoadedModel, frame: pd.DataFrame, *, date_from: date, date_to: date, rules: Sequence[ActiveRule], rules_source: str = "given"
) -> dict[str, Any]:
    """Evaluate on the rows of a facts frame declared in [date_from, date_to), as if they arrived then (pure).

    Every row's features come from the frame's rows before its day, so nothing of the period's
    future is used. The rules baseline scores the same rows; its price_ratio uses the same
    leak-free reference prices as the model.
    """
    if date_from >= date_to:
        raise ValidationFailed("Empty period.", [Problem("RSK-MDL-005", "/to", "The end of the period must be after its start.")])
    frame = frame.loc[frame["declared_on"] < pd.Timestamp(date_to)]
    period = (frame["declared_on"] >= pd.Timestamp(date_from)).to_numpy()
    if not period.any():
        raise ValidationFailed(
            "No history in the period.", [Problem("RSK-MDL-006", "/from", f"No history declared from {date_from} to {date_to}.")]
        )
    x, _ = F.build_training_features(frame, model.meta)
    scores = model.predict(x.to_numpy()[period])
    rows = frame.loc[period].copy()
    y = rows["label_fraud"].to_numpy(dtype=float)
    revenue = rows["revenue_recovered"].to_numpy(dtype=float)
    out: dict[str, Any] = {
        "model": {"name": model.name, "version": model.version},
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "rows": int(period.sum()),
        "positives": int(y.sum()),
        **ranking(y, scores, revenue),
    }
    ratio = np.exp(x["price_dev"].to_numpy()[period])
    rows["price_ratio"] = ratio
    rows["reference_price"] = rows["unit_price"].to_numpy(dtype=float) / ratio
    usable, skipped = evaluable_rules(rules, rows)
    rule_scores, errors = score_frame(usable, rows)
    out["baselines"] = {
        "rules": {
            **ranking(y, rule_scores, revenue),
            "source": rules_source,
            "rules": [r.code for r in usable],
            "skipped": skipped,
            "rows_with_errors": int((errors > 0).sum()),
        },
        "random": _random_baseline(y, revenue),
    }
    if "pattern" in rows.columns:
        pat = rows["pattern"].fillna("").astype(str).to_numpy()
        wm, wr = _top_weights(scores, PATTERN_K / 100), _top_weights(rule_scores, PATTERN_K / 100)
        out["patterns"] = {
            p: {
                "rows": int((pat == p).sum()),
                "model": float(wm[pat == p].mean()),
                "rules": float(wr[pat == p].mean()),
                "random": PATTERN_K / 100,
            }
            for p in sorted(set(pat) - {""})
        }
        out["patterns_at"] = str(PATTERN_K)
    return _clean_dict(out)


def drift_of(model: LoadedModel, scores: np.ndarray) -> dict[str, Any]:
    """Population stability index of recent scores against the model's validation histogram."""
    h = model.histogram
    value, actual = psi(h["edges"], h["expected"], scores)
    status = "stable" if value < 0.1 else "moderate" if value < 0.25 else "significant"
    return _clean_dict(
        {
            "model": {"name": model.name, "version": model.version},
            "rows": len(scores),
            "psi": value,
            "status": status,
            "edges": h["edges"],
            "expected": h["expected"],
            "actual": actual,
            "training_mean": h.get("mean"),
            "recent_mean": float(scores.mean()) if len(scores) else None,
        }
    )


def drift(session: Session, *, name: str, version: int | None = None, date_from: date, date_to: date) -> dict[str, Any]:
    """Score drift of the history declared in [date_from, date_to) against training (PSI < 0.1 stable, < 0.25 moderate)."""
    model = load(session, name=name, version=version)
    frame = history.frame(session, date_to=date_to, knowledge=False)
    period = (frame["declared_on"].dt.date.to_numpy() >= date_from) if len(frame) else np.zeros(0, dtype=bool)
    if not period.any():
        raise ValidationFailed(
            "No history in the period.", [Problem("RSK-MDL-006", "/from", f"No history declared from {date_from} to {date_to}.")]
        )
    x, _ = F.build_training_features(frame, model.meta)
    out = drift_of(model, model.predict(x.to_numpy()[period]))
    out.update({"from": date_from.isoformat(), "to": date_to.isoformat()})
    return out
