"""The authorization matrix: every route of the app × every role × own / other enterprise / other office.

The routes come from `app.routes` itself: a route added without a row here fails
`test_every_route_has_an_expectation`. Each row gives the status each caller gets, in the order of
COLUMNS. One world per database: the broker lodges two declarations for the importer at office
2248 (under the importer's mandate), uploads a document and registers a webhook; the rows run top
to bottom, reads first, so a change made by one request is seen by the requests after it.

Callers: `anon` has no credentials; `broker` is the declarant that lodged (owner), `importer` the
enterprise lodged for, `other` an unrelated enterprise; `officer` works at the declaration's office
(2248), `off_tj` at another (0202); `inspector` and `gate` at 2248; the rest are national.
Both declarations go to the yellow lane and their review tasks are drawn to `officer`, the one
on the roster: officers and inspectors see only the declarations of their tasks.
Risk routes check the role before the body, so their rows send `{}`: 422 means "let through".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from smartcustoms.audit.service import Actor
from smartcustoms.declaration import repository
from smartcustoms.release import service as release_service
from smartcustoms.roster import service as roster
from smartcustoms.runtime import Runtime
from tests.conftest import BROKER, NOW, OPERATOR, OTHER, World, example
from tests.e2e.helpers import lane

COLUMNS = ("anon", "broker", "importer", "other", "officer", "off_tj", "inspector", "analyst", "supervisor", "gate", "agency", "admin")
USERS = {"off_tj": "officer_tianjin"}
PUBLIC = "200 " * 12

# fmt: off
EXPECTED: dict[tuple[str, str], str] = {
    #                                                                    anon brkr impt othr offc oftj insp anls supv gate agcy admn
    # operations, documentation and pages
    ("GET", "/healthz"):                                                  PUBLIC,
    ("GET", "/readyz"):                                                  "503 " * 12,
    ("GET", "/metrics"):                                                 "401  403  403  403  403  403  403  403  403  403  403  200",
    ("GET", "/openapi.json"):                                             PUBLIC,
    ("GET", "/docs"):                                                     PUBLIC,
    ("GET", "/static"):                                                   PUBLIC,
    ("GET", "/login"):                                                    PUBLIC,
    ("GET", "/"):                                                        "303  200  200  200  200  200  200  200  200  403  403  200",
    ("GET", "/declarations/rows"):                                       "401  200  200  200  200  200  200  200  200  403  403  200",
    ("GET", "/declarations/{number}"):                                   "303  200  200  404  200  404  404  200  200  403  403  200",
    ("GET", "/declarations/new"):                                        "303  200  200  200  403  403  403  403  403  403  403  403",
    ("GET", "/language"):                                                 "303 " * 12,
    # revenue: officers (their office's), analysts, supervisors, admins
    ("GET", "/revenue"):                                                 "303  403  403  403  200  200  403  200  200  403  403  200",
    ("GET", "/revenue.csv"):                                             "401  403  403  403  200  200  403  200  200  403  403  200",
    # declarations: reads
    ("GET", "/api/v1/declarations"):                                     "401  200  200  200  200  200  200  200  200  403  403  200",
    ("GET", "/api/v1/declarations/statistics/rejections"):               "401  403  403  403  403  403  403  200  200  403  403  200",
    ("GET", "/api/v1/declarations/{number}"):                            "401  200  200  404  200  404  404  200  200  403  403  200",
    ("GET", "/api/v1/declarations/{number}/versions"):                   "401  200  200  404  200  404  404  200  200  403  403  200",
    ("GET", "/api/v1/declarations/{number}/versions/{version}"):         "401  200  200  404  200  404  404  200  200  403  403  200",
    ("GET", "/api/v1/declarations/{number}/documents"):                  "401  200  200  404  200  404  404  200  200  403  403  200",
    ("GET", "/api/v1/declarations/{number}/documents/{document_id}"):    "401  200  200  404  200  404  404  200  200  403  403  200",
    ("GET", "/api/v1/declarations/{number}/outcomes"):                   "401  404  404  404  200  404  404  200  200  403  403  200",
    # notifications, webhooks, mandates: reads
    ("GET", "/api/v1/notifications"):                                    "401  200  200  200  403  403  403  403  403  403  403  403",
    ("GET", "/api/v1/webhooks"):                                         "401  200  200  200  403  403  403  403  403  403  403  403",
    ("GET", "/api/v1/mandates"):                                         "401  200  200  200  403  403  403  403  403  403  403  200",
    ("GET", "/api/v1/mandates/{mandate_id}"):                            "401  200  200  404  403  403  403  403  403  403  403  200",
    # the roster: admins, and supervisors for their own office (this supervisor has none: headquarters, every office)
    ("GET", "/api/v1/officers"):                                         "401  403  403  403  403  403  403  403  200  403  403  200",
    ("GET", "/api/v1/officers/{name}"):                                  "401  403  403  403  403  403  403  403  200  403  403  200",
    # an office's clearance setting: admins, and supervisors for their own office (this one has none: every office)
    ("GET", "/api/v1/offices/{office}/clearance"):                       "401  403  403  403  403  403  403  403  200  403  403  200",
    # tariff, duties, guarantees: reads (the world's SAMPLE tariff: the code is known, the duties assessed)
    ("GET", "/api/v1/tariff/{code}"):                                    "401  200  200  200  200  200  200  200  200  200  200  200",
    ("GET", "/api/v1/declarations/{number}/duties"):                     "401  200  200  404  200  404  404  200  200  403  403  200",
    ("GET", "/api/v1/guarantees"):                                       "401  403  403  403  403  403  403  403  403  403  403  200",
    # manifests: a carrier lodged one (its own enterprise's users are carriers, none of these columns); officials read every one
    ("GET", "/api/v1/manifests"):                                        "401  403  403  403  200  200  200  200  200  403  403  200",
    ("GET", "/api/v1/manifests/{manifest_id}"):                          "401  403  403  403  200  200  200  200  200  403  403  200",
    ("GET", "/api/v1/manifests/{manifest_id}/write-off"):                "401  403  403  403  200  200  200  200  200  403  403  200",
    # enterprises, users, reference data, journal
    ("GET", "/api/v1/enterprises"):                                      "401  200  200  200  200  200  403  200  200  403  403  200",
    ("GET", "/api/v1/enterprises/{uscc}"):                               "401  200  404  404  200  200  403  200  200  403  403  200",
    ("GET", "/api/v1/me"):                                               "401  200  200  200  200  200  200  200  200  200  200  200",
    ("GET", "/api/v1/reference/hs/{code}"):                              "401  200  200  200  200  200  200  200  200  200  200  200",
    ("GET", "/api/v1/reference/hs"):                                     "401  200  200  200  200  200  200  200  200  200  200  200",
    ("GET", "/api/v1/reference/rates/{currency}"):                       "401  200  200  200  200  200  200  200  200  200  200  200",
    ("GET", "/api/v1/reference/{list_name}"):                            "401  200  200  200  200  200  200  200  200  200  200  200",
    ("GET", "/api/v1/audit"):                                            "401  403  403  403  403  403  403  403  200  403  403  200",
    # risk: reads
    ("GET", "/api/v1/risk/rules"):                                       "401  403  403  403  200  200  403  200  200  403  403  200",
    ("GET", "/api/v1/risk/rules/{code}"):                                "401  403  403  403  404  404  403  404  404  403  403  404",
    ("GET", "/api/v1/risk/watchlist"):                                   "401  403  403  403  403  403  403  200  200  403  403  200",
    ("GET", "/api/v1/risk/restricted"):                                  "401  403  403  403  403  403  403  200  200  403  403  200",
    ("GET", "/api/v1/risk/models"):                                      "401  403  403  403  403  403  403  200  200  403  403  200",
    ("GET", "/api/v1/risk/models/{name}"):                               "401  403  403  403  403  403  403  404  404  403  403  404",
    ("GET", "/api/v1/risk/models/{name}/drift"):                         "401  403  403  403  403  403  403  422  422  403  403  422",
    ("GET", "/api/v1/risk/selectivity"):                                 "401  403  403  403  403  403  403  200  200  403  403  200",
    ("GET", "/api/v1/risk/selectivity/shares"):                          "401  403  403  403  403  403  403  200  200  403  403  200",
    ("GET", "/api/v1/risk/enterprises/{uscc}"):                          "401  403  403  403  403  403  403  200  200  403  403  200",
    # risk: changes (role checked before the body: {} answers 422 to the roles let through)
    ("POST", "/api/v1/risk/rules"):                                      "401  403  403  403  403  403  403  422  403  403  403  422",
    ("POST", "/api/v1/risk/rules/test"):                                 "401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/rules/{code}/versions/{version}/approval"):   "401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/rules/{code}/versions/{version}/rejection"):  "401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/rules/{code}/retirement"):                    "401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/watchlist"):                                  "401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/watchlist/{id}/end"):                         "401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/restricted"):                                 "401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/reference-prices/refresh"):                   "401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/models/{name}/versions/{version}/activation"):"401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/models/{name}/versions/{version}/retirement"):"401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/selectivity"):                                "401  403  403  403  403  403  403  422  422  403  403  422",
    ("POST", "/api/v1/risk/classify"):                                   "401  200  200  200  200  200  200  200  200  403  403  200",
    # declarations: changes (only the declarant; the importer sees but may not act)
    ("POST", "/api/v1/declarations"):                                    "401  202  422  422  403  403  403  403  403  403  403  403",
    ("POST", "/api/v1/declarations/{number}/amendments"):                "401  200  403  404  403  403  403  403  403  403  403  403",
    ("PATCH", "/api/v1/declarations/{number}"):                          "401  200  403  404  403  403  403  403  403  403  403  403",
    ("POST", "/api/v1/declarations/{number}/documents"):                 "401  201  403  404  403  403  403  403  403  403  403  403",
    ("POST", "/api/v1/declarations/{number}/outcomes"):                  "401  403  403  404  201  404  404  403  201  403  403  403",
    # held by the officer, so the next deciders meet the lifecycle's 409 (past authorisation)
    ("POST", "/api/v1/declarations/{number}/decisions"):                 "401  403  403  403  200  404  403  403  409  403  403  409",
    ("POST", "/api/v1/declarations/{second}/withdrawal"):                "401  200  403  404  403  403  403  403  403  403  403  403",
    # manifests: changes (carriers only)
    ("POST", "/api/v1/manifests"):                                       "401  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/api/v1/manifests/{manifest_id}/arrival"):                 "401  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/api/v1/manifests/{manifest_id}/amendments"):              "401  403  403  403  403  403  403  403  403  403  403  403",
    # notifications, mandates, administration: changes
    ("POST", "/api/v1/webhooks"):                                        "401  201  201  201  403  403  403  403  403  403  403  403",
    ("DELETE", "/api/v1/webhooks/{webhook_id}"):                         "401  204  404  404  403  403  403  403  403  403  403  403",
    ("POST", "/api/v1/mandates"):                                        "401  422  201  201  403  403  403  403  403  403  403  403",
    ("POST", "/api/v1/mandates/{mandate_id}/revocation"):                "401  403  200  404  403  403  403  403  403  403  403  403",
    ("POST", "/api/v1/enterprises"):                                     "401  403  403  403  403  403  403  403  403  403  403  201",
    ("POST", "/api/v1/users"):                                           "401  403  403  403  403  403  403  403  403  403  403  201",
    ("PATCH", "/api/v1/officers/{name}"):                                "401  403  403  403  403  403  403  403  200  403  403  200",
    ("PUT", "/api/v1/offices/{office}/clearance"):                       "401  403  403  403  403  403  403  403  200  403  403  200",
    # payments are the bank role's only (tests/e2e/test_duty_api.py), guarantees the admins'
    ("POST", "/api/v1/payments"):                                        "401  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/api/v1/guarantees"):                                      "401  403  403  403  403  403  403  403  403  403  403  201",
    # tasks: the holder (the officer) acts; supervisors see and reassign; the declarant answers the query
    ("GET", "/api/v1/tasks"):                                            "401  403  403  403  200  200  200  403  200  403  403  200",
    ("GET", "/api/v1/tasks/{task_id}"):                                  "401  404  404  404  200  404  404  404  200  404  404  200",
    ("POST", "/api/v1/tasks/{task_id}/decision"):                        "401  404  404  404  200  404  404  404  403  404  404  403",
    ("POST", "/api/v1/declarations/{number}/queries/{query_id}/answer"): "401  200  403  404  403  403  403  403  403  403  403  403",
    ("POST", "/api/v1/tasks/{task_id}/reassignment"):                    "401  404  404  404  403  404  404  404  200  404  404  200",
    # releases: the owners, the gate and officials of the office (404 to others); the key and the check are public
    ("GET", "/api/v1/releases/signing-key"):                              PUBLIC,
    ("GET", "/api/v1/releases/{number}"):                                "401  200  200  404  200  404  200  200  200  200  404  200",
    ("GET", "/releases/{number}"):                                       "303  200  200  404  200  404  200  200  200  200  404  200",
    ("GET", "/verify/{token}"):                                           PUBLIC,
    # the gate: checks and the office's feed for gate users ({} answers 422 to them); holds for officers, supervisors, admins (none here: 404)
    ("POST", "/api/v1/gate/checks"):                                     "401  403  403  403  403  403  403  403  403  422  403  403",
    ("GET", "/api/v1/gate/feed"):                                        "401  403  403  403  403  403  403  403  403  200  403  403",
    ("GET", "/api/v1/gate/holds"):                                       "401  403  403  403  200  200  403  403  200  403  403  200",
    ("POST", "/api/v1/gate/holds"):                                      "401  403  403  403  422  422  403  403  422  403  403  422",
    ("DELETE", "/api/v1/gate/holds/{hold_id}"):                          "401  403  403  403  404  404  403  403  404  403  403  404",
    # inspection and X-ray: only a task's holders and the office's supervisors see a task (none is open here: 404);
    # the resolution checks the role first; scans come from scanner stations only
    ("GET", "/api/v1/tasks/{task_id}/inspection"):                        "401  404  404  404  404  404  404  404  404  404  404  404",
    ("POST", "/api/v1/tasks/{task_id}/steps/{step_id}"):                  "401  404  404  404  404  404  404  404  404  404  404  404",
    ("POST", "/api/v1/tasks/{task_id}/completion"):                       "401  404  404  404  404  404  404  404  404  404  404  404",
    ("POST", "/api/v1/tasks/{task_id}/resolution"):                       "401  403  403  403  404  404  403  403  404  403  403  404",
    ("POST", "/api/v1/tasks/{task_id}/instructions"):                     "401  404  404  404  404  404  404  404  404  404  404  404",
    ("GET", "/api/v1/tasks/{task_id}/photos/{sha256}"):                   "401  404  404  404  404  404  404  404  404  404  404  404",
    ("POST", "/api/v1/tasks/{task_id}/review"):                           "401  404  404  404  404  404  404  404  404  404  404  404",
    ("POST", "/api/v1/scans"):                                            "401  403  403  403  403  403  403  403  403  403  403  403",
    ("GET", "/api/v1/scans/{scan_id}"):                                   "401  404  404  404  404  404  404  404  404  404  404  404",
    ("GET", "/api/v1/scans/{scan_id}/image"):                             "401  404  404  404  404  404  404  404  404  404  404  404",
    # the field pages: task 1 is a review (no inspection, no scan): 404 to all who may see it or not; forms without CSRF 403
    ("GET", "/tasks/{task_id}/inspection"):                               "303  404  404  404  404  404  404  404  404  404  404  404",
    ("GET", "/tasks/{task_id}/inspection/instructions"):                  "401  404  404  404  404  404  404  404  404  404  404  404",
    ("GET", "/tasks/{task_id}/assist"):                                   "303  404  404  404  404  404  404  404  404  404  404  404",
    ("GET", "/tasks/{task_id}/assist/live"):                              "401  404  404  404  404  404  404  404  404  404  404  404",
    ("GET", "/tasks/{task_id}/xray"):                                     "303  404  404  404  404  404  404  404  404  404  404  404",
    ("POST", "/tasks/{task_id}/inspection/steps/{step_id}"):              "303  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/tasks/{task_id}/inspection/completion"):                   "303  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/tasks/{task_id}/assist/instructions"):                     "303  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/tasks/{task_id}/xray"):                                    "303  403  403  403  403  403  403  403  403  403  403  403",
    # the officers' desk pages: the queue and a task as through the API; the roster for admins and supervisors
    ("GET", "/tasks"):                                                   "303  403  403  403  200  200  200  403  200  403  403  200",
    ("GET", "/tasks/{task_id}"):                                         "303  404  404  404  200  404  404  404  200  404  404  200",
    ("GET", "/roster"):                                                  "303  403  403  403  403  403  403  403  200  403  403  200",
    ("POST", "/login"):                                                   "403 " * 12,  # no CSRF token
    ("POST", "/logout"):                                                  "303 " * 12,
    # the portal's forms: no CSRF token with a bearer token (403); officials are no traders (403)
    ("POST", "/declarations/new"):                                       "303  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/declarations/new/json"):                                  "303  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/declarations/{number}/documents"):                        "303  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/declarations/{number}/queries/{query_id}/answer"):        "303  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/tasks/{task_id}/decision"):                               "303  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/tasks/{task_id}/reassignment"):                           "303  403  403  403  403  403  403  403  403  403  403  403",
    ("POST", "/roster/{name}"):                                          "303  403  403  403  403  403  403  403  403  403  403  403",
}
# fmt: on

# What each request sends besides the caller's token: path values, and a body where the route takes one.
MANIFEST = {
    "mode": "sea", "vessel": "MAERSK KOWLOON", "voyage": "046E", "port": "CNSHA", "expected_arrival_on": "2026-11-25",
    "lines": [{"bill_of_lading": "MAEU256781234", "containers": [], "packages": 3, "gross_mass_kg": "610", "goods": "Phones"}],
}  # fmt: skip
PATH = {
    "code": "PRM-VAL-001", "version": "1", "id": "1", "name": "fraud", "uscc": BROKER, "currency": "USD", "list_name": "country",
    "task_id": "1", "hold_id": "1", "step_id": "MSKU1234565.container_number", "sha256": "0" * 64, "scan_id": "1",
}  # fmt: skip
BODY: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/declarations"): {"json": {**example(), "client_reference": "MATRIX-3"}},
    ("POST", "/api/v1/declarations/{number}/amendments"): {"json": {"reason": "Freight corrected", "patch": {"freight": "2500.00"}}},
    ("PATCH", "/api/v1/declarations/{number}"): {"json": {"reason": "Insurance corrected", "patch": {"insurance": "190.00"}}},
    ("POST", "/api/v1/declarations/{number}/documents"): {
        "data": {"type": "invoice"},
        "files": {"file": ("invoice.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
    },
    ("POST", "/api/v1/declarations/{number}/outcomes"): {"json": {"source": "inspection", "hit": False}},
    ("POST", "/api/v1/declarations/{number}/decisions"): {"json": {"to": "held", "reason": "Origin to verify"}},
    ("POST", "/api/v1/declarations/{second}/withdrawal"): {"json": {"reason": "Goods sold on"}},
    ("POST", "/api/v1/tasks/{task_id}/decision"): {"json": {"decision": "query", "reason": "Unclear", "question": "The contract?"}},
    ("POST", "/api/v1/declarations/{number}/queries/{query_id}/answer"): {"json": {"answer": "Attached."}},
    ("POST", "/api/v1/tasks/{task_id}/reassignment"): {"json": {"reason": "Matrix reassignment"}},
    ("GET", "/api/v1/officers/{name}"): {"path": {"name": "officer"}},
    ("PATCH", "/api/v1/officers/{name}"): {"path": {"name": "officer"}, "json": {"capacity": 6}},
    ("GET", "/api/v1/offices/{office}/clearance"): {"path": {"office": "2248"}},
    ("PUT", "/api/v1/offices/{office}/clearance"): {"path": {"office": "2248"}, "json": {"review_first": True}},
    ("POST", "/api/v1/risk/classify"): {"json": {"description": "Cotton T-shirts, knitted"}},
    ("POST", "/api/v1/webhooks"): {"json": {"url": "https://hooks.example/in"}},
    ("POST", "/api/v1/manifests"): {"json": MANIFEST},
    ("POST", "/api/v1/manifests/{manifest_id}/arrival"): {"json": {"arrived_on": "2026-11-25", "lines": []}},
    ("POST", "/api/v1/manifests/{manifest_id}/amendments"): {"json": {"reason": "Late booking", "manifest": MANIFEST}},
    ("POST", "/api/v1/mandates"): {"json": {"broker": BROKER, "valid_from": "2026-01-01"}},
    ("POST", "/api/v1/enterprises"): {"json": {"uscc": "91110000100000000R", "name": "New Trading Co."}},
    ("POST", "/api/v1/users"): {"json": {"name": "new-analyst", "role": "analyst"}},
    ("GET", "/api/v1/tariff/{code}"): {"path": {"code": "85171300"}},
    ("POST", "/api/v1/payments"): {"json": {"declaration": "224820261000000001", "amount": "1.00", "reference": "MATRIX-PAY"}},
    ("POST", "/api/v1/guarantees"): {"json": {"uscc": BROKER, "amount": "1000.00"}},
    ("POST", "/login"): {"data": {"name": "nobody", "password": "not-the-password"}},
    ("GET", "/language"): {"params": {"to": "zh-Hans", "next": "/"}},
    ("POST", "/declarations/new"): {"data": {"/client_reference": "MATRIX-4"}},
    ("POST", "/declarations/new/json"): {"files": {"file": ("d.json", b"{}", "application/json")}},
    ("POST", "/declarations/{number}/documents"): {
        "data": {"type": "invoice"},
        "files": {"file": ("invoice.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
    },
    ("POST", "/tasks/{task_id}/decision"): {"data": {"decision": "accept", "reason": "Matrix page"}},
    ("POST", "/tasks/{task_id}/reassignment"): {"data": {"reason": "Matrix page"}},
    ("POST", "/roster/{name}"): {"path": {"name": "officer"}, "data": {"capacity": "6"}},
    ("POST", "/declarations/{number}/queries/{query_id}/answer"): {"data": {"answer": "Attached."}},
    ("POST", "/api/v1/tasks/{task_id}/steps/{step_id}"): {"data": {"result": '{"found": "MSKU1234565"}'}},
    ("POST", "/api/v1/tasks/{task_id}/completion"): {"json": {"findings": [], "reason": "All steps as declared"}},
    ("POST", "/api/v1/tasks/{task_id}/resolution"): {"json": {"decision": "reject", "reason": "Concealment found"}},
    ("POST", "/api/v1/tasks/{task_id}/instructions"): {"json": {"text": "Open the cartons at the back"}},
    ("POST", "/api/v1/tasks/{task_id}/review"): {"json": {"verdict": "clear"}},
    ("POST", "/api/v1/scans"): {
        "data": {"declaration": "224820261000000001", "container": "MSKU1234565"},
        "files": {"image": ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, "image/png")},
    },
    ("GET", "/api/v1/reference/hs"): {"params": {"q": "phone"}},
    ("GET", "/api/v1/reference/hs/{code}"): {"path": {"code": "851713"}},
    ("GET", "/api/v1/risk/models/{name}/drift"): {"params": {"from": "2026-02-01", "to": "2026-01-01"}},
}


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app answers, included routers and mounts too (HEAD aside)."""
    pending = list(app.routes)
    while pending:
        route = pending.pop(0)
        build = getattr(type(route), "effective_candidates", None)
        if callable(build):
            pending[:0] = build(route)
            continue
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method != "HEAD":
                yield method, route.path


