"""Model lanes that follow the office's targets: a score ranked among the office's recent scores (pure).

An office sets targets (red 3 %, yellow 7 %) because its officers can do that many checks. A
fixed score threshold taken from the model's validation scores gives those shares only while
live scores look like validation scores; new traders, other goods or a model trained on other
history move them, and the shares with them (tenfold, in the demo before this module). So the
model's lane comes from where a score ranks among the office's last N scores by the same model:

- The window: the office's last N scores, each with the credit factor of its trader; while it
  holds fewer than `SEED_WEIGHT` scores, the model's validation score quantiles fill it, with the
  weight of the scores still missing (they fade out as the office's own come in).
- The position of a new score: the share of the window at or above it, with ties broken by a
  uniform draw (reproducible: the declaration's HMAC draw). With `above` the window's weight
  strictly above the score, `at` the weight equal to it and `w` the weight of one of its scores,
  the position is (above + u·(at + w)) / (W + w): uniform on [0, 1] when scores are exchangeable,
  tied or not, so a tied score never sends the whole tie to red.
- Credit: an AEO trader's position counts 1/aeo_factor as far down, a low-credit trader's
  1/low_credit_factor as far up (key = position / factor). The cut-offs are the keys at the
  office's red and red + yellow shares of the window, so the factors share the office's capacity
  between traders without changing its total, even when low-credit traders score higher.
- Red when the key is below the red cut-off, yellow below the yellow one: the cut-offs rise with
  the shares, so red and yellow never collapse into one threshold.
- A floor: a score under `MIN_SCORE` (a 0.1 % chance) stays green whatever its rank; the targets
  are the most an office can check, not a quota to fill with declarations the model clears.

Same inputs, same lanes: nothing here reads a clock, a database or a generator of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SEED_WEIGHT = 25  # the model's validation quantiles count as this many scores while the office has fewer
# A score below this is never sent to a check by the model, whatever its rank: the targets are the
# most an office can do, not a quota, and a quiet day must not turn a one-in-a-thousand chance into
# a review (rules and the random draw still reach such declarations).
MIN_SCORE = 0.001
_FAR = 1e12  # the key of a score whose credit factor is 0: never selected by the model


@dataclass(frozen=True)
class Window:
    """An office's recent scores, ready to rank a new one."""

    asc: np.ndarray  # scores, ascending
    above_or_at: np.ndarray  # len(asc) + 1: weight of the scores at index i or later (higher); 0 at the end
    total: float
    positions: np.ndarray  # scores in descending order of position: position of each (0 = highest), ascending
    scores_by_position: np.ndarray  # the scores at those positions (descending)
    keys: np.ndarray  # position / credit factor of each score, ascending
    key_positions: np.ndarray  # the share of the window's weight at or below each key (mid-point)
    live: int  # how many of the scores are the office's own
    seed_weight: float  # the weight the validation quantiles carry

    def cut(self, share: float) -> float:
        """The key below which `share` of the window's weight lies (what the office's share turns into)."""
        if share <= 0:
            return 0.0
        if share >= 1:
            return float("inf")
        xp = np.concatenate(([0.0], self.key_positions, [1.0]))
        fp = np.concatenate(([0.0], self.keys, [self.keys[-1] if len(self.keys) else 1.0]))
        return float(np.interp(share, xp, fp))

    def position(self, score: float, u: float) -> float:
        """Where a new score falls: the share of the window above it, ties broken by `u` (uniform in [0, 1))."""
        gt = int(np.searchsorted(self.asc, score, side="right"))
        ge = int(np.searchsorted(self.asc, score, side="left"))
        above = float(self.above_or_at[gt])
        at = float(self.above_or_at[ge]) - above
        one = self.total / len(self.asc)  # a new score counts as one more of the window's scores
        return (above + u * (at + one)) / (self.total + one)

    def score_at(self, position: float) -> float:
        """The score at a position (for the explanation: the threshold a lane's cut-off amounts to)."""
        if not len(self.positions):
            return float("nan")
        return float(np.interp(min(max(position, 0.0), 1.0), self.positions, self.scores_by_position))


def window(live: Sequence[tuple[float, float]], seed: Sequence[float], *, seed_weight: float = SEED_WEIGHT) -> Window | None:
    """The window of `live` (score, credit factor) pairs, topped up with the `seed` scores (None when both are empty)."""
    k = len(live)
    fill = max(0.0, float(seed_weight) - k) if seed else 0.0
    scores = [float(s) for s, _ in live] + ([float(s) for s in seed] if fill > 0 else [])
    if not scores:
        return None
    factors = [float(f) for _, f in live] + ([1.0] * len(seed) if fill > 0 else [])
    weights = [1.0] * k + ([fill / len(seed)] * len(seed) if fill > 0 else [])
    s = np.asarray(scores, dtype=float)
    f = np.asarray(factors, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.argsort(s, kind="stable")
    s, f, w = s[order], f[order], w[order]
    total = float(w.sum())
    above_or_at = np.concatenate((np.cumsum(w[::-1])[::-1], [0.0]))
    # Each score's own position: the weight above it plus half its own (ties in sort order).
    pos = (above_or_at[:-1] - w / 2.0) / total
    keys = np.where(f > 0, pos / np.where(f > 0, f, 1.0), _FAR)
    korder = np.argsort(keys, kind="stable")
    kw = w[korder]
    return Window(
        asc=s,
        above_or_at=above_or_at,
        total=total,
        positions=pos[::-1].copy(),
        scores_by_position=s[::-1].copy(),
        keys=keys[korder],
        key_positions=(np.cumsum(kw) - kw / 2.0) / total,
        live=k,
        seed_weight=fill,
    )


@dataclass(frozen=True)
class Verdict:
    """What the model asks for, and why, in the terms an analyst checks."""

    lane: str  # green, yellow or red
    reason: str | None
    position: float  # share of the office's recent scores above this one (ties drawn)
    red_cut: float  # this trader's red share of the window (the office's, shared out by credit)
    yellow_cut: float  # red + yellow
    red_at: float  # the score those shares amount to, for the explanation
    yellow_at: float


def verdict(win: Window, *, score: float, factor: float, red: float, yellow: float, u: float) -> Verdict:
    """The model's lane for a score: red within the office's red share of the window, yellow within red + yellow."""
    red_key, yellow_key = win.cut(red), win.cut(red + yellow)
    pos = win.position(score, u)
    key = pos / factor if factor > 0 else _FAR
    lane = "green" if score < MIN_SCORE else "red" if key < red_key else "yellow" if key < yellow_key else "green"
    red_cut, yellow_cut = min(red_key * factor, 1.0), min(yellow_key * factor, 1.0)
    red_at, yellow_at = win.score_at(red_cut), win.score_at(yellow_cut)
    reason = None
    if lane != "green":
        cut, at = (red_cut, red_at) if lane == "red" else (yellow_cut, yellow_at)
        reason = (
            f"risk score {score:.3f} is in the top {pos:.1%} of the office's recent scores, "
            f"and {lane} takes the top {cut:.1%} (score about {at:.3f})"
        )
    return Verdict(lane, reason, pos, red_cut, yellow_cut, red_at, yellow_at)
