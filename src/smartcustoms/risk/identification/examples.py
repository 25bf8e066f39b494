"""Training examples of smart identification: the nomenclature's levels, the shipped glossary, accepted declarations."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from smartcustoms.risk.identification.text import _TOKEN


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


# --- the glossary ---------------------------------------------------------------------------------

GLOSSARY_WEIGHT = 1.0  # one commercial name counts as one nomenclature text...
GLOSSARY_CAP = 6.0  # ...and all of a heading's names together as at most this many
CHAPTER_NAME_WEIGHT = 0.5  # a chapter's name, read with each of its headings


@dataclass(frozen=True)
class Glossary:
    """Commercial names and synonyms per heading, and names per chapter (any language)."""

    headings: Mapping[str, tuple[str, ...]]
    chapters: Mapping[str, tuple[str, ...]]


def parse_glossary(text: str) -> Glossary:
    """Read `HEADING<TAB>name | name ...` lines (2-digit codes name chapters); `#` starts a comment line.

    Raises ValueError for a line that is not a 2- or 4-digit code, a tab and at least one name.
    """
    headings: dict[str, list[str]] = defaultdict(list)
    chapters: dict[str, list[str]] = defaultdict(list)
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        code, sep, names = line.partition("\t")
        terms = [t.strip() for t in names.split("|") if t.strip()]
        if not sep or not (code.isascii() and code.isdigit()) or len(code) not in (2, 4) or not terms:
            raise ValueError(f"glossary line {n}: expected HEADING<TAB>name | name, got {line!r}")
        (chapters if len(code) == 2 else headings)[code].extend(terms)
    return Glossary({k: tuple(v) for k, v in headings.items()}, {k: tuple(v) for k, v in chapters.items()})


def glossary_examples(glossary: Glossary, heading_texts: Mapping[str, str]) -> list[Example]:
    """The glossary as examples: each commercial name of a known heading on its own, and each chapter name with the texts of its headings.

    A heading's names weigh `GLOSSARY_WEIGHT` each and at most `GLOSSARY_CAP` together; a
    chapter's names are read with each of its headings' texts (`CHAPTER_NAME_WEIGHT`), so a
    description in another language that names only the kind of goods (鱼, 钢铁) finds the chapter.
    """
    out: list[Example] = []
    for heading, names in sorted(glossary.headings.items()):
        if heading not in heading_texts:
            continue
        w = min(GLOSSARY_WEIGHT, GLOSSARY_CAP / len(names))
        out += [Example(name, heading, w) for name in names]
    for heading, text in sorted(heading_texts.items()):
        chapter = glossary.chapters.get(heading[:2])
        if chapter:
            out.append(Example(text, heading, CHAPTER_NAME_WEIGHT, chapter))
    return out
