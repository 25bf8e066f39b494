"""Property-based: whatever JSON reaches lodging or amendment, the answer is never a 5xx (issue 9, item 4).

Hypothesis builds arbitrary JSON (odd unicode including lone surrogates, bidirectional and
superscript characters; huge integers; floats; deep nesting), alone and merged into a valid
declaration so that validation goes past the schema step, and sends it as raw bytes over the HTTP
app. Derandomized with a fixed number of examples and no shrinking, so a run takes the same time and finds the
same things on every machine.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import World, example

API = "/api/v1/declarations"
ODD = st.sampled_from(["¹", "²", "٣", "\u202e", "\u200b", "\ufeff", "\x00", "\ud800", "\udfff", "𝟘", "Ⅻ", "../", "~1", "", " "])
TEXT = st.one_of(st.text(max_size=12), st.builds(lambda a, b, c: a + b + c, st.text(max_size=4), ODD, st.text(max_size=4)))
KEYS = st.one_of(TEXT, st.sampled_from(["client_reference", "items", "office", "line", "value", "declarant", "uscc", "patch", "reason"]))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=10**40, max_value=10**45),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=20)
SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: the first failure is reported as found
    report_multiple_bugs=False,
    suppress_health_check=(HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large),
)


def _raw(value: Any) -> bytes:
    """The value as JSON text as a careless client would write it (NaN, lone surrogates and all)."""
    return json.dumps(value, allow_nan=True, ensure_ascii=True).encode()


def _deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _check(r: Any, what: bytes) -> None:
    assert r.status_code < 500, (what[:300], r.status_code, r.text[:500])
    if r.status_code >= 400:
        assert set(r.json()) == {"error", "code", "detail", "errors"}, r.text


def _send(client: TestClient, world: World, path: str, body: bytes) -> None:
    r = client.post(path, content=body, headers={**world.headers("broker"), "content-type": "application/json"})
    _check(r, body)


@SETTINGS
@given(value=JSON, merged=st.dictionaries(KEYS, JSON, max_size=3), item=st.dictionaries(KEYS, JSON, max_size=3))
def test_lodging_never_answers_5xx(client: TestClient, world: World, value: Any, merged: dict[str, Any], item: dict[str, Any]) -> None:
    _send(client, world, API, _raw(value))
    declaration = {**example(), **merged}
    declaration["client_reference"] = declaration.get("client_reference") if merged.get("client_reference") is not None else "prop"
    if isinstance(declaration.get("items"), list) and declaration["items"] and isinstance(declaration["items"][0], dict):
        declaration["items"][0] = {**declaration["items"][0], **item}
    _send(client, world, API, _raw(declaration))


@SETTINGS
@given(patch=st.dictionaries(KEYS, JSON, max_size=4), reason=JSON, body=JSON)
def test_amending_never_answers_5xx(client: TestClient, world: World, patch: dict[str, Any], reason: Any, body: Any) -> None:
    listed = client.get(API, headers=world.headers("broker")).json()["items"]
    if listed:
        number = listed[0]["number"]
    else:
        number = client.post(API, json={**example(), "client_reference": "amend-me"}, headers=world.headers("broker")).json()["number"]
    path = f"{API}/{number}/amendments"
    _send(client, world, path, _raw({"reason": "property test", "patch": patch}))
    _send(client, world, path, _raw({"reason": reason, "patch": patch}))
    _send(client, world, path, _raw(body))
    r = client.patch(
        f"{API}/{number}",
        content=_raw({"reason": "property test", "patch": patch}),
        headers={**world.headers("broker"), "content-type": "application/json"},
    )
    _check(r, b"PATCH")


def test_deep_nesting_and_huge_numbers_never_answer_5xx(client: TestClient, world: World) -> None:
    for body in (_deep(63), _deep(64), _deep(65), _deep(5000), b"[" * 100_000, b'{"a": ' + b"9" * 4301 + b"}", b'{"a": 1e400}'):
        _send(client, world, API, body)
        _send(client, world, f"{API}/224820261000000001/amendments", b'{"reason": "deep", "patch": ' + body + b"}")
