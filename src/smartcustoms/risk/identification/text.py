"""Text features of smart identification: normalising, word and character n-grams, the TF-IDF featurizer.

English words are stemmed lightly and read as uni- and bi-grams with their character 3-5-grams;
Chinese (and other scripts written without spaces) is read as character uni- and bi-grams, so no
segmenter is needed.
"""

from __future__ import annotations

import functools
import math
import re
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

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
# Han characters (and kana, hangul): scripts written without spaces between words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_PIECE = re.compile(rf"[{_CJK}]+|[^\W\d_{_CJK}]+|[;,；，、]")
_IS_CJK = re.compile(rf"[{_CJK}]")
CJK_UNIGRAM_WEIGHT = 0.5  # a single Han character says less than a word: 机 is in machines, aircraft and cameras


def has_cjk(text: str) -> bool:
    """Whether a text has Han characters (or kana, hangul): its features are mostly `cjk_grams`, fewer and rarer than English words."""
    return _IS_CJK.search(text) is not None


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


@functools.lru_cache(maxsize=1 << 16)
def cjk_grams(run: str) -> tuple[tuple[str, float], ...]:
    """The features of a run of Han characters: character bi-grams as words, uni- and tri-grams as character n-grams.

    Chinese writes words without spaces and most are two characters (冷冻 frozen, 对虾 prawn), so
    bi-grams stand for words without a segmenter; a single character counts `CJK_UNIGRAM_WEIGHT`.
    """
    out: dict[str, float] = {}
    for i, ch in enumerate(run):
        out["c:" + ch] = out.get("c:" + ch, 0.0) + CJK_UNIGRAM_WEIGHT
        if i + 2 <= len(run):
            out["w:" + run[i : i + 2]] = out.get("w:" + run[i : i + 2], 0.0) + 1.0
        if i + 3 <= len(run):
            out["c:" + run[i : i + 3]] = out.get("c:" + run[i : i + 3], 0.0) + 1.0
    if len(run) == 1:
        out["w:" + run] = 1.0
    return tuple(out.items())


def analyse(text: str) -> dict[str, float]:
    """The weighted features of a text.

    `w:` word uni- and bi-grams (stemmed, without stop words; bi-grams within a clause) and `c:`
    character 3-5-grams within words; a word's features count `QUALIFIER_WEIGHT` after a comma or
    a qualifying word (in, of, for, with...), until the next semicolon. A run of Han characters
    gives the features of `cjk_grams` (a Chinese comma does not make what follows a qualifier).
    """
    out: dict[str, float] = {}
    weight, previous = 1.0, None
    cjk_clause = False
    for piece in _PIECE.findall(normalise(text)):
        if piece in (";", "；"):
            weight, previous = 1.0, None
            continue
        if piece in (",", "，", "、") or piece in QUALIFIERS:
            if piece in (",", "，", "、"):
                previous = None
                if cjk_clause:
                    continue  # in Chinese a comma separates items of equal weight
            weight = QUALIFIER_WEIGHT
            continue
        if _IS_CJK.match(piece):
            cjk_clause = True
            previous = None
            for f, v in cjk_grams(piece):
                out[f] = out.get(f, 0.0) + v * weight
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
