"""The lodging form's fields are named by the JSON pointer of the value they hold (`/items/0/hs_code`):
the form becomes a declaration's JSON by setting each filled field at its pointer, and every problem
the service finds comes back at the field its pointer names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from smartcustoms.errors import Problem

LISTS = frozenset({"items", "containers", "documents", "seals"})
INTEGERS = frozenset({"line"})


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _set(doc: dict[str, Any], tokens: list[str], value: str) -> None:
    node: Any = doc
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        if isinstance(node, list):
            index = int(token)
            while len(node) <= index:
                node.append({} if not last else None)
            if last:
                node[index] = value
            else:
                node = node[index]
            continue
        if last:
            node[token] = int(value) if token in INTEGERS and value.isdigit() else value
        else:
            node = node.setdefault(token, [] if token in LISTS else {})


def payload(fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The declaration a form describes: each non-blank field set at its pointer.

    Rows left blank at the end of a list are left out; a blank row between filled ones stays (as an
    empty entry, so that its problems come back at its own fields). Item lines are numbered in order.
    """
    doc: dict[str, Any] = {}
    for name, raw in fields:
        value = raw.strip()
        if not name.startswith("/") or not value:
            continue
        tokens = [_unescape(t) for t in name[1:].split("/")]
        if any(not t for t in tokens) or any(t.isdigit() and int(t) > 999 for t in tokens):
            continue
        _set(doc, tokens, value)
    for n, item in enumerate(doc.get("items", []), start=1):
        if isinstance(item, dict):
            item.setdefault("line", n)
    return doc


def at_fields(problems: Iterable[Problem], names: Iterable[str]) -> tuple[dict[str, list[Problem]], list[Problem]]:
    """The problems by the form field their pointer names (or the nearest field above it), and those no field shows."""
    known = set(names)
    by_field: dict[str, list[Problem]] = {}
    rest: list[Problem] = []
    for p in problems:
        ptr = p.pointer
        while ptr and ptr not in known:
            ptr = ptr.rsplit("/", 1)[0]
        if ptr:
            by_field.setdefault(ptr, []).append(p)
        else:
            rest.append(p)
    return by_field, rest
