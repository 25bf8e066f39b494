"""Pure parts of smart identification: text features, the sparse classifier, mismatches, evaluation.

The classifier reads a goods description and scores the 1,200-odd HS headings (4 digits). It is a
multinomial naive Bayes over TF-IDF weighted word uni/bi-grams and character 3-5-grams (within
words), held sparse: with N the class-feature mass and alpha the smoothing, the log-likelihood
`sum_f x_f log((N_cf + alpha) / (N_c + alpha F))` equals `x . log1p(N_c / alpha) - |x|_1 log(N_c +
alpha F)` plus a term the same for every class, so only the features a heading has seen are stored
(a few MB instead of a dense 1,228 x 60,000 matrix) and one description is scored by gathering the
rows of its own 40-100 features. Log-likelihoods are turned into probabilities by a softmax with a
temperature fitted on realistic descriptions, so that a probability means about what it says.

Training examples come from every level of the nomenclature (see `nomenclature_examples`) and
from accepted declarations (`history_examples`): what traders really write, weighted higher than
the nomenclature's legal wording, with one vote per trader and a cap per heading.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

# --- text --------------------------------------------------------------------------------

# Nomenclature cross-references and abbreviations carry no meaning about the goods themselves.
_NOISE = re.compile(r"\b(?:headings?|items?|subheadings?)\s+no\.?\s*[\d.]+(?:\s*(?:to|and|or|,)\s*[\d.]+)*|\bn\.e\.[cs]\.|\be\.g\.|\bi\.e\.")
_TOKEN = re.compile(r"[a-z]+")
# scikit-learn's English stop words, plus words the nomenclature uses everywhere.
STOP_WORDS: frozenset[str] = frozenset(
    {
        *"a about above across after afterwards again against all almost alone along already also although always am among amongst "
        "amoungst amount an and another any anyhow anyone anything anyway anywhere are around as at back be became because become "
        "becomes becoming been before beforehand behind being below beside besides between beyond bill both bottom but by call can "
        "cannot cant co con could couldnt cry de describe detail do done down due during each eg eight either eleven else elsewhere "
        "empty enough etc even ever every everyone everything everywhere except few fifteen fifty fill find fire first five for "
        "former formerly forty found four from front full further get give go had has hasnt have he hence her here hereafter hereby "
        "herein hereupon hers herself him himself his how however hundred i ie if in inc indeed interest into is it its itself keep "
        "last latter latterly least less ltd made many may me meanwhile might mill mine more moreover most mostly move much must my "
        "myself name namely neither never nevertheless next nine no nobody none noone nor not nothing now nowhere of off often on "
        "once one only onto or other others otherwise our ours ourselves out over own part per perhaps please put rather re same see "
        "seem seemed seeming seems serious several she should show side since sincere six sixty so some somehow someone something "
        "sometime sometimes somewhere still such system take ten than that the their them themselves then thence there thereafter "
        "thereby therefore therein thereupon these they thick thin third this those though three through throughout thru thus to "
        "together too top toward towards twelve twenty two un under until up upon us very via was we well were what whatever when "
        "whence whenever where whereafter whereas whereby wherein whereupon wherever whether which while whither who whoever whole "
        "whom whose why will with within without would yet you your yours yourself yourselves".split(),
        *"heading headings subheading chapter chapters item nec nes excluding including thereof therefor kind kinds used".split(),
    }
)
WORD_WEIGHT = 1.0  # the word block's share of a description's vector
CHAR_WEIGHT = 0.3  # the character n-gram block's share
# Trade descriptions name the goods first and qualify them after: "Red wine | in bottles of 0.75 l",
# "Passenger cars, | petrol engine". Words after a comma or one of these words count less, until ";".
QUALIFIERS = frozenset({"in", "of", "for", "with", "from", "on", "without", "containing", "excluding", "including", "than", "by"})
QUALIFIER_WEIGHT = 0.5
_PIECE = re.compile(r"[a-z]+|[;,]")


def normalise(text: str) -> str:
    """Lower case, without nomenclature cross-references ("heading no. 8701 to 8705") and abbreviations."""
    return _NOISE.sub(" ", text.lower())


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light English plural stemmer: batteries -> battery, boxes -> box, shrimps -> shrimp."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=1 << 16)
def char_grams(token: str) -> tuple[str, ...]:
    """A word's character 3-, 4- and 5-grams, padded with a space each side (as scikit-learn's char_wb)."""
    padded = f" {token} "
    n = len(padded)
    return tuple("c:" + padded[i : i + k] for k in (3, 4, 5) for i in range(n - k + 1))


def analyse(text: str) -> dict[str, float]:
    """The weighted features of a text.

    `w:` word uni- and bi-grams (stemmed, without stop words; bi-grams within a clause) and `c:`
    character 3-5-grams within words; a word's features count `QUALIFIER_WEIGHT` after a comma or
    a qualifying word (in, of, for, with...), until the next semicolon.
    """
    out: dict[str, float] = {}
    weight, previous = 1.0, None
    for piece in _PIECE.findall(normalise(text)):
        if piece == ";":
            weight, previous = 1.0, None
            continue
        if piece == "," or piece in QUALIFIERS:
            weight = QUALIFIER_WEIGHT
            if piece == ",":
                previous = None
            continue
        if piece in STOP_WORDS:
            continue
        s = stem(piece)
        if len(s) > 1:
            out["w:" + s] = out.get("w:" + s, 0.0) + weight
        if previous is not None:
            bigram = f"w:{previous[0]} {s}"
            out[bigram] = out.get(bigram, 0.0) + min(weight, previous[1])
        previous = (s, weight)
        if len(piece) > 1:
            for g in char_grams(piece):
                out[g] = out.get(g, 0.0) + weight
    return out


def sublinear(tf: float) -> float:
    """Dampened term frequency: itself up to 1, then 1 + log."""
    return tf if tf <= 1.0 else 1.0 + math.log(tf)


@dataclass(frozen=True)
class Featurizer:
    """Turns a text into its sparse TF-IDF vector.

    Sublinear (weighted) term frequency times idf; the word block and the character block are
    each scaled to unit length, weighted (`WORD_WEIGHT`, `CHAR_WEIGHT`), and the whole scaled to
    unit length.
    """

    vocabulary: Mapping[str, int]
    idf: np.ndarray  # per feature
    word: np.ndarray  # per feature: whether it is a word (else a character) n-gram

    @classmethod
    def fit(cls, parts: Sequence[str], examples: Sequence[Sequence[int]], *, min_df_char: int = 2) -> tuple[Featurizer, sp.csr_matrix]:
        """Learn the vocabulary and idf (scikit-learn's smooth idf) from examples made of text parts; returns the examples' matrix.

        Each example is the concatenation of some `parts` (by index), so a text shared by many
        examples (a heading's text repeated onto its subheadings) is analysed once.
        """
        from sklearn.feature_extraction.text import TfidfTransformer

        vocabulary: dict[str, int] = {}
        indptr, indices, data = [0], [], []
        for text in parts:
            feats = analyse(text)
            indices.extend(vocabulary.setdefault(f, len(vocabulary)) for f in feats)
            data.extend(feats.values())
            indptr.append(len(indices))
        counts = sp.csr_matrix((data, indices, indptr), shape=(len(parts), len(vocabulary)))
        compose = sp.csr_matrix(
            (
                np.ones(sum(len(e) for e in examples)),
                np.concatenate([np.asarray(e, dtype=np.int64) for e in examples]),
                np.cumsum([0, *(len(e) for e in examples)]),
            ),
            shape=(len(examples), len(parts)),
        )
        tf = (compose @ counts).tocsr()
        names = np.array(list(vocabulary), dtype=object)
        is_word = np.array([n.startswith("w:") for n in names], dtype=bool)
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        keep = np.flatnonzero(is_word | (df >= min_df_char))
        tf = tf[:, keep].tocsr()
        idf = np.asarray(TfidfTransformer(norm=None).fit(tf).idf_, dtype=np.float64)
        featurizer = cls({str(n): i for i, n in enumerate(names[keep])}, idf, is_word[keep])
        tf.data = np.where(tf.data > 1.0, 1.0 + np.log(np.maximum(tf.data, 1.0)), tf.data)
        return featurizer, featurizer._scale((tf @ sp.diags(idf)).tocsr())

    @property
    def size(self) -> int:
        """How many features."""
        return len(self.idf)

    def _scale(self, x: sp.csr_matrix) -> sp.csr_matrix:
        """Scale each row's word and character blocks to their weights, then the row to unit length."""
        cols = x.indices
        sq = x.copy()
        sq.data = sq.data**2
        word_norm = np.sqrt(np.asarray(sq @ self.word.astype(np.float64)).ravel())
        char_norm = np.sqrt(np.asarray(sq @ (~self.word).astype(np.float64)).ravel())
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        wn, cn = word_norm[rows], char_norm[rows]
        w = np.where(self.word[cols], WORD_WEIGHT / np.where(wn > 0, wn, 1.0), CHAR_WEIGHT / np.where(cn > 0, cn, 1.0))
        out = x.copy()
        out.data = x.data * w
        total = np.sqrt((WORD_WEIGHT**2) * (word_norm > 0) + (CHAR_WEIGHT**2) * (char_norm > 0))
        out.data /= np.where(total > 0, total, 1.0)[rows]
        return out

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's (feature indices, values); empty when it has no known feature.

        Plain Python on purpose: a description has 40-100 features, where numpy's per-call cost
        would dominate.
        """
        vocab = self.vocabulary
        counts: dict[int, float] = {}
        for f, w in analyse(text).items():
            j = vocab.get(f)
            if j is not None:
                counts[j] = w
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0)
        idf, word = self._idf, self._word
        raw = [sublinear(c) * idf[j] for j, c in counts.items()]
        ws = cs = 0.0
        for j, v in zip(counts, raw, strict=True):
            if word[j]:
                ws += v * v
            else:
                cs += v * v
        wn, cn = math.sqrt(ws), math.sqrt(cs)
        total = math.sqrt((WORD_WEIGHT**2 if wn else 0.0) + (CHAR_WEIGHT**2 if cn else 0.0))
        fw, fc = WORD_WEIGHT / ((wn or 1.0) * total), CHAR_WEIGHT / ((cn or 1.0) * total)
        return (
            np.fromiter(counts, dtype=np.int64, count=len(counts)),
            np.array([v * (fw if word[j] else fc) for j, v in zip(counts, raw, strict=True)]),
        )

    @functools.cached_property
    def _idf(self) -> list[float]:
        return [float(v) for v in self.idf]

    @functools.cached_property
    def _word(self) -> list[bool]:
        return [bool(v) for v in self.word]


# --- examples ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A labelled training text: a description, its 4-digit heading, how much it counts, and context read with it."""

    text: str
    heading: str
    weight: float = 1.0
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class HsText:
    """One nomenclature entry: a 2-, 4- or 6-digit code, its description and its section (roman numeral)."""

    code: str
    description: str
    section: str | None = None


def nomenclature_examples(entries: Iterable[HsText], sections: Mapping[str, str] | None = None) -> list[Example]:
    """Every level of the nomenclature as examples for its heading.

    Per heading: its own text; its text with its chapter's and section's (context, half weight);
    each subheading's text, alone and followed by the heading's text (half weight).
    """
    by_code = {e.code: e for e in entries if e.code.isdigit()}
    sections = sections or {}
    out: list[Example] = []
    for code, e in sorted(by_code.items()):
        if len(code) == 4:
            chapter = by_code.get(code[:2])
            context = tuple(x for x in (chapter.description if chapter else "", sections.get(e.section or "", "")) if x)
            out.append(Example(e.description, code))
            out.append(Example(e.description, code, 0.5, context))
        elif len(code) == 6 and code[:4] in by_code:
            out.append(Example(e.description, code[:4]))
            out.append(Example(e.description, code[:4], 0.5, (by_code[code[:4]].description,)))
    return out


HISTORY_WEIGHT = 3.0  # an accepted trader description counts as three nomenclature texts...
HEADING_CAP = 30.0  # ...but all of a heading's history together counts for at most ten descriptions
MAX_PER_HEADING = 60  # distinct descriptions kept per heading (the most widely used)
MIN_SHARE = 0.2  # a description's heading must be at least this share of its accepted uses


def key(text: str) -> str:
    """A description's identity: its words, lower case, single-spaced."""
    return " ".join(_TOKEN.findall(text.lower()))


@dataclass(frozen=True)
class Use:
    """An accepted use of a description: the text, the declared HS code and who declared it."""

    description: str
    hs_code: str
    trader: str


def history_examples(
    uses: Iterable[Use],
    *,
    weight: float = HISTORY_WEIGHT,
    heading_cap: float = HEADING_CAP,
    max_per_heading: int = MAX_PER_HEADING,
    min_share: float = MIN_SHARE,
    headings: frozenset[str] | None = None,
) -> list[Example]:
    """Accepted descriptions as examples, robust to one big trader and to the odd accepted misdeclaration.

    A (description, heading) pair counts once per trader who used it, softened by a log; a heading
    used for less than `min_share` of a description's uses is dropped (an accepted misdeclaration is
    a minority of the description's uses); a heading keeps its `max_per_heading` most used
    descriptions and all its examples together weigh at most `heading_cap`. Codes whose heading is
    not in `headings` (when given) are ignored.
    """
    traders: dict[tuple[str, str], set[str]] = defaultdict(set)
    rows: Counter[tuple[str, str]] = Counter()
    text_of: dict[str, str] = {}
    for u in uses:
        k, heading = key(u.description), u.hs_code[:4]
        if not k or len(heading) != 4 or not heading.isdigit() or (headings is not None and heading not in headings):
            continue
        text_of.setdefault(k, u.description.strip())
        traders[k, heading].add(u.trader)
        rows[k, heading] += 1
    per_text: Counter[str] = Counter()
    for (k, _h), n in rows.items():
        per_text[k] += n
    by_heading: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (k, h), n in rows.items():
        if n / per_text[k] >= min_share:
            by_heading[h].append((1.0 + math.log(len(traders[k, h])), k))
    out: list[Example] = []
    for h, pairs in sorted(by_heading.items()):
        pairs.sort(key=lambda p: (-p[0], p[1]))
        kept = pairs[:max_per_heading]
        total = weight * sum(v for v, _ in kept)
        scale = min(1.0, heading_cap / total) if total else 1.0
        out += [Example(text_of[k], h, weight * v * scale) for v, k in kept]
    return out


# --- the classifier ----------------------------------------------------------------------------


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
    """A declared line whose heading the description does not support."""

    line: int
    declared_heading: str
    suggested_heading: str
    probability: float
    suggested_text: str

    def as_dict(self) -> dict[str, Any]:
        """The mismatch as JSON."""
        return {
            "line": self.line,
            "declared_heading": self.declared_heading,
            "suggested_heading": self.suggested_heading,
            "probability": round(self.probability, 4),
            "suggested_text": self.suggested_text,
        }


ALPHA = 0.01  # additive smoothing of the feature mass
TEMPERATURE = 1.0  # replaced by the fitted value (see `fit_temperature`)
FLAG_THRESHOLD = 0.5  # replaced by the calibrated value (see `choose_threshold`)
TOP_K_AGREE = 3  # a declared heading among this many suggestions is not flagged...
AGREE_PROBABILITY = 0.0  # ...when it has at least this probability


@dataclass(frozen=True)
class Classifier:
    """A trained heading classifier, immutable and safe to share between threads."""

    featurizer: Featurizer
    headings: np.ndarray  # (K,) heading codes
    texts: tuple[str, ...]  # (K,) nomenclature text of each heading
    rows: sp.csr_matrix  # (F, K) log1p(N / alpha): one row of class weights per feature
    bias: np.ndarray  # (K,) -log(N_c + alpha F)
    temperature: float = TEMPERATURE
    threshold: float = FLAG_THRESHOLD
    info: Mapping[str, Any] = field(default_factory=dict)
    _index: Mapping[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """How many headings it knows."""
        return len(self.headings)

    def heading_index(self, heading: str) -> int | None:
        """The position of a heading, or None when it is unknown."""
        return self._index.get(heading)

    def logits(self, text: str) -> np.ndarray | None:
        """Unnormalised log-likelihoods of every heading, or None when the text has no known feature."""
        idx, val = self.featurizer.vector(text)
        if not len(idx):
            return None
        m = self.rows
        starts, ends = m.indptr[idx], m.indptr[idx + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total:
            offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
            scores = np.bincount(m.indices[offsets], weights=m.data[offsets] * np.repeat(val, lengths), minlength=self.size)
        else:
            scores = np.zeros(self.size)
        return np.asarray(scores + float(val.sum()) * self.bias)

    def probabilities(self, text: str) -> np.ndarray | None:
        """The probability of every heading, or None when the text says nothing the model knows."""
        z = self.logits(text)
        if z is None:
            return None
        z = z / self.temperature
        z -= z.max()
        e = np.exp(z)
        return np.asarray(e / e.sum())

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        """The `k` most likely headings, most likely first; empty when the text says nothing the model knows."""
        p = self.probabilities(text)
        if p is None:
            return []
        k = max(1, min(k, self.size))
        top = np.argpartition(-p, k - 1)[:k]
        top = top[np.argsort(-p[top], kind="stable")]
        return [Suggestion(str(self.headings[i]), float(p[i]), self.texts[i]) for i in top]

    def check(
        self, items: Sequence[Mapping[str, Any]], *, threshold: float | None = None, agree_probability: float = AGREE_PROBABILITY
    ) -> list[Mismatch]:
        """Lines whose declared heading is not among the top suggestions while the top one is likely enough.

        A declared heading agrees when it is among the `TOP_K_AGREE` most likely headings with at
        least `agree_probability`; a line disagrees when it does not and the most likely heading
        has at least `threshold` (the classifier's calibrated one by default). Lines without a
        description or a 4-digit code, or whose description the model cannot read, are skipped.
        """
        limit = self.threshold if threshold is None else threshold
        out: list[Mismatch] = []
        for n, item in enumerate(items, start=1):
            declared = str(item.get("hs_code") or "").strip()[:4]
            text = str(item.get("description") or "")
            if len(declared) != 4 or not declared.isdigit() or not text.strip():
                continue
            top = self.suggest(text, TOP_K_AGREE)
            if not top or top[0].probability < limit:
                continue
            if any(s.heading == declared and s.probability >= agree_probability for s in top):
                continue
            line = item.get("line")
            out.append(
                Mismatch(line if isinstance(line, int) else n, declared, top[0].heading, top[0].probability, top[0].text)
            )
        return out

    def with_calibration(self, *, temperature: float | None = None, threshold: float | None = None) -> Classifier:
        """The same classifier with another temperature or flag threshold."""
        return Classifier(
            self.featurizer,
            self.headings,
            self.texts,
            self.rows,
            self.bias,
            self.temperature if temperature is None else temperature,
            self.threshold if threshold is None else threshold,
            self.info,
            self._index,
        )


def train(
    examples: Sequence[Example],
    heading_texts: Mapping[str, str],
    *,
    alpha: float = ALPHA,
    temperature: float = TEMPERATURE,
    threshold: float = FLAG_THRESHOLD,
) -> Classifier:
    """Fit the featurizer and the sparse naive Bayes on weighted examples."""
    if not examples:
        raise ValueError("no training examples")
    part_index: dict[str, int] = {}
    composed = [[part_index.setdefault(t, len(part_index)) for t in (e.text, *e.context)] for e in examples]
    featurizer, x = Featurizer.fit(list(part_index), composed)
    headings = np.array(sorted({e.heading for e in examples}))
    index = {str(h): i for i, h in enumerate(headings)}
    y = np.fromiter((index[e.heading] for e in examples), dtype=np.int64, count=len(examples))
    w = np.fromiter((e.weight for e in examples), dtype=np.float64, count=len(examples))
    assign = sp.csr_matrix((w, (y, np.arange(len(examples)))), shape=(len(headings), len(examples)))
    mass = (assign @ x).tocsr()  # (K, F) weighted feature mass per heading
    per_class = np.asarray(mass.sum(axis=1)).ravel()
    mass.data = np.log1p(mass.data / alpha)
    rows = mass.T.tocsr()
    rows.sort_indices()
    bias = -np.log(per_class + alpha * featurizer.size)
    return Classifier(
        featurizer,
        headings,
        tuple(heading_texts.get(str(h), "") for h in headings),
        rows,
        bias,
        temperature,
        threshold,
        {"examples": len(examples), "features": featurizer.size, "headings": len(headings), "stored_weights": int(rows.nnz)},
        index,
    )


# --- calibration and evaluation ----------------------------------------------------------------


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

    heading: str
    rank: int | None  # 1-based rank of the true heading, None when the text had no known feature
    top: str | None
    top_probability: float


def score_pairs(classifier: Classifier, pairs: Sequence[tuple[str, str]]) -> list[Scored]:
    """Rank the true heading of each (description, heading) pair."""
    out = []
    for text, heading in pairs:
        p = classifier.probabilities(text)
        j = classifier.heading_index(heading[:4])
        if p is None:
            out.append(Scored(heading[:4], None, None, 0.0))
            continue
        top = int(np.argmax(p))
        rank = None if j is None else int((p > p[j]).sum()) + 1
        out.append(Scored(heading[:4], rank, str(classifier.headings[top]), float(p[top])))
    return out


def accuracy(scored: Sequence[Scored]) -> dict[str, Any]:
    """Top-1 and top-3 accuracy over scored pairs."""
    n = len(scored)
    if not n:
        return {"n": 0, "top1": None, "top3": None}
    return {
        "n": n,
        "top1": sum(s.rank == 1 for s in scored) / n,
        "top3": sum(s.rank is not None and s.rank <= TOP_K_AGREE for s in scored) / n,
    }


def false_flag_rate(scored: Sequence[Scored], threshold: float) -> float:
    """The share of correctly declared descriptions that would be flagged at a threshold."""
    if not scored:
        return 0.0
    flagged = sum((s.rank is None or s.rank > TOP_K_AGREE) and s.top is not None and s.top_probability >= threshold for s in scored)
    return flagged / len(scored)


def choose_threshold(scored: Sequence[Scored], *, target: float = 0.03, floor: float = 0.3) -> float:
    """The lowest probability threshold (not below `floor`) at which false flags stay within `target`."""
    candidates = sorted({round(s.top_probability, 4) for s in scored if s.rank is None or s.rank > TOP_K_AGREE} | {floor})
    for t in candidates:
        if t >= floor and false_flag_rate(scored, t) <= target:
            return t
    return 1.0


def split_by_description(uses: Sequence[Use], *, holdout: float, seed: int) -> tuple[list[Use], list[Use]]:
    """Split uses so that no description (by `key`) is on both sides: held-out texts are unseen texts."""
    keys = sorted({key(u.description) for u in uses})
    random.Random(seed).shuffle(keys)
    test = set(keys[: round(len(keys) * holdout)])
    return [u for u in uses if key(u.description) not in test], [u for u in uses if key(u.description) in test]
