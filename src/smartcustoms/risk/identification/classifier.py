"""The heading classifier: a sparse multinomial naive Bayes mixed with nearest training examples, its suggestions and its flags."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from smartcustoms.risk.identification.examples import Example, about_parts
from smartcustoms.risk.identification.text import Featurizer, has_cjk


@dataclass(frozen=True)
class Suggestion:
    """A heading the description likely belongs to, with its probability and nomenclature text."""

    heading: str
    probability: float
    text: str

    def as_dict(self) -> dict[str, Any]:
        """The suggestion as JSON."""
        return {"heading": self.heading, "probability": round(self.probability, 4), "text": self.text}


@dataclass(frozen=True)
class Mismatch:
    """A declared line whose heading the description does not support.

    `declared_probability` and `chapter_probability` are the calibrated probabilities that the
    goods belong to the declared heading and to its chapter (None for the declared heading when it
    is not among the three likeliest, where it is below the third's).
    """

    line: int
    declared_heading: str
    suggested_heading: str
    probability: float
    suggested_text: str
    declared_probability: float | None = None
    chapter_probability: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The mismatch as JSON."""
        return {
            "line": self.line,
            "declared_heading": self.declared_heading,
            "suggested_heading": self.suggested_heading,
            "probability": round(self.probability, 4),
            "suggested_text": self.suggested_text,
            "declared_probability": None if self.declared_probability is None else round(self.declared_probability, 4),
            "chapter_probability": None if self.chapter_probability is None else round(self.chapter_probability, 4),
        }


ALPHA = 0.01  # additive smoothing of the feature mass
# Whether goods are parts decides between headings that share every other word ("Colour
# television receivers" 8528, "Parts of television receivers" 8529), and naive Bayes ignores a
# word a text lacks; so "about parts" is also a yes/no feature, smoothed by this much.
PARTS_SMOOTHING = 0.001
# Calibrated by `python -m bench.identification --calibrate` on the development part of
# bench/data/identification.csv (never on its held-out part, which measures): the softmax
# temperature of least log-loss per script (Latin; Han characters, whose few rare features give
# flatter scores), the neighbours' temperature and share of least log-loss, then the thresholds
# of most items caught when declared under another chapter's heading with at most 0.25 % of
# rightly declared ones flagged. The same-chapter rule (top heading at least `FLAG_THRESHOLD`)
# cannot catch these swaps (the benchmark swaps chapters) and flags no more rightly declared items
# there at 0.99 (it made three of the four false flags of naive Bayes alone); it stays on for the
# misclassifications within a chapter that `bench.identification_sim` measures.
TEMPERATURE = 0.65
TEMPERATURE_CJK = 0.5
FLAG_THRESHOLD = 0.99
CHAPTER_THRESHOLD = 0.003
NEIGHBOURS = 10  # training examples most like the description that vote...
NEIGHBOUR_TEMPERATURE = 0.1  # ...each by exp(cosine similarity / this)
MIX = 0.65  # the neighbours' share of the probabilities (the naive Bayes has the rest)
CHAPTER_CONFIDENCE = 0.0
SUGGEST_MEMO = 20_000  # descriptions whose suggestions a classifier remembers (a few MB)
TOP_K_AGREE = 3  # a declared heading among this many suggestions agrees...
AGREE_PROBABILITY = 0.01  # ...if it has at least this probability (a 0.001 % third place is no suggestion)


@dataclass(frozen=True)
class Classifier:
    """A trained heading classifier, immutable and safe to share between threads."""

    featurizer: Featurizer
    headings: np.ndarray  # (K,) heading codes
    texts: tuple[str, ...]  # (K,) nomenclature text of each heading
    rows: sp.csr_matrix  # (F, K) log1p(N / alpha): one row of class weights per feature
    bias: np.ndarray  # (K,) -log(N_c + alpha F)
    parts: np.ndarray  # (2, K) log-probability of a text not about parts (row 0) or about parts (row 1), per heading
    temperature: float = TEMPERATURE
    threshold: float = FLAG_THRESHOLD
    info: Mapping[str, Any] = field(default_factory=dict)
    chapter_threshold: float = CHAPTER_THRESHOLD
    temperature_cjk: float = TEMPERATURE_CJK
    examples: sp.csr_matrix | None = None  # (F, N) the training examples' unit-length vectors, by feature
    example_heading: np.ndarray | None = None  # (N,) each example's heading (index into headings)
    neighbours: int = NEIGHBOURS
    neighbour_temperature: float = NEIGHBOUR_TEMPERATURE
    mix: float = MIX
    chapter_confidence: float = CHAPTER_CONFIDENCE

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {str(h): i for i, h in enumerate(self.headings)}

    @property
    def size(self) -> int:
        """How many headings it knows."""
        return len(self.headings)

    def heading_index(self, heading: str) -> int | None:
        """The position of a heading, or None when it is unknown."""
        return self._index.get(heading)

    @staticmethod
    def _gather(m: sp.csr_matrix, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        """`val @ m[idx]`: the weighted sum of the rows (one per feature) of a (F, K) matrix."""
        starts, ends = m.indptr[idx], m.indptr[idx + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return np.zeros(m.shape[1])
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        return np.bincount(m.indices[offsets], weights=m.data[offsets] * np.repeat(val, lengths), minlength=m.shape[1])

    def logits(self, text: str) -> np.ndarray | None:
        """Unnormalised log-likelihoods of every heading, or None when the text has no known feature."""
        idx, val = self.featurizer.vector(text)
        if not len(idx):
            return None
        return self._logits(text, idx, val)

    def _logits(self, text: str, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        scores = self._gather(self.rows, idx, val)
        return np.asarray(scores + float(val.sum()) * self.bias + self.parts[1 if about_parts(text) else 0])

    def similarities(self, text: str) -> np.ndarray | None:
        """Cosine similarity of the text to every training example, or None when the text has no known feature (or no examples kept)."""
        idx, val = self.featurizer.vector(text)
        if not len(idx) or self.examples is None:
            return None
        return self._gather(self.examples, idx, val)

    def neighbour_probabilities(
        self, similarities: np.ndarray, temperature: float | None = None, k: int | None = None
    ) -> np.ndarray | None:
        """The heading votes of the `neighbours` examples most similar to a text, each exp(similarity / temperature), normalised.

        Only examples sharing a feature with the text vote; None when none does.
        """
        if self.example_heading is None:
            return None
        t, k = temperature or self.neighbour_temperature, min(k or self.neighbours, len(similarities))
        top = np.argpartition(-similarities, k - 1)[:k]
        top = top[similarities[top] > 0]
        if not len(top):
            return None
        s = similarities[top]
        votes = np.bincount(self.example_heading[top], weights=np.exp((s - s.max()) / t), minlength=self.size)
        return np.asarray(votes / votes.sum())

    def probabilities(self, text: str) -> np.ndarray | None:
        """The probability of every heading, or None when the text says nothing the model knows.

        The naive Bayes softmax (temperature by script) mixed with the votes of the nearest
        training examples (`mix` of it): naive Bayes alone is sure of itself on one strong word
        ("durum wheat spaghetti" -> wheat at 1.00); the nearest examples are whole descriptions
        (commercial names, subheadings) resembling the description as a whole, so a wrong but
        confident answer of one model is less sure, and the chapter both find unlikely is.
        """
        idx, val = self.featurizer.vector(text)
        if not len(idx):
            return None
        z = self._logits(text, idx, val) / (self.temperature_cjk if has_cjk(text) else self.temperature)
        z -= z.max()
        e = np.exp(z)
        p = e / e.sum()
        q = self.neighbour_probabilities(self._gather(self.examples, idx, val)) if self.mix > 0 and self.examples is not None else None
        if q is not None:
            p = (1.0 - self.mix) * p + self.mix * q
        return np.asarray(p)

    @functools.cached_property
    def _memo(self) -> dict[tuple[str, int], tuple[Suggestion, ...]]:
        return {}

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        """The `k` most likely headings, most likely first; empty when the text says nothing the model knows.

        Answers are remembered for the last `SUGGEST_MEMO` texts: traders declare the same goods
        under the same descriptions again and again, and the answer depends on the text alone.
        """
        key = (text, k)
        known = self._memo.get(key)
        if known is not None:
            return list(known)
        p = self.probabilities(text)
        found: tuple[Suggestion, ...] = ()
        if p is not None:
            k = max(1, min(k, self.size))
            top = np.argpartition(-p, k - 1)[:k]
            top = top[np.argsort(-p[top], kind="stable")]
            found = tuple(Suggestion(str(self.headings[i]), float(p[i]), self.texts[i]) for i in top)
        if len(self._memo) >= SUGGEST_MEMO:
            self._memo.clear()
        self._memo[key] = found
        return list(found)

    def chapter_probabilities(self, text: str) -> np.ndarray | None:
        """The probability of each chapter (index 0-99: the chapter's number), or None when the text says nothing the model knows.

        Remembered, as `suggest` is, for the last `SUGGEST_MEMO` texts (100 floats each).
        """
        known = self._chapter_memo.get(text)
        if known is not None or text in self._chapter_memo:
            return known
        p = self.probabilities(text)
        found = None if p is None else np.bincount(self._chapter_of, weights=p, minlength=100).astype(np.float32)
        if len(self._chapter_memo) >= SUGGEST_MEMO:
            self._chapter_memo.clear()
        self._chapter_memo[text] = found
        return found

    @functools.cached_property
    def _chapter_of(self) -> np.ndarray:
        return np.fromiter((int(str(h)[:2]) for h in self.headings), dtype=np.int64, count=self.size)

    @functools.cached_property
    def _chapter_memo(self) -> dict[str, np.ndarray | None]:
        return {}

    def judge(self, text: str, declared: str, *, agree_probability: float = AGREE_PROBABILITY) -> Mismatch | None:
        """Whether a description disagrees with a declared 4-digit heading: the mismatch, or None.

        It disagrees when the calibrated probability of the declared heading's chapter is below
        `chapter_threshold` while the likeliest chapter has at least `chapter_confidence` (the goods
        are almost surely of another chapter, and the model knows which), or when the declared
        heading is not among the `TOP_K_AGREE` likeliest with at least `agree_probability` while the
        likeliest heading has at least `threshold` (another heading of the same chapter is clearly
        meant). None too when the text says nothing the model knows.
        """
        top = self.suggest(text, TOP_K_AGREE)
        chapters = self.chapter_probabilities(text) if top else None
        if not top or chapters is None:
            return None
        chapter = float(chapters[int(declared[:2])])
        mine = next((s.probability for s in top if s.heading == declared), None)
        agrees = mine is not None and mine >= agree_probability
        other_chapter = chapter < self.chapter_threshold and float(chapters.max()) >= self.chapter_confidence
        if not other_chapter and (agrees or top[0].probability < self.threshold):
            return None
        return Mismatch(0, declared, top[0].heading, top[0].probability, top[0].text, mine, chapter)

    def check(
        self, items: Sequence[Mapping[str, Any]], *, threshold: float | None = None, agree_probability: float = AGREE_PROBABILITY
    ) -> list[Mismatch]:
        """Lines whose description disagrees with the declared heading (see `judge`).

        `threshold` overrides the classifier's top-1 threshold. Lines without a description or a
        4-digit code, or whose description the model cannot read, are skipped.
        """
        clf = self if threshold is None else replace(self, threshold=threshold)
        out: list[Mismatch] = []
        for n, item in enumerate(items, start=1):
            declared = str(item.get("hs_code") or "").strip()[:4]
            text = str(item.get("description") or "")
            if len(declared) != 4 or not (declared.isascii() and declared.isdigit()) or not text.strip():
                continue
            found = clf.judge(text, declared, agree_probability=agree_probability)
            if found is not None:
                line = item.get("line")
                out.append(replace(found, line=line if isinstance(line, int) else n))
        return out

    def calibrated(
        self,
        *,
        temperature: float | None = None,
        threshold: float | None = None,
        chapter_threshold: float | None = None,
        temperature_cjk: float | None = None,
        neighbour_temperature: float | None = None,
        neighbours: int | None = None,
        mix: float | None = None,
        chapter_confidence: float | None = None,
    ) -> Classifier:
        """The same classifier with other softmax temperatures or flag thresholds."""
        return replace(
            self,
            temperature=self.temperature if temperature is None else temperature,
            temperature_cjk=self.temperature_cjk if temperature_cjk is None else temperature_cjk,
            neighbour_temperature=self.neighbour_temperature if neighbour_temperature is None else neighbour_temperature,
            neighbours=self.neighbours if neighbours is None else neighbours,
            mix=self.mix if mix is None else mix,
            chapter_confidence=self.chapter_confidence if chapter_confidence is None else chapter_confidence,
            threshold=self.threshold if threshold is None else threshold,
            chapter_threshold=self.chapter_threshold if chapter_threshold is None else chapter_threshold,
        )

    def with_info(self, **info: Any) -> Classifier:
        """The same classifier with more facts about its training."""
        return replace(self, info={**self.info, **info})


@dataclass(frozen=True)
class Design:
    """The training examples as a matrix: one TF-IDF row per example, its heading and weight."""

    featurizer: Featurizer
    x: sp.csr_matrix  # (N, F)
    headings: np.ndarray  # (K,) sorted heading codes
    y: np.ndarray  # (N,) index into headings
    weights: np.ndarray  # (N,)


def design(examples: Sequence[Example]) -> Design:
    """Fit the featurizer on the examples and turn them into a matrix."""
    if not examples:
        raise ValueError("no training examples")
    part_index: dict[str, int] = {}
    composed = [[part_index.setdefault(t, len(part_index)) for t in (e.text, *e.context)] for e in examples]
    featurizer, x = Featurizer.fit(list(part_index), composed)
    headings = np.array(sorted({e.heading for e in examples}))
    index = {str(h): i for i, h in enumerate(headings)}
    y = np.fromiter((index[e.heading] for e in examples), dtype=np.int64, count=len(examples))
    w = np.fromiter((e.weight for e in examples), dtype=np.float64, count=len(examples))
    return Design(featurizer, x, headings, y, w)


def train(
    examples: Sequence[Example],
    heading_texts: Mapping[str, str],
    *,
    alpha: float = ALPHA,
    parts_smoothing: float = PARTS_SMOOTHING,
    temperature: float = TEMPERATURE,
    threshold: float = FLAG_THRESHOLD,
    chapter_threshold: float = CHAPTER_THRESHOLD,
) -> Classifier:
    """Fit the featurizer and the sparse multinomial naive Bayes on weighted examples."""
    d = design(examples)
    assign = sp.csr_matrix((d.weights, (d.y, np.arange(len(d.y)))), shape=(len(d.headings), len(d.y)))
    mass = (assign @ d.x).tocsr()  # (K, F) weighted feature mass per heading
    per_class = np.asarray(mass.sum(axis=1)).ravel()
    by_feature = d.x.T.tocsr()  # (F, N): the examples' vectors (unit length), by feature, for the nearest neighbours
    mass.data = np.log1p(mass.data / alpha)
    rows = mass.T.tocsr()
    rows.sort_indices()
    bias = -np.log(per_class + alpha * d.featurizer.size)
    flags = np.fromiter((about_parts(e.text) for e in examples), dtype=np.float64, count=len(examples))
    share = (assign @ flags) / np.asarray(assign.sum(axis=1)).ravel()
    parts = np.log(np.vstack([1.0 - share, share]) * (1.0 - parts_smoothing) + parts_smoothing / 2)
    return Classifier(
        d.featurizer,
        d.headings,
        tuple(heading_texts.get(str(h), "") for h in d.headings),
        rows,
        bias,
        parts,
        temperature,
        threshold,
        {"examples": len(examples), "features": d.featurizer.size, "headings": len(d.headings), "stored_weights": int(rows.nnz)},
        chapter_threshold,
        examples=by_feature,
        example_heading=d.y,
    )
