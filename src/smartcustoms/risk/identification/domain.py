"""Pure parts of smart identification: text features, the sparse classifier, mismatches, evaluation.

The classifier reads a goods description and scores the 1,200-odd HS headings (4 digits). It is a
multinomial naive Bayes over TF-IDF weighted word uni/bi-grams and character 3-5-grams (within
words), held sparse: with N_cf the mass of feature f in heading c, N_c its total and alpha the
smoothing, the log-likelihood `sum_f x_f log((N_cf + alpha) / (N_c + alpha F))` equals
`sum_f x_f log1p(N_cf / alpha) - |x|_1 log(N_c + alpha F)` plus a term the same for every heading,
so only the features a heading has seen are stored (about 6 MB instead of a dense 1,228 x 45,000
matrix) and one description is scored by gathering the rows of its own 40-100 features. Whether
the goods are parts is a yes/no feature besides. Log-likelihoods become probabilities by a softmax
with a temperature fitted on realistic descriptions, so that a probability means about what it says.

Training examples come from every level of the nomenclature (see `nomenclature_examples`) and
from accepted declarations (`history_examples`): what traders really write, weighted higher than
the nomenclature's legal wording, with one vote per trader and a cap per heading.
"""

from __future__ import annotations

import functools
import math
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

# --- text --------------------------------------------------------------------------------

# Nomenclature cross-references and abbreviations carry no meaning about the goods themselves.
_NOISE = re.compile(
    r"\b(?:headings?|items?|subheadings?)\s+no\.?\s*[\d.]+(?:\s*(?:to|and|or|,)\s*[\d.]+)*|\bn\.e\.[cs]\.|\be\.g\.|\bi\.e\."
)
_TOKEN = re.compile(r"[^\W\d_]+")  # letters of any script
# scikit-learn's English stop words (ENGLISH_STOP_WORDS, copied: importing scikit-learn takes seconds),
# and words the nomenclature uses everywhere.
_STOP_TEXT = (
    "a about above across after afterwards again against all almost alone along already also although always am among amongst "
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
    "whom whose why will with within without would yet you your yours yourself yourselves"
    " "
    "heading headings subheading chapter chapters item nec nes excluding including thereof therefor kind kinds used"
)
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())
WORD_WEIGHT = 1.0  # the word block's share of a description's vector
CHAR_WEIGHT = 0.3  # the character n-gram block's share
# Trade descriptions name the goods first and qualify them after: "Red wine | in bottles of 0.75 l",
# "Passenger cars, | petrol engine". Words after a comma or one of these words count less, until ";".
QUALIFIERS = frozenset({"in", "of", "for", "with", "from", "on", "without", "containing", "excluding", "including", "than", "by"})
QUALIFIER_WEIGHT = 0.5
_PIECE = re.compile(r"[^\W\d_]+|[;,]")


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
        indptr, indices, data = array("q", [0]), array("i"), array("d")
        for text in parts:
            feats = analyse(text)
            indices.extend(vocabulary.setdefault(f, len(vocabulary)) for f in feats)
            data.extend(feats.values())
            indptr.append(len(indices))
        counts = sp.csr_matrix(
            (np.frombuffer(data), np.frombuffer(indices, dtype=np.int32), np.frombuffer(indptr, dtype=np.int64)),
            shape=(len(parts), len(vocabulary)),
        )
        # Character n-grams seen in a single text are mostly noise (and most of the vocabulary).
        names = np.array(list(vocabulary), dtype=object)
        is_word = np.fromiter((n.startswith("w:") for n in names), dtype=bool, count=len(names))
        keep = np.flatnonzero(is_word | (np.bincount(counts.indices, minlength=len(names)) >= min_df_char))
        counts = counts[:, keep]
        del vocabulary
        compose = sp.csr_matrix(
            (
                np.ones(sum(len(e) for e in examples)),
                np.concatenate([np.asarray(e, dtype=np.int64) for e in examples]),
                np.cumsum([0, *(len(e) for e in examples)]),
            ),
            shape=(len(examples), len(parts)),
        )
        tf = (compose @ counts).tocsr()
        del counts
        idf = np.asarray(TfidfTransformer(norm=None).fit(tf).idf_, dtype=np.float64)
        featurizer = cls({str(n): i for i, n in enumerate(names[keep])}, idf, is_word[keep])
        big = tf.data > 1.0
        tf.data[big] = 1.0 + np.log(tf.data[big])  # sublinear term frequency, as `sublinear`
        return featurizer, featurizer._scale(tf)

    @property
    def size(self) -> int:
        """How many features."""
        return len(self.idf)

    def _scale(self, x: sp.csr_matrix) -> sp.csr_matrix:
        """Weight a term-frequency matrix by idf, each row's word and character blocks to their weights, the row to unit length (in place)."""
        x.data *= self.idf[x.indices]
        rows = np.repeat(np.arange(x.shape[0], dtype=np.int32), np.diff(x.indptr))
        word = self.word[x.indices]
        sq = x.data * x.data
        word_norm = np.sqrt(np.bincount(rows, weights=np.where(word, sq, 0.0), minlength=x.shape[0]))
        char_norm = np.sqrt(np.bincount(rows, weights=np.where(word, 0.0, sq), minlength=x.shape[0]))
        del sq
        total = np.sqrt(WORD_WEIGHT**2 * (word_norm > 0) + CHAR_WEIGHT**2 * (char_norm > 0))
        total[total == 0] = 1.0
        word_factor = WORD_WEIGHT / np.where(word_norm > 0, word_norm, 1.0) / total
        char_factor = CHAR_WEIGHT / np.where(char_norm > 0, char_norm, 1.0) / total
        x.data *= np.where(word, word_factor[rows], char_factor[rows])
        return x

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


