"""Operations: the API documentation works offline, and readiness waits for warm caches."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from smartcustoms.runtime import Runtime
from smartcustoms.web.app import create_app


def test_the_api_docs_page_references_nothing_outside_and_every_asset_it_names_is_served(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    refs = re.findall(r'(?:src|href|data-openapi)="([^"]+)"', r.text)
    assert {"/static/swagger-ui-bundle.js", "/static/swagger-ui.css", "/static/docs.js", "/openapi.json"} <= set(refs), refs
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), f"external reference {ref}"
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref
    assert "http://" not in r.text and "https://" not in r.text
    assert "<script>" not in r.text  # the start-up script is a file: the Content-Security-Policy allows no inline script
    assert client.get("/static/swagger-ui.LICENSE").status_code == 200


def test_readyz_answers_503_until_the_caches_are_warm_and_200_after_while_healthz_is_live_throughout(rt: Runtime) -> None:
    app = create_app(rt.settings, runtime=rt, start_workers=False)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        cold = client.get("/readyz")
        assert cold.status_code == 503
        assert cold.json()["code"] == "not_ready" and set(cold.json()) == {"error", "code", "detail", "errors"}
        rt.start()  # the runtime's worker warms the caches, then the process is ready
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "not ready within 60 s"
            time.sleep(0.05)
        assert client.get("/readyz").json()["status"] == "ready"
        assert client.get("/healthz").status_code == 200