def test_every_route_has_an_expectation(client: TestClient) -> None:
    served = set(routes(client.app))  # type: ignore[arg-type]
    # the withdrawal row works on the second declaration, so the first stays open for the rows after it
    served = {(m, p.replace("{number}/withdrawal", "{second}/withdrawal")) for m, p in served}
    assert sorted(served - set(EXPECTED)) == [], "routes without a row in EXPECTED"
    assert sorted(set(EXPECTED) - served) == [], "rows for routes the app no longer has"
    assert all(len(row.split()) == len(COLUMNS) for row in EXPECTED.values())


def _world_objects(client: TestClient, world: World, rt: Runtime) -> dict[str, str]:
    """Two declarations lodged by the broker for the importer, a document, a webhook, a third one released; their ids."""
    api, broker = "/api/v1/declarations", world.headers("broker")
    lane(rt, world, "yellow")  # a review task each, drawn to the officer: only it of the officials sees them
    with rt.write() as s:
        roster.set_officer(s, name="officer", actor=OPERATOR, now=NOW)
    first = client.post(api, json=example(), headers=broker)
    second = client.post(api, json={**example(), "client_reference": "MATRIX-2"}, headers=broker)
    assert first.status_code == second.status_code == 202, first.text
    number = first.json()["number"]
    doc = client.post(
        f"{api}/{number}/documents", data={"type": "invoice"}, files={"file": ("i.pdf", b"%PDF-1.7\n", "application/pdf")}, headers=broker
    )
    hook = client.post("/api/v1/webhooks", json={"url": "https://broker.example/hook"}, headers=broker)
    mandates = client.get("/api/v1/mandates", headers=world.headers("importer")).json()
    assert doc.status_code == hook.status_code == 201 and len(mandates) == 1
    third = client.post(api, json={**example(), "client_reference": "MATRIX-R"}, headers=broker).json()["number"]
    with rt.write() as s:
        decl = repository.by_number(s, number=third)
        assert decl is not None
        release = release_service.issue(s, declaration=decl, actor=Actor.system("clearance"), now=NOW)
    carrier = client.post("/api/v1/users", json={"name": "line", "role": "carrier", "enterprise": OTHER}, headers=world.headers("admin"))
    lodged = client.post("/api/v1/manifests", json=MANIFEST, headers={"Authorization": f"Bearer {carrier.json()['token']}"})
    assert lodged.status_code == 201, lodged.text
    return {
        "release": release.number,
        "token": release.token,
        **PATH,
        "number": number,
        "second": second.json()["number"],
        "document_id": str(doc.json()["id"]),
        "webhook_id": str(hook.json()["id"]),
        "mandate_id": str(mandates[0]["id"]),
        "manifest_id": str(lodged.json()["id"]),
        "task_id": str(client.get("/api/v1/tasks", headers=world.headers("officer")).json()["items"][0]["id"]),
        "query_id": "1",
    }