_PARTS = re.compile(r"\b(?:parts|spare part|accessor(?:y|ies))\b", re.IGNORECASE)
_REFERENCE = re.compile(r"\bheadings?\s*(?:no\.?\s*)?((?:\d{2}\.?\d{2}(?:\s*(?:to|and|or|,|-)\s*)?)+)", re.IGNORECASE)
_EXCLUSION = re.compile(r"other than|excluding|except|\bnot\b", re.IGNORECASE)
PARTS_CONTEXT_WEIGHT = 0.5


def about_parts(text: str) -> bool:
    """Whether a text speaks of parts or accessories."""
    return _PARTS.search(text) is not None


def referenced_headings(text: str) -> list[str]:
    """The headings a "parts of the goods of heading no. ..." text refers to (exclusions left out).

    "Motor vehicles; parts and accessories, of heading no. 8701 to 8705" -> 8701 ... 8705.
    """
    first = _PARTS.search(text)
    if first is None:
        return []
    out: list[str] = []
    for m in _REFERENCE.finditer(text, first.end()):
        if _EXCLUSION.search(text, max(first.end(), m.start() - 40), m.start()):
            continue
        codes = re.findall(r"\d{2}\.?\d{2}|to|-", m.group(1))
        previous: int | None = None
        span = False
        for c in codes:
            if c in ("to", "-"):
                span = True
                continue
            n = int(c.replace(".", ""))
            if span and previous is not None and 0 < n - previous <= 20:
                out += [f"{x:04d}" for x in range(previous + 1, n + 1)]
            else:
                out.append(f"{n:04d}")
            previous, span = n, False
    return list(dict.fromkeys(out))


def nomenclature_examples(entries: Iterable[HsText], sections: Mapping[str, str] | None = None) -> list[Example]:
    """Every level of the nomenclature as examples for its heading.

    Per heading: its own text; its text with its chapter's and section's (context, half weight);
    for headings of parts of the goods of other headings, its text with theirs (half weight);
    each subheading's text, alone and followed by the heading's text (half weight).
    """
    by_code = {e.code: e for e in entries if e.code.isascii() and e.code.isdigit()}
    sections = sections or {}
    out: list[Example] = []
    for code, e in sorted(by_code.items()):
        if len(code) == 4:
            chapter = by_code.get(code[:2])
            context = tuple(x for x in (chapter.description if chapter else "", sections.get(e.section or "", "")) if x)
            out.append(Example(e.description, code))
            out.append(Example(e.description, code, 0.5, context))
            goods = tuple(by_code[r].description for r in referenced_headings(e.description) if r in by_code and r != code)
            if goods and PARTS_CONTEXT_WEIGHT:
                out.append(Example(e.description, code, PARTS_CONTEXT_WEIGHT, goods))
        elif len(code) == 6 and code[:4] in by_code:
            out.append(Example(e.description, code[:4]))
            out.append(Example(e.description, code[:4], 0.5, (by_code[code[:4]].description,)))
    return out


