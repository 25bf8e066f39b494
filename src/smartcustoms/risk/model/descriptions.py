"""What each model feature means, for explanations (`LoadedModel.score_one`)."""

from __future__ import annotations

from smartcustoms.risk.model.features import BASE_ENCODED, CROSSES, ENTITIES, REVENUE_ENTITIES

# What each feature means, for explanations.
DESCRIPTIONS: dict[str, str] = {
    **{f"{e}_n": f"{e}: past declarations (log)" for e in (*ENTITIES, *BASE_ENCODED)},
    **{f"{e}_rate": f"{e}: past fraud rate (smoothed)" for e in (*ENTITIES, *BASE_ENCODED)},
    **{f"{a}_{b}_n": f"{a} with this {b}: past declarations (log)" for a, b in CROSSES},
    **{f"{a}_{b}_rate": f"{a} with this {b}: past fraud rate (smoothed)" for a, b in CROSSES},
    **{f"{e}_frauds": f"{e}: past frauds (log)" for e in (*ENTITIES, *BASE_ENCODED)},
    **{f"{a}_{b}_frauds": f"{a} with this {b}: past frauds (log)" for a, b in CROSSES},
    "worst_rate": "the worst past fraud rate among the parties, the subheading and their crosses",
    "worst_frauds": "the most past frauds among the parties, the subheading and their crosses (log)",
    **{f"{e}_revenue": f"{e}: revenue recovered per past declaration (log)" for e in REVENUE_ENTITIES},
    "hs6_origin_n": "subheading from this origin: past declarations (log)",
    "hs6_origin_rate": "subheading from this origin: past fraud rate (smoothed)",
    "origin_share": "share of the subheading's past declarations from this origin",
    "importer_hs6_n": "importer's past declarations of this subheading (log)",
    "importer_days": "days since the importer was first seen",
    "importer_new": "first declaration of the importer",
    "price_dev": "log unit price minus the reference (honest past median)",
    "price_z": "unit price deviation in robust standard deviations",
    "ref_n": "honest past declarations behind the reference (log)",
    "kgpu_dev": "log mass per unit minus the usual for the subheading",
    "kgpu_z": "mass per unit deviation in robust standard deviations",
    "kgprice_dev": "log value per kg minus the usual for the subheading",
    "transship": "departure country differs from origin",
    "log_value": "item value (log)",
    "log_quantity": "quantity (log)",
    "log_mass": "net mass (log)",
    "cat_office": "the customs office itself",
    "cat_origin": "the country of origin itself",
    "cat_departure_country": "the departure country itself",
    "cat_transport_mode": "the mode of transport itself",
    "cat_hs2": "the HS chapter itself",
    "cat_hs4": "the HS heading itself",
}
