"""Calibration and evaluation of smart identification: temperature, flag thresholds, accuracy, reliability."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from smartcustoms.risk.identification.classifier import AGREE_PROBABILITY, CHAPTER_CONFIDENCE, CHAPTER_THRESHOLD, TOP_K_AGREE, Classifier


def fit_temperature(classifier: Classifier, pairs: Sequence[tuple[str, str]], grid: Sequence[float] | None = None) -> float:
    """The softmax temperature that minimises the log-loss of the true headings of (description, heading) pairs."""
    logits = []
    for text, heading in pairs:
        j = classifier.heading_index(heading)
        z = classifier.logits(text)
        if j is not None and z is not None:
            logits.append((z, j))
    if not logits:
        return classifier.temperature
    best, best_loss = classifier.temperature, math.inf
    for t in grid or [0.5 * 1.25**i for i in range(20)]:
        loss = 0.0
        for z, j in logits:
            s = z / t
            m = s.max()
            loss += float(m + math.log(np.exp(s - m).sum()) - s[j])
        if loss < best_loss:
            best, best_loss = t, loss
    return best


@dataclass(frozen=True)
class Scored:
    """How a classifier did on one labelled description."""

    heading: str  # the true heading
    rank: int | None  # its 1-based rank; None when unknown to the model or the text had no known feature
    probability: float  # its probability
    top: str | None  # the most likely heading
    top_probability: float
    chapter_probability: float = 0.0  # the probability of the true heading's chapter
    top_chapter_probability: float = 0.0  # the probability of the likeliest chapter

    def flagged(
        self,
        threshold: float,
        agree_probability: float = AGREE_PROBABILITY,
        chapter_threshold: float = CHAPTER_THRESHOLD,
        chapter_confidence: float = CHAPTER_CONFIDENCE,
    ) -> bool:
        """Whether `Classifier.check` flags the description declared under its true heading."""
        if self.top is None:
            return False
        if self.chapter_probability < chapter_threshold and self.top_chapter_probability >= chapter_confidence:
            return True
        if self.top_probability < threshold:
            return False
        return not (self.rank is not None and self.rank <= TOP_K_AGREE and self.probability >= agree_probability)


def score_pairs(classifier: Classifier, pairs: Sequence[tuple[str, str]]) -> list[Scored]:
    """Rank the true heading of each (description, heading) pair."""
    out = []
    for text, heading in pairs:
        p = classifier.probabilities(text)
        j = classifier.heading_index(heading[:4])
        if p is None:
            out.append(Scored(heading[:4], None, 0.0, None, 0.0))
            continue
        top = int(np.argmax(p))
        rank, prob = (None, 0.0) if j is None else (int((p > p[j]).sum()) + 1, float(p[j]))
        chapters = classifier.chapter_probabilities(text)
        chapter = 0.0 if chapters is None else float(chapters[int(heading[:2])])
        best = 0.0 if chapters is None else float(chapters.max())
        out.append(Scored(heading[:4], rank, prob, str(classifier.headings[top]), float(p[top]), chapter, best))
    return out


def accuracy(scored: Sequence[Scored], weights: Sequence[float] | None = None) -> dict[str, Any]:
    """Top-1 and top-3 accuracy over scored pairs (optionally weighted, e.g. by how often each was declared)."""
    w = list(weights) if weights is not None else [1.0] * len(scored)
    total = sum(w)
    if not total:
        return {"n": 0, "top1": None, "top3": None}
    return {
        "n": len(scored),
        "top1": sum(x for s, x in zip(scored, w, strict=True) if s.rank == 1) / total,
        "top3": sum(x for s, x in zip(scored, w, strict=True) if s.rank is not None and s.rank <= TOP_K_AGREE) / total,
    }


def false_flag_rate(scored: Sequence[Scored], threshold: float, weights: Sequence[float] | None = None) -> float:
    """The share of correctly declared descriptions the check would flag at a threshold."""
    w = list(weights) if weights is not None else [1.0] * len(scored)
    total = sum(w)
    return sum(x for s, x in zip(scored, w, strict=True) if s.flagged(threshold)) / total if total else 0.0


def choose_threshold(scored: Sequence[Scored], *, target: float = 0.0, floor: float = 0.5, step: float = 0.05) -> float:
    """The lowest flag threshold on a grid (`floor`, `floor + step`, ... 1) at which at most `target` of correct declarations are flagged."""
    t = floor
    while t < 1.0 and false_flag_rate(scored, t) > target:
        t = round(t + step, 4)
    return min(t, 1.0)


def reliability(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> dict[str, Any]:
    """Expected calibration error and the reliability table of predictions (confidence of the answer, whether it was right).

    Equal-width bins of confidence; the ECE is the bins' |accuracy - mean confidence| weighted
    by their share of predictions.
    """
    c = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    if not len(c):
        return {"n": 0, "ece": None, "bins": []}
    which = np.minimum((c * bins).astype(np.int64), bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        if not n:
            continue
        conf, acc = float(c[mask].mean()), float(ok[mask].mean())
        ece += n / len(c) * abs(acc - conf)
        table.append({"from": b / bins, "to": (b + 1) / bins, "n": n, "confidence": round(conf, 4), "accuracy": round(acc, 4)})
    return {"n": len(c), "ece": ece, "bins": table}


def log_loss(scored: Sequence[Scored], floor: float = 1e-6) -> float | None:
    """Mean negative log-probability of the true headings (unknown texts count as `floor`)."""
    if not scored:
        return None
    return float(np.mean([-math.log(max(s.probability, floor)) for s in scored]))


@dataclass(frozen=True)
class Labelled:
    """A labelled trader-style description: its text, its true 4-digit heading and its language."""

    description: str
    heading: str
    language: str = "en"

    @property
    def held_out(self) -> bool:
        """Whether it belongs to the held-out part (measured on only) rather than the development part (tuned on).

        Decided by the hash of the heading: every description of a heading (its English and
        Chinese wordings alike) is in the same part, so what is tuned on the development part
        never saw a held-out heading's descriptions; adding descriptions never moves the others.
        """
        return hashlib.sha256(self.heading.encode()).digest()[0] % 2 == 1


def swapped_heading(item: Labelled, headings: Sequence[str], seed: int = 0) -> str:
    """A heading of another chapter to declare the item under, drawn reproducibly from the item's text and `seed`."""
    others = sorted(h for h in headings if h[:2] != item.heading[:2])
    digest = hashlib.sha256(f"{seed}:{item.description}".encode()).digest()
    return others[int.from_bytes(digest[:8], "big") % len(others)]


