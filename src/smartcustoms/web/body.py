"""JSON request bodies, read strictly: UTF-8 only, no duplicate keys, no NaN, no lone surrogates.

Python's `json.loads` is lenient where a customs API must not be: it guesses UTF-16 and UTF-32 from
the bytes, lets the last of two equal keys win (`office` 2248 then 5300 lodges at 5300), reads
`NaN` and `Infinity` (and turns `1e999` into infinity), and keeps `"\\ud800"` as a lone surrogate
that no database can store. Every route built with `StrictJSONRoute` parses its JSON body here
before FastAPI does, and a body that breaks one of these rules is refused with the usual error
body: 415 for a charset other than UTF-8, 422 with a pointer for everything else.
"""

from __future__ import annotations

import email.message
import json
import math
import re
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from smartcustoms.declaration.validation import pointer
from smartcustoms.errors import Problem, UnsupportedMediaType, ValidationFailed

MAX_DEPTH = 64  # objects and arrays nested deeper than this (a declaration needs 4) are refused
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _NonFinite:
    """Where the body had NaN, Infinity or a number too large for a float."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Duplicated(dict[str, Any]):
    """An object of the body that named a key twice (the keys are kept in `keys`)."""

    keys_twice: list[str]


def _refused(code: str, ptr: str, message: str) -> ValidationFailed:
    return ValidationFailed("The request body cannot be read; nothing was changed.", [Problem(code, ptr, message)])


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this content type as JSON (application/json, application/*+json)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def check_charset(content_type: str) -> None:
    """Refuse (415) a JSON body labelled with a charset other than UTF-8 (RFC 8259 allows only UTF-8)."""
    message = email.message.Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    if charset is not None and str(charset).strip().lower() not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(
            "A JSON body must be UTF-8.",
            [Problem("REQ-JSON-005", "", f"The body is labelled charset={charset}; send UTF-8 JSON (or no charset).")],
        )


def parse(body: bytes) -> Any:
    """The JSON value of a request body, or ValidationFailed naming the first problem(s) found."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refused("REQ-JSON-001", "", f"The body is not UTF-8 text (byte {exc.start} cannot be read).") from None
    flags: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) == len(items):
            return obj
        twice = _Duplicated(obj)
        twice.keys_twice = []
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                twice.keys_twice.append(key)
            seen.add(key)
        flags.append("duplicate")
        return twice

    def constant(name: str) -> _NonFinite:
        flags.append("non-finite")
        return _NonFinite(name)

    def number(literal: str) -> float | _NonFinite:
        value = float(literal)
        return value if math.isfinite(value) else constant(literal)

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_float=number)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise _refused("REQ-JSON-001", "", f"The body is not valid JSON: {exc.msg} ({where}).") from None
    except RecursionError:
        raise _refused("REQ-JSON-006", "", f"The body nests objects and arrays deeper than {MAX_DEPTH} levels.") from None
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise _refused("REQ-JSON-001", "", "The body holds a number of more than 4,300 digits.") from None
    if _SURROGATE_ESCAPE.search(text):
        flags.append("surrogate")
    if flags or text.count("[") + text.count("{") > MAX_DEPTH:
        problems = list(_problems(value))
        if problems:
            raise ValidationFailed("The request body cannot be read; nothing was changed.", problems[:50])
    return value


def _spelled(text: str) -> str:
    """The text with each lone surrogate written as its escape (`\\udc00`), so the answer can be UTF-8."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _problem(code: str, path: tuple[str | int, ...], message: str) -> Problem:
    return Problem(code, _spelled(pointer(*path)), _spelled(message))


def _problems(value: Any) -> Iterator[Problem]:
    """Every duplicate key, non-finite number, lone surrogate and too deep nesting, with its pointer."""
    lone = "a lone UTF-16 surrogate (\\ud800-\\udfff), which is not a character"
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            yield _problem("REQ-JSON-006", path, f"The body nests objects and arrays deeper than {MAX_DEPTH} levels.")
        elif isinstance(node, _NonFinite):
            yield _problem("REQ-JSON-003", path, f"{node.text} is not a number JSON allows; send a finite number.")
        elif isinstance(node, str):
            if _SURROGATE.search(node):
                yield _problem("REQ-JSON-004", path, f"The text holds {lone}.")
        elif isinstance(node, dict):
            for key in node.keys_twice if isinstance(node, _Duplicated) else ():
                yield _problem("REQ-JSON-002", (*path, key), f"The key {key!r} appears more than once in one object; send it once.")
            for key, item in node.items():
                if _SURROGATE.search(key):
                    yield _problem("REQ-JSON-004", (*path, key), f"The key holds {lone}.")
                else:
                    stack.append((item, (*path, key)))
        elif isinstance(node, list):
            stack.extend((item, (*path, i)) for i, item in enumerate(node))


class StrictJSONRoute(APIRoute):
    """An API route whose JSON body is read by `parse` (the value FastAPI then validates)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or isinstance(self.body_field.field_info, params.Form):
            return handler

        async def strict(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            if is_json(content_type):
                check_charset(content_type or "")
                body = await request.body()
                if body:
                    request._json = parse(body)  # FastAPI's `await request.json()` answers this value
            return await handler(request)

        return strict
