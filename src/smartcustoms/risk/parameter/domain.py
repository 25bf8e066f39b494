"""Risk-rule conditions: checked when written, evaluated on one declaration or on a whole frame.

A condition is JSON: `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`, or a test of one fact
`{"fact": "price_ratio", "op": "lt", "value": 0.5}`. Evaluation uses three values: true, false
and *error* (a fact is missing, a list is unknown). `all` is false as soon as one part is false,
`any` true as soon as one is true; otherwise an error anywhere makes the whole an error, so a rule
that cannot be evaluated is reported, never read as "no risk".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from smartcustoms.errors import Problem
from smartcustoms.risk.facts import FACTS, FactType

OPS: dict[FactType, frozenset[str]] = {
    "text": frozenset({"eq", "ne", "in", "not_in", "prefix", "contains", "on_list", "present"}),
    "number": frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "between", "present"}),
    "bool": frozenset({"is", "present"}),
    "set": frozenset({"has", "lacks", "present"}),
}
ERROR = None  # the third truth value
Truth = bool | None
ItemFacts = Mapping[str, Any]


@dataclass(frozen=True)
class Compiled:
    """A checked condition, ready to evaluate."""

    scalar: Callable[[ItemFacts], Truth]
    frame: Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]]  # (true mask, error mask)
    facts: frozenset[str]

    @property
    def item_level(self) -> bool:
        """Whether the condition reads item facts (else it is about the declaration as a whole)."""
        return bool(self.facts & ITEM_FACTS)


ITEM_FACTS = frozenset(
    {
        "line",
        "hs_code",
        "hs6",
        "hs4",
        "hs2",
        "description",
        "origin",
        "quantity",
        "unit",
        "net_mass_kg",
        "gross_mass_kg",
        "value",
        "unit_price",
        "kg_price",
        "kg_per_unit",
        "reference_price",
        "price_ratio",
        "licence_required",
        "prohibited",
        "hs_mismatch",
        "hs_suggested",
    }
)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


MAX_CONDITION_DEPTH = 16
MAX_CONDITION_TESTS = 1000


def bounded(condition: Any) -> list[Problem]:
    """Refuse a condition nested deeper or larger than any analyst writes, before anything walks it recursively."""
    stack: list[tuple[Any, str, int]] = [(condition, "/condition", 1)]
    nodes = 0
    while stack:
        part, ptr, depth = stack.pop()
        if not isinstance(part, dict):
            continue
        nodes += 1
        if depth > MAX_CONDITION_DEPTH:
            return [Problem("RSK-CND-008", ptr, f"A condition is at most {MAX_CONDITION_DEPTH} objects deep (all, any, not, fact tests).")]
        for key in ("all", "any"):
            if isinstance(part.get(key), list):
                stack += [(p, f"{ptr}/{key}/{i}", depth + 1) for i, p in reversed(list(enumerate(part[key])))]
        if "not" in part:
            stack.append((part["not"], f"{ptr}/not", depth + 1))
    if nodes > MAX_CONDITION_TESTS:
        return [Problem("RSK-CND-009", "/condition", f"A condition has at most {MAX_CONDITION_TESTS} parts; this one has {nodes}.")]
    return []


def check(condition: Any, lists: Mapping[str, frozenset[str]], pointer: str = "/condition") -> list[Problem]:
    """Every problem with a condition, each with a pointer into it (size and depth checked first, at the root)."""
    if pointer == "/condition":
        too_big = bounded(condition)
        if too_big:
            return too_big
    problems: list[Problem] = []
    if not isinstance(condition, dict) or len(condition) == 0:
        return [Problem("RSK-CND-001", pointer, "A condition is an object: all, any, not, or a fact test.")]
    if "all" in condition or "any" in condition:
        key = "all" if "all" in condition else "any"
        parts = condition[key]
        if set(condition) != {key}:
            problems.append(Problem("RSK-CND-002", pointer, f"'{key}' stands alone in its object."))
        if not isinstance(parts, list) or not parts:
            return [*problems, Problem("RSK-CND-003", f"{pointer}/{key}", f"'{key}' needs a non-empty list of conditions.")]
        for i, part in enumerate(parts):
            problems += check(part, lists, f"{pointer}/{key}/{i}")
        return problems
    if "not" in condition:
        if set(condition) != {"not"}:
            problems.append(Problem("RSK-CND-002", pointer, "'not' stands alone in its object."))
        return problems + check(condition["not"], lists, f"{pointer}/not")
    extra = set(condition) - {"fact", "op", "value"}
    if extra:
        problems.append(Problem("RSK-CND-002", pointer, f"Unexpected keys {sorted(extra)}; a fact test has fact, op and value."))
    fact, op, value = condition.get("fact"), condition.get("op"), condition.get("value")
    if fact not in FACTS:
        return [*problems, Problem("RSK-CND-004", f"{pointer}/fact", f"Unknown fact {fact!r}; see the list of facts.")]
    ftype = FACTS[fact][0]
    if op not in OPS[ftype]:
        return [
            *problems,
            Problem(
                "RSK-CND-005", f"{pointer}/op", f"Operator {op!r} does not apply to {fact} ({ftype}); use one of {sorted(OPS[ftype])}."
            ),
        ]
    vp = f"{pointer}/value"
    if op in ("present", "is"):
        if not isinstance(value, bool):
            problems.append(Problem("RSK-CND-006", vp, f"'{op}' takes true or false."))
    elif op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            problems.append(Problem("RSK-CND-006", vp, f"'{op}' takes a non-empty list."))
    elif op == "prefix":
        if not (isinstance(value, str) and value) and not (
            isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
        ):
            problems.append(Problem("RSK-CND-006", vp, "'prefix' takes a text or a list of texts."))
    elif op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value) and float(value[0]) <= float(value[1])):
            problems.append(Problem("RSK-CND-006", vp, "'between' takes [low, high] numbers, low ≤ high."))
    elif op == "on_list":
        if value not in lists:
            problems.append(Problem("RSK-CND-007", vp, f"No list named {value!r} in the knowledge base."))
    elif ftype == "number":
        if not _is_number(value):
            problems.append(Problem("RSK-CND-006", vp, f"'{op}' on {fact} takes a number."))
    elif not isinstance(value, str):
        problems.append(Problem("RSK-CND-006", vp, f"'{op}' on {fact} takes a text."))
    return problems


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def compile_condition(condition: dict[str, Any], lists: Mapping[str, frozenset[str]]) -> Compiled:
    """Compile a checked condition; `check` must have found no problem."""
    if "all" in condition or "any" in condition:
        is_all = "all" in condition
        parts = [compile_condition(c, lists) for c in condition["all" if is_all else "any"]]

        def scalar_junction(f: ItemFacts) -> Truth:
            err = False
            for p in parts:
                r = p.scalar(f)
                if r is ERROR:
                    err = True
                elif r is not is_all:  # all: a False decides; any: a True decides
                    return r
            return ERROR if err else is_all

        def frame_junction(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
            n = len(df)
            decided = np.zeros(n, dtype=bool)
            err = np.zeros(n, dtype=bool)
            for p in parts:
                t, e = p.frame(df)
                decisive = (~t & ~e) if is_all else t
                decided |= decisive
                err |= e
            if is_all:
                true = ~decided & ~err
                return true, err & ~decided
            return decided, err & ~decided

        return Compiled(scalar_junction, frame_junction, frozenset().union(*(p.facts for p in parts)))
    if "not" in condition:
        inner = compile_condition(condition["not"], lists)

        def scalar_not(f: ItemFacts) -> Truth:
            r = inner.scalar(f)
            return ERROR if r is ERROR else not r

        def frame_not(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
            t, e = inner.frame(df)
            return ~t & ~e, e

        return Compiled(scalar_not, frame_not, inner.facts)
    return _leaf(condition["fact"], condition["op"], condition.get("value"), lists)


def _leaf(fact: str, op: str, value: Any, lists: Mapping[str, frozenset[str]]) -> Compiled:
    ftype = FACTS[fact][0]
    if op == "present":
        want = bool(value)
        return Compiled(
            lambda f: (not _missing(f.get(fact))) is want,
            lambda df: ((_col(df, fact).notna().to_numpy() == want), np.zeros(len(df), dtype=bool)),
            frozenset({fact}),
        )
    test: Callable[[Any], bool]
    vec: Callable[[pd.Series], np.ndarray]
    if ftype == "number":
        band = [float(v) for v in value] if op == "between" else [0.0, 0.0]
        x = 0.0 if op == "between" else float(value)
        tests: dict[str, tuple[Callable[[Any], bool], Callable[[pd.Series], Any]]] = {
            "eq": (lambda v: float(v) == x, lambda s: s == x),
            "ne": (lambda v: float(v) != x, lambda s: s != x),
            "gt": (lambda v: float(v) > x, lambda s: s > x),
            "gte": (lambda v: float(v) >= x, lambda s: s >= x),
            "lt": (lambda v: float(v) < x, lambda s: s < x),
            "lte": (lambda v: float(v) <= x, lambda s: s <= x),
            "between": (lambda v: band[0] <= float(v) <= band[1], lambda s: (s >= band[0]) & (s <= band[1])),
        }
        test, vec0 = tests[op]
        vec = lambda s: np.asarray(vec0(pd.to_numeric(s, errors="coerce")), dtype=bool)  # noqa: E731
    elif ftype == "bool":
        want = bool(value)
        test = lambda v: bool(v) is want  # noqa: E731
        vec = lambda s: (s.astype(bool) == want).to_numpy()  # noqa: E731
    elif ftype == "set":
        test = (lambda v: value in v) if op == "has" else (lambda v: value not in v)
        vec = lambda s: np.fromiter((test(v) for v in s), dtype=bool, count=len(s))  # noqa: E731
    else:
        if op in ("eq", "ne"):
            test = (lambda v: v == value) if op == "eq" else (lambda v: v != value)
            vec = (lambda s: (s == value).to_numpy()) if op == "eq" else (lambda s: (s != value).to_numpy())
        elif op in ("in", "not_in", "on_list"):
            members = frozenset(lists.get(value, frozenset()) if op == "on_list" else (str(v) for v in value))
            test = (lambda v: v not in members) if op == "not_in" else (lambda v: v in members)
            vec = (lambda s: ~s.isin(members).to_numpy()) if op == "not_in" else (lambda s: s.isin(members).to_numpy())
        elif op == "prefix":
            prefixes = (value,) if isinstance(value, str) else tuple(value)
            test = lambda v: str(v).startswith(prefixes)  # noqa: E731
            vec = lambda s: s.astype(str).str.startswith(prefixes).to_numpy(dtype=bool)  # noqa: E731
        else:  # contains
            needle = str(value).lower()
            test = lambda v: needle in str(v).lower()  # noqa: E731
            vec = lambda s: s.astype(str).str.lower().str.contains(needle, regex=False).to_numpy(dtype=bool)  # noqa: E731

    def scalar(f: ItemFacts) -> Truth:
        v = f.get(fact)
        return ERROR if _missing(v) else test(v)

    def frame(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        s = _col(df, fact)
        miss = s.isna().to_numpy()
        out = np.zeros(len(df), dtype=bool)
        if (~miss).any():
            out[~miss] = vec(s[~miss])
        return out, miss

    return Compiled(scalar, frame, frozenset({fact}))


def _col(df: pd.DataFrame, fact: str) -> pd.Series:
    if fact in df.columns:
        return df[fact]
    return pd.Series([None] * len(df), index=df.index, dtype=object)
