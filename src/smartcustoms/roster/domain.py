"""The roster as pure functions: qualification specs, and the sunshine dispatch draw and its replay.

Nothing here reads a clock, a database or a random generator of its own. The draw's uniform
numbers come from HMAC-SHA256(secret, seed_ref), so the same secret, seed reference and
candidates give the same choice, and a stored draw record replays to it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from smartcustoms.errors import Problem

FIRST_CHAPTER, LAST_CHAPTER = 1, 97
ALL_CHAPTERS = "01-97"
MAX_CAPACITY = 1000
MAX_DRAWN = 2  # an inspection draws two inspectors; the HMAC gives four uniforms, two are used
DUTY_STATES = ("on", "off")
_ITEM = re.compile(r"^(\d{1,2})(?:-(\d{1,2}))?$")


@dataclass(frozen=True)
class Chapters:
    """The HS chapters an officer is qualified for, and the canonical spec that names them."""

    spec: str
    chapters: frozenset[int]


def chapter_problems(spec: str, *, pointer: str = "/chapters") -> tuple[Chapters | None, list[Problem]]:
    """Parse a spec like `84-85,90`: chapters 01-97, each range low-high, items in increasing order.

    Returns the chapters (None when there is any problem) and every problem found.
    """
    problems: list[Problem] = []
    items = [part.strip() for part in spec.split(",")]
    if not spec.strip():
        return None, [Problem("ROS-CHP-001", pointer, "Name at least one HS chapter or range, e.g. 84-85,90.")]
    ranges: list[tuple[int, int]] = []
    for i, item in enumerate(items, start=1):
        m = _ITEM.match(item)
        if m is None:
            what = "is empty" if not item else f"{item!r} is not a chapter (NN) or a range (NN-NN)"
            problems.append(Problem("ROS-CHP-002", pointer, f"Item {i} {what}."))
            continue
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        bad = [c for c in (lo, hi) if not FIRST_CHAPTER <= c <= LAST_CHAPTER]
        if bad:
            problems.append(Problem("ROS-CHP-003", pointer, f"Item {i}: chapter {bad[0]:02d} is not an HS chapter (01-97)."))
            continue
        if lo > hi:
            problems.append(Problem("ROS-CHP-004", pointer, f"Item {i}: the range {item} runs backwards; write {hi:02d}-{lo:02d}."))
            continue
        if ranges and lo <= ranges[-1][1]:
            problems.append(
                Problem(
                    "ROS-CHP-005",
                    pointer,
                    f"Item {i} ({item}) does not come after the one before it; list ranges in order, without overlap.",
                )
            )
            continue
        ranges.append((lo, hi))
    if problems:
        return None, problems
    canonical = ",".join(f"{lo:02d}" if lo == hi else f"{lo:02d}-{hi:02d}" for lo, hi in ranges)
    return Chapters(canonical, frozenset(c for lo, hi in ranges for c in range(lo, hi + 1))), []


@lru_cache(maxsize=4096)
def chapters_of(spec: str) -> frozenset[int]:
    """The chapters of a stored (canonical, already valid) spec; cached: every draw reads every officer's."""
    parsed, problems = chapter_problems(spec)
    if parsed is None:
        raise ValueError(f"invalid stored chapter spec {spec!r}: {problems[0].message}")
    return parsed.chapters


def chapter_mask(chapters: Iterable[int]) -> str:
    """The chapters as 97 characters, '1' at chapter n's place (1-based) and '0' elsewhere: stored beside the spec."""
    held = set(chapters)
    return "".join("1" if n in held else "0" for n in range(FIRST_CHAPTER, LAST_CHAPTER + 1))


def mask_pattern(chapters: Iterable[int]) -> str:
    """A LIKE pattern matching the masks that hold every one of these chapters ('_' matches any place)."""
    need = set(chapters)
    return "".join("1" if n in need else "_" for n in range(FIRST_CHAPTER, LAST_CHAPTER + 1))


def task_chapter_problems(chapters: Iterable[int], *, pointer: str = "/chapters") -> list[Problem]:
    """Problems with the chapters a task needs (every chapter of the declaration's items)."""
    bad = sorted({c for c in chapters if not FIRST_CHAPTER <= c <= LAST_CHAPTER})
    if bad:
        return [Problem("ROS-CHP-003", pointer, f"Chapter {bad[0]} is not an HS chapter (01-97).")]
    return []


