"""Fuzzing every documented operation: no answer is ever a 5xx, and every 4xx carries the error body.

Schemathesis generates requests from the OpenAPI document (valid and invalid ones, boundary values
included) and sends them to the app on a fresh database per operation, on each backend, once
with an enterprise user's token and once with an admin's (so the operations an enterprise is
refused are exercised past their 403 too). Half of the `{number}` path parameters are the number of a declaration that exists, so
the operations on one declaration are exercised past their 404. The run is deterministic: a fixed
seed, derandomized Hypothesis, no example database, no shrinking (the first failure is reported
with a curl command that reproduces it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings

from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.config import Settings
from smartcustoms.declaration import service as declaration_service
from smartcustoms.party import service as party_service
from smartcustoms.party.schemas import EnterpriseCreate
from smartcustoms.runtime import Runtime
from smartcustoms.web.app import create_app
from tests.conftest import BROKER, IMPORTER, NOW, OPERATOR, example, grant_mandate

# The first declaration lodged on a fresh database on NOW (office 2248, 2026, import flag 1).
NUMBER = "224820261000000001"
ERROR_KEYS = {"error", "code", "detail", "errors"}
PROBLEM_KEYS = {"code", "pointer", "message"}


def _openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document; rendering it opens no database (the path below is never created)."""
    unused = Path(tempfile.gettempdir()) / "smartcustoms-openapi-only.db"
    runtime = Runtime(Settings(database_url=f"sqlite:///{unused}"))
    document = create_app(runtime.settings, runtime=runtime, start_workers=False).openapi()
    runtime.stop()
    return document


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261122,
        "generation": {"max-examples": 25},
        "dictionaries": {"existing_numbers": {"values": [NUMBER]}},
        "parameters": {"path.number": {"dictionary": "existing_numbers", "probability": 0.5}},
    }
)
SCHEMA = schemathesis.openapi.from_dict(_openapi_document(), config=CONFIG)


@pytest.fixture(params=["enterprise", "admin"])
def caller_headers(request: pytest.FixtureRequest, rt: Runtime) -> dict[str, str]:
    """The broker and importer enterprises, one lodged declaration, and the caller: the broker's
    user (the enterprise operations) or an admin (every operation an enterprise is refused)."""
    with rt.write() as s:
        for uscc, name in ((BROKER, "Shanghai Harbour Brokerage"), (IMPORTER, "Tianjin Binhai Electronics")):
            party_service.add(s, data=EnterpriseCreate(uscc=uscc, name=name), actor=OPERATOR, now=NOW)
        grant_mandate(s, importer=IMPORTER, broker=BROKER)
        _, token = auth_service.add_user(
            s, name="broker", role=Role.enterprise, enterprise_uscc=BROKER, office=None, password=None, actor=OPERATOR, now=NOW
        )
        _, admin_token = auth_service.add_user(
            s, name="admin", role=Role.admin, enterprise_uscc=None, office=None, password=None, actor=OPERATOR, now=NOW
        )
    with rt.read() as s:
        broker = auth_service.authenticate_token(s, token=token)
    with rt.write() as s:
        receipt, _ = declaration_service.lodge(s, raw=example(), principal=broker, now=NOW)
    assert receipt["number"] == NUMBER
    return {"Authorization": f"Bearer {token if request.param == 'enterprise' else admin_token}"}


@pytest.fixture
def app(rt: Runtime) -> FastAPI:
    """The app on the test runtime, as the `client` fixture builds it (no background worker)."""
    return create_app(rt.settings, runtime=rt, start_workers=False)


@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ),
)
@SCHEMA.parametrize()
def test_no_operation_ever_answers_5xx_and_every_4xx_has_the_error_body(case: Any, app: FastAPI, caller_headers: dict[str, str]) -> None:
    response = case.call(app=app, headers=caller_headers)
    where = f"{case.method} {case.formatted_path} query={case.query!r} -> {response.status_code}: {response.text[:500]}"
    if case.formatted_path == "/readyz" and response.status_code == 503:
        # Not ready is readiness's documented answer while no worker has warmed the caches (none runs here).
        assert response.json()["code"] == "not_ready", where
        return
    assert response.status_code < 500, where
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) == ERROR_KEYS, where
        assert all(isinstance(body[k], str) and body[k] for k in ("error", "code", "detail")), where
        assert isinstance(body["errors"], list), where
        for problem in body["errors"]:
            assert set(problem) == PROBLEM_KEYS, where
            assert all(isinstance(v, str) for v in problem.values()), where