HISTORY_WEIGHT = 2.0  # an accepted description used by one trader counts as two nomenclature texts (1 + log(traders) times)...
HEADING_CAP = 10.0  # ...but all of a heading's history together counts for at most ten
MAX_PER_HEADING = 60  # distinct descriptions kept per heading (the most widely used)
MAX_PER_TRADER = 5  # of which at most this many used by one trader alone
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
    max_per_trader: int = MAX_PER_TRADER,
    min_share: float = MIN_SHARE,
    headings: frozenset[str] | None = None,
) -> list[Example]:
    """Accepted descriptions as examples, robust to one big trader and to the odd accepted misdeclaration.

    A (description, heading) pair counts once per trader who used it, softened by a log; a heading
    used for less than `min_share` of a description's uses is dropped (an accepted misdeclaration is
    a minority of the description's uses); a heading keeps its `max_per_heading` most widely used
    descriptions, at most `max_per_trader` of them used by one trader alone, and all its examples
    together weigh at most `heading_cap`. Codes whose heading is not in `headings` (when given) are
    ignored.
    """
    traders: dict[tuple[str, str], set[str]] = defaultdict(set)
    rows: Counter[tuple[str, str]] = Counter()
    text_of: dict[str, str] = {}
    for u in uses:
        k, heading = key(u.description), u.hs_code[:4]
        if (
            not k
            or len(heading) != 4
            or not (heading.isascii() and heading.isdigit())
            or (headings is not None and heading not in headings)
        ):
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
        kept: list[tuple[float, str]] = []
        alone: Counter[str] = Counter()
        for v, k in pairs:
            if len(kept) == max_per_heading:
                break
            if len(traders[k, h]) == 1:
                (who,) = traders[k, h]
                if alone[who] == max_per_trader:
                    continue
                alone[who] += 1
            kept.append((v, k))
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
# Whether goods are parts decides between headings that share every other word ("Colour
# television receivers" 8528, "Parts of television receivers" 8529), and naive Bayes ignores a
# word a text lacks; so "about parts" is also a yes/no feature, smoothed by this much.
PARTS_SMOOTHING = 0.001
# Calibrated by `python -m bench.identification --calibrate` on its hand-written descriptions (not
# the simulator's or the demo's, which measure): the softmax temperature of least log-loss, and the
# lowest flag threshold (in steps of 0.05 from 0.5) at which none of them, declared under their
# true heading, is flagged (at 0.65 one of the 110 is). On the simulator's and the demo's
# descriptions, which measure, 3 % of correct lines are then flagged without history, none with it.
TEMPERATURE = 0.78
FLAG_THRESHOLD = 0.7
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

    def logits(self, text: str) -> np.ndarray | None:
        """Unnormalised log-likelihoods of every heading, or None when the text has no known feature."""
        idx, val = self.featurizer.vector(text)
        if not len(idx):
            return None
        m = self.rows
        starts, ends = m.indptr[idx], m.indptr[idx + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        scores: np.ndarray = np.zeros(self.size)
        if total:
            offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
            scores = np.bincount(m.indices[offsets], weights=m.data[offsets] * np.repeat(val, lengths), minlength=self.size)
        return np.asarray(scores + float(val.sum()) * self.bias + self.parts[1 if about_parts(text) else 0])

    def probabilities(self, text: str) -> np.ndarray | None:
        """The probability of every heading, or None when the text says nothing the model knows."""
        z = self.logits(text)
        if z is None:
            return None
        z = z / self.temperature
        z -= z.max()
        e = np.exp(z)
        return np.asarray(e / e.sum())

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
            if len(declared) != 4 or not (declared.isascii() and declared.isdigit()) or not text.strip():
                continue
            top = self.suggest(text, TOP_K_AGREE)
            if not top or top[0].probability < limit:
                continue
            if any(s.heading == declared and s.probability >= agree_probability for s in top):
                continue
            line = item.get("line")
            out.append(Mismatch(line if isinstance(line, int) else n, declared, top[0].heading, top[0].probability, top[0].text))
        return out

    def calibrated(self, *, temperature: float | None = None, threshold: float | None = None) -> Classifier:
        """The same classifier with another softmax temperature or flag threshold."""
        return replace(
            self,
            temperature=self.temperature if temperature is None else temperature,
            threshold=self.threshold if threshold is None else threshold,
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
) -> Classifier:
    """Fit the featurizer and the sparse multinomial naive Bayes on weighted examples."""
    d = design(examples)
    assign = sp.csr_matrix((d.weights, (d.y, np.arange(len(d.y)))), shape=(len(d.headings), len(d.y)))
    mass = (assign @ d.x).tocsr()  # (K, F) weighted feature mass per heading
    per_class = np.asarray(mass.sum(axis=1)).ravel()
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

    heading: str  # the true heading
    rank: int | None  # its 1-based rank; None when unknown to the model or the text had no known feature
    probability: float  # its probability
    top: str | None  # the most likely heading
    top_probability: float

    def flagged(self, threshold: float, agree_probability: float = AGREE_PROBABILITY) -> bool:
        """Whether `Classifier.check` flags the description declared under its true heading."""
        if self.top is None or self.top_probability < threshold:
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
        out.append(Scored(heading[:4], rank, prob, str(classifier.headings[top]), float(p[top])))
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