def test_authorization_matrix(client: TestClient, world: World, rt: Runtime) -> None:
    values = _world_objects(client, world, rt)
    values["uscc"] = BROKER
    observed: dict[tuple[str, str], list[str]] = {}
    for method, path in EXPECTED:
        extra = dict(BODY.get((method, path), {"json": {}} if method in ("POST", "PATCH") else {}))
        if "releases/{number}" in path:
            extra["path"] = {"number": values["release"]}
        url = path.format(**{**values, **extra.pop("path", {})}) if "{" in path else path
        if path == "/static":
            url = "/static/htmx.min.js"
        got = []
        for caller in COLUMNS:
            headers = {} if caller == "anon" else world.headers(USERS.get(caller, caller))
            r = client.request(method, url, headers=headers, follow_redirects=False, **extra)
            got.append(str(r.status_code))
        observed[(method, path)] = got
    wrong = {k: (EXPECTED[k], " ".join(v)) for k, v in observed.items() if EXPECTED[k].split() != v}
    if os.environ.get("SMARTCUSTOMS_PRINT_MATRIX"):
        for (m, p), v in observed.items():
            print(f'    ("{m}", "{p}"): "{"  ".join(v)}",')
    assert wrong == {}, "\n".join(f"{m} {p}\n  expected {e}\n  observed {o}" for (m, p), (e, o) in wrong.items())