def flag_rates(classifier: Classifier, items: Sequence[Labelled], seed: int = 0) -> dict[str, Any]:
    """Each item declared under its true heading and under a heading of another chapter (`swapped_heading`): what the check flags.

    `false_flags`: share of the rightly declared items flagged; `caught`: share of the swapped
    ones flagged. Items whose text the model cannot read are never flagged (and count).
    """
    headings = [str(h) for h in classifier.headings]
    honest = sum(classifier.judge(i.description, i.heading) is not None for i in items)
    caught = sum(classifier.judge(i.description, swapped_heading(i, headings, seed)) is not None for i in items)
    n = len(items)
    return {"n": n, "false_flags": honest / n if n else None, "caught": caught / n if n else None, "flagged_honest": honest}


def fit_mixture(
    classifier: Classifier,
    pairs: Sequence[tuple[str, str]],
    temperatures: Sequence[float] = (0.05, 0.1, 0.2),
    mixes: Sequence[float] = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8),
    neighbours: Sequence[int] = (10, 30),
) -> tuple[float, float, int]:
    """The neighbours' temperature, mixing share and number of least log-loss of the true headings, naive Bayes temperatures as they are."""
    nb = classifier.calibrated(mix=0.0)
    rows = []
    for text, heading in pairs:
        j = classifier.heading_index(heading)
        p, c = nb.probabilities(text), classifier.similarities(text)
        if j is not None and p is not None and c is not None:
            rows.append((float(p[j]), c, j))
    best = (classifier.neighbour_temperature, classifier.mix, classifier.neighbours)
    best_loss = math.inf
    for t in temperatures if rows else ():
        for k in neighbours:
            votes = [(classifier.neighbour_probabilities(c, t, k), j) for _, c, j in rows]
            q = [None if v is None else float(v[j]) for v, j in votes]
            for m in mixes:
                loss = -sum(math.log(max(p if qj is None else (1 - m) * p + m * qj, 1e-12)) for (p, _, _), qj in zip(rows, q, strict=True))
                if loss < best_loss:
                    best, best_loss = (t, m, k), loss
    return best
