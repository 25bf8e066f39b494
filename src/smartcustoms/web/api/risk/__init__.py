"""Routes of the risk engine: rules (maker-checker), knowledge base, models, selectivity, and outcomes of checks.

Risk staff (analysts, supervisors, admins) read everything; officers also read the rules. Rules are
written by analysts and admins and take effect once someone else approves them. Enterprises, gates
and agencies are refused (403) on every `/api/v1/risk` route; outcomes hang under the declaration
and are never shown to enterprises. Every change is journaled by the service it calls, in the same
transaction; the caches built on what changed are cleared again once the transaction has committed,
so a request running meanwhile cannot keep the old state cached.

The routes live by responsibility in `rules`, `knowledge`, `model`, `selectivity` and `outcomes`;
`router` puts the first four together under `/api/v1/risk`, in this order.
"""

from __future__ import annotations

from fastapi import APIRouter

from smartcustoms.web.api.risk import knowledge, model, rules, selectivity
from smartcustoms.web.api.risk.outcomes import outcomes_router
from smartcustoms.web.body import StrictJSONRoute

router = APIRouter(prefix="/api/v1/risk", tags=["risk"], route_class=StrictJSONRoute)
for part in (rules, knowledge, model, selectivity):
    router.include_router(part.router)

__all__ = ["outcomes_router", "router"]