def capacity_problems(capacity: object, *, pointer: str = "/capacity") -> list[Problem]:
    """A workload cap is a whole number of open tasks from 1 to MAX_CAPACITY."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        return [Problem("ROS-CAP-001", pointer, f"The capacity must be a whole number from 1 to {MAX_CAPACITY}; got {capacity!r}.")]
    return []


def duty_problems(duty: object, *, pointer: str = "/duty") -> list[Problem]:
    """A duty state is `on` or `off`."""
    if duty not in DUTY_STATES:
        return [Problem("ROS-DUTY-001", pointer, f"The duty state must be 'on' or 'off'; got {duty!r}.")]
    return []


# --- the sunshine dispatch draw -------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An officer who may be drawn, weighted by spare capacity (cap - open tasks)."""

    name: str
    weight: int


def uniforms(secret: bytes, seed_ref: str) -> tuple[float, float, float, float]:
    """Four uniform numbers in [0, 1) from HMAC-SHA256(secret, seed_ref): reproducible, unpredictable without the secret."""
    digest = hmac.new(secret, seed_ref.encode(), hashlib.sha256).digest()
    scale = float(2**64)
    a, b, c, d = (int.from_bytes(digest[i : i + 8], "big") / scale for i in range(0, 32, 8))
    return a, b, c, d


def _pick(pool: Sequence[Candidate], u: float) -> Candidate:
    """The candidate whose share of the total weight holds u (integer arithmetic, so a replay agrees)."""
    total = sum(c.weight for c in pool)
    target = min(int(u * total), total - 1)
    running = 0
    for c in pool:
        running += c.weight
        if target < running:
            return c
    raise AssertionError("unreachable: target below the total weight")  # pragma: no cover


def _choose(pool: list[Candidate], us: Sequence[float]) -> list[str]:
    chosen: list[str] = []
    for u in us:
        pick = _pick(pool, u)
        chosen.append(pick.name)
        pool = [c for c in pool if c.name != pick.name]  # without replacement
    return chosen


def draw(
    candidates: Iterable[Candidate], seed_ref: str, *, secret: bytes, k: int = 1, exclude: Collection[str] = ()
) -> dict[str, Any] | None:
    """Draw k distinct officers at random, weighted by spare capacity; None when fewer than k can be drawn.

    Candidates with no spare capacity and the excluded names (a reassignment excludes the current
    holder) are left out before the draw; the others are taken in name order, so the record does
    not depend on the order a query returned them in. The record: {seed_ref, candidates: [{name,
    weight}], excluded, u: [one per officer drawn], chosen: [names, in draw order]}.
    """
    if not 1 <= k <= MAX_DRAWN:
        raise ValueError(f"k must be 1 to {MAX_DRAWN}")
    skip = set(exclude)
    pool = sorted((c for c in candidates if c.weight > 0 and c.name not in skip), key=lambda c: c.name)
    if len(pool) < k:
        return None
    us = list(uniforms(secret, seed_ref)[:k])
    return {
        "seed_ref": seed_ref,
        "candidates": [{"name": c.name, "weight": c.weight} for c in pool],
        "excluded": sorted(skip),
        "u": us,
        "chosen": _choose(pool, us),
    }


def replay(record: Mapping[str, Any]) -> list[str]:
    """The officers a stored draw record chooses, recomputed from its candidates, weights and uniform numbers."""
    pool = [Candidate(str(c["name"]), int(c["weight"])) for c in record["candidates"]]
    return _choose(pool, [float(u) for u in record["u"]])


def verify(record: Mapping[str, Any], *, secret: bytes) -> bool:
    """Whether the record's uniform numbers come from the secret and its seed reference, and replay to its choice."""
    expected = list(uniforms(secret, str(record["seed_ref"]))[: len(record["u"])])
    return [float(u) for u in record["u"]] == expected and replay(record) == list(record["chosen"])


def seed_fingerprint(seed: int) -> str:
    """A short public fingerprint of an office's dispatch seed: shows which seed drew, without telling it."""
    return hashlib.sha256(str(seed).encode()).hexdigest()[:12]


def seed_bytes(seed: int) -> bytes:
    """The HMAC key of an office's dispatch seed."""
    return seed.to_bytes(8, "big", signed=True)
