"""Selectivity as pure functions: the seeded random draw, score thresholds, the lane, and the trader's view.

Nothing here reads a clock, a database or a random generator of its own: the same inputs give the
same lane, so every assessment can be replayed and audited.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LANES = ("green", "blue", "yellow", "red")  # in increasing order of intervention
_RANK = {lane: i for i, lane in enumerate(LANES)}

# Without a model, the rules' own score decides: at or above these, the lane.
RULE_SCORE_RED = 0.8
RULE_SCORE_YELLOW = 0.4


def rule_score(hits: Sequence[Mapping[str, Any]]) -> float:
    """The risk the rule hits add up to: 1 - prod(1 - weight), one weight per rule (its strongest hit)."""
    best: dict[str, float] = {}
    for h in hits:
        w = min(max(float(h.get("weight") or 0.0), 0.0), 1.0)
        best[str(h.get("code"))] = max(best.get(str(h.get("code")), 0.0), w)
    miss = 1.0
    for w in best.values():
        miss *= 1.0 - w
    return 1.0 - miss


def stronger(a: str, b: str) -> str:
    """The lane that asks more of the officer."""
    return a if _RANK[a] >= _RANK[b] else b


@dataclass(frozen=True)
class Rates:
    """The shares of declarations an office sends to inspection and to document review, and at random."""

    red: float
    yellow: float
    random: float

    def scaled(self, factor: float) -> Rates:
        """The rates for a trader whose credit scales them (AEO below 1, low credit above)."""
        return Rates(min(self.red * factor, 1.0), min(self.yellow * factor, 1.0), min(self.random * factor, 1.0))


@dataclass(frozen=True)
class Draw:
    """The double-random draw of one declaration version: reproducible from the seed and the number."""

    u: float  # uniform in [0, 1): selected when below the rate
    lane_u: float  # uniform in [0, 1): red when below the red share of the selected
    rate: float
    red_share: float
    selected: bool
    lane: str | None
    tie_u: float = 0.0  # uniform in [0, 1): where a score falls among equal recent scores (ranking.Window.position)

    def as_json(self, *, setting_id: int | None, seed_ref: str) -> dict[str, Any]:
        """What the assessment stores about the draw."""
        return {
            "setting": setting_id,
            "seed_ref": seed_ref,
            "u": self.u,
            "lane_u": self.lane_u,
            "rate": self.rate,
            "red_share": self.red_share,
            "selected": self.selected,
            "lane": self.lane,
            "tie_u": self.tie_u,
        }


def _uniforms(seed: int, number: str, version: int) -> tuple[float, float, float]:
    digest = hmac.new(seed.to_bytes(8, "big", signed=True), f"{number}:{version}".encode(), hashlib.sha256).digest()
    scale = float(2**64)
    return tuple(int.from_bytes(digest[i : i + 8], "big") / scale for i in (0, 8, 16))  # type: ignore[return-value]


def draw(*, seed: int, number: str, version: int, rates: Rates) -> Draw:
    """Whether this declaration version is picked at random, whatever its risk, and for which lane."""
    u, lane_u, tie_u = _uniforms(seed, number, version)
    inspect = rates.red + rates.yellow
    red_share = rates.red / inspect if inspect > 0 else 1.0
    selected = u < rates.random
    lane = ("red" if lane_u < red_share else "yellow") if selected else None
    return Draw(u, lane_u, rates.random, red_share, selected, lane, tie_u)


def seed_ref(seed: int) -> str:
    """A short public fingerprint of a seed: proves which seed was used without telling it."""
    return hashlib.sha256(str(seed).encode()).hexdigest()[:12]


CAUSES = ("rule", "model", "review_on_error", "random")  # what can ask for a lane, in the order `decide` weighs them


@dataclass(frozen=True)
class Decision:
    """The lane, the one sentence that says why, and the lane each cause asked for (`CAUSES`)."""

    lane: str
    basis: str
    asked: dict[str, str] = field(default_factory=dict)


def decide(
    *,
    hits: Sequence[Mapping[str, Any]],
    errors: Sequence[Mapping[str, Any]],
    score: float | None,
    red_at: float | None,
    yellow_at: float | None,
    the_draw: Draw,
    model: tuple[str, str | None] | None = None,
) -> Decision:
    """Combine rule hits, the model's lane, the rules' score and the random draw into a lane.

    - A rule with a lane sets at least that lane.
    - `model` is the model's (lane, reason) when a model serves (`ranking.verdict`); without one,
      the rules' own score (`rule_score`) against the fixed bands `red_at`/`yellow_at` counts as the rules'.
    - A rule that could not be evaluated never counts as "no risk": at least document review.
    - The random draw picks some declarations whatever their score.
    `asked` says which lane each cause asked for, so shares can be reported by cause.
    """
    lane, reasons = "green", []
    asked = dict.fromkeys(CAUSES, "green")
    rule_lane = "green"
    for h in hits:
        if h.get("lane"):
            rule_lane = stronger(rule_lane, str(h["lane"]))
    if rule_lane != "green":
        lane = rule_lane
        reasons.append(f"rule {_codes(hits, rule_lane)} asks for {rule_lane}")
    asked["rule"] = rule_lane
    if model is not None:
        model_lane, why = model
        asked["model"] = model_lane
        if model_lane != "green":
            reasons.append(why or f"the model asks for {model_lane}")
            lane = stronger(lane, model_lane)
    elif score is not None and red_at is not None and yellow_at is not None:
        band = "red" if score >= red_at else "yellow" if score >= yellow_at else "green"
        if band != "green":
            reasons.append(f"risk score {score:.3f} is at or above the {band} threshold {red_at if band == 'red' else yellow_at:.3f}")
            lane = stronger(lane, band)
            asked["rule"] = stronger(rule_lane, band)
    if errors and _RANK[lane] < _RANK["yellow"]:
        lane = "yellow"
        reasons.append(f"{len(errors)} rule(s) could not be evaluated, so an officer looks")
    if errors:
        asked["review_on_error"] = "yellow"
    if the_draw.selected and the_draw.lane is not None:
        asked["random"] = the_draw.lane
        if _RANK[the_draw.lane] > _RANK[lane]:
            lane = the_draw.lane
        reasons.append(f"selected at random for {the_draw.lane} (draw {the_draw.u:.5f} < rate {the_draw.rate:.4f})")
    if not reasons:
        return Decision("green", "No rule hit and the risk is low: release on the data.", asked)
    text = "; ".join(reasons)
    return Decision(lane, (text[:1].upper() + text[1:] + ".")[:1000], asked)


def _codes(hits: Sequence[Mapping[str, Any]], lane: str) -> str:
    return ", ".join(sorted({str(h["code"]) for h in hits if h.get("lane") == lane}))


# --- what the trader is told ---------------------------------------------------------------------

# The facts a rule reads, grouped into what a trader would call them.
TOPICS: dict[str, str] = {
    "value": "the declared value",
    "unit_price": "the declared value",
    "kg_price": "the declared value",
    "price_ratio": "the declared value",
    "reference_price": "the declared value",
    "total_value": "the declared value",
    "hs_code": "the tariff classification of the goods",
    "hs6": "the tariff classification of the goods",
    "hs4": "the tariff classification of the goods",
    "hs2": "the tariff classification of the goods",
    "description": "the tariff classification of the goods",
    "origin": "the origin of the goods",
    "departure_country": "the origin of the goods",
    "consignor_country": "the origin of the goods",
    "quantity": "the quantities and weights",
    "net_mass_kg": "the quantities and weights",
    "gross_mass_kg": "the quantities and weights",
    "kg_per_unit": "the quantities and weights",
    "documents": "the supporting documents",
    "licence_required": "the licences the goods need",
    "licence_present": "the licences the goods need",
    "prohibited": "whether the goods may be imported",
}
LANE_MEANING = {
    "green": ("none", "No check: the goods can be released on the declared data."),
    "blue": ("audit", "The goods can be released; the declaration may be audited after clearance."),
    "yellow": ("document_review", "An officer will review the declaration and its documents before release."),
    "red": ("inspection", "The goods will be inspected (physically or by X-ray) before release."),
}


def trader_view(lane: str, hit_facts: Sequence[frozenset[str]], *, random: bool, errors: bool) -> dict[str, Any]:
    """What the trader sees: what is being checked and why, in their words, without risk internals."""
    kind, message = LANE_MEANING[lane]
    if lane == "green":
        return {"check": kind, "message": message, "topics": [], "why": []}
    topics: list[str] = []
    for facts in hit_facts:
        for f in sorted(facts):
            t = TOPICS.get(f)
            if t and t not in topics:
                topics.append(t)
    why: list[str] = []
    if topics:
        why.append("The officer will look at " + ", ".join(topics) + ".")
    if random and lane != "green":
        why.append("Part of the declarations is chosen at random for checks; this one was chosen.")
    if errors and not topics and lane != "green":
        why.append("Some of the declared data needs an officer's look.")
    if lane != "green" and not why:
        why.append("The declaration was selected by customs risk management.")
    return {"check": kind, "message": message, "topics": topics, "why": why}
