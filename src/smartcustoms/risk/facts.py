"""The facts of a declaration that rules and models read: one flat record per item.

This is the contract between the parameter library (rules name these facts), the model library
(features start from them) and selectivity. The same names are the columns of the batch frame,
so a rule evaluates the same way on one declaration and on a million history rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FactType = Literal["text", "number", "bool", "set"]

# name -> (type, what it is). Money is in the declaration currency unless said otherwise.
FACTS: dict[str, tuple[FactType, str]] = {
    "kind": ("text", "import or export"),
    "procedure": ("text", "general, processing_trade, bonded, transit, ecommerce"),
    "transport_mode": ("text", "sea, air, rail, road, post, ..."),
    "office": ("text", "customs office code"),
    "port": ("text", "UN/LOCODE of the port of entry or exit"),
    "currency": ("text", "ISO 4217 currency of the values"),
    "declarant": ("text", "USCC of the declarant"),
    "importer": ("text", "USCC of the importer (exporter on exports)"),
    "consignor": ("text", "name of the consignor (consignee on exports), upper case, spaces collapsed"),
    "consignor_country": ("text", "country of the consignor/consignee"),
    "departure_country": ("text", "country the goods left from (transshipment hub or origin)"),
    "carrier": ("text", "carrier code: the first four letters of the bill of lading"),
    "importer_credit": ("text", "credit rating of the importer: aeo, general, low, unknown"),
    "importer_declarations": ("number", "declarations the importer lodged before this one (counted up to 10,000)"),
    "importer_first": ("bool", "true if this is the importer's first declaration"),
    "documents": ("set", "types of the documents listed"),
    "total_value": ("number", "total value of all items"),
    "line": ("number", "item line number"),
    "hs_code": ("text", "declared tariff line (6, 8 or 10 digits)"),
    "hs6": ("text", "HS subheading: the first 6 digits"),
    "hs4": ("text", "HS heading: the first 4 digits"),
    "hs2": ("text", "HS chapter: the first 2 digits"),
    "description": ("text", "goods description"),
    "origin": ("text", "country of origin of the item"),
    "quantity": ("number", "declared quantity"),
    "unit": ("text", "unit of the quantity"),
    "net_mass_kg": ("number", "net mass in kg"),
    "gross_mass_kg": ("number", "gross mass in kg"),
    "value": ("number", "item value"),
    "unit_price": ("number", "value / quantity"),
    "kg_price": ("number", "value / net mass"),
    "kg_per_unit": ("number", "net mass / quantity"),
    "reference_price": ("number", "knowledge base reference unit price for the HS subheading and origin (missing if unknown)"),
    "price_ratio": ("number", "unit price / reference price (missing if no reference)"),
    "consignor_watchlisted": ("bool", "the consignor is on a watch list in force"),
    "importer_watchlisted": ("bool", "the importer is on a watch list in force"),
    "declarant_watchlisted": ("bool", "the declarant is on a watch list in force"),
    "licence_required": ("text", "licence the goods need (missing if none)"),
    "licence_present": ("bool", "a licence is among the documents"),
    "prohibited": ("bool", "the goods are prohibited"),
    "hs_mismatch": ("bool", "smart identification: the goods description reads like another HS heading than the one declared"),
    "hs_suggested": (
        "text",
        "smart identification: the heading the description most likely belongs to, when it disagrees (missing otherwise)",
    ),
    "bl_on_manifest": (
        "bool",
        "the declaration's bill of lading is a line of a lodged manifest (false: on none; missing without a bill of lading)",
    ),
}


@dataclass(frozen=True)
class Context:
    """What the knowledge base knows when a declaration is assessed."""

    credit: Mapping[str, str] = field(default_factory=dict)
    declarations: Mapping[str, int] = field(default_factory=dict)
    reference_price: Mapping[tuple[str, str], float] = field(default_factory=dict)
    watchlist: Mapping[str, frozenset[str]] = field(default_factory=dict)
    licences: Mapping[str, str] = field(default_factory=dict)  # HS prefix -> licence name
    prohibited: frozenset[str] = frozenset()  # HS prefixes

    def reference(self, hs6: str, origin: str) -> float | None:
        """The reference unit price for a subheading from an origin, else for the subheading."""
        return self.reference_price.get((hs6, origin)) or self.reference_price.get((hs6, "*"))

    def licence_for(self, hs_code: str) -> str | None:
        """The licence the most specific matching HS prefix requires."""
        for n in range(len(hs_code), 1, -1):
            lic = self.licences.get(hs_code[:n])
            if lic:
                return lic
        return None

    def is_prohibited(self, hs_code: str) -> bool:
        """Whether any prefix of the code is prohibited."""
        return any(hs_code[:n] in self.prohibited for n in range(2, len(hs_code) + 1))


def normalise_name(name: str) -> str:
    """A party name as facts and watch lists compare it: upper case, spaces collapsed."""
    return " ".join(name.upper().split())


def _num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b not in (None, 0) else None


def item_facts(payload: Mapping[str, Any], ctx: Context) -> list[dict[str, Any]]:
    """The facts of each item of a (valid) declaration payload, in the context given."""
    kind = payload.get("kind", "import")
    trader = payload.get("importer") or payload.get("exporter") or {}
    foreign = payload.get("consignor") or payload.get("consignee") or {}
    transport = payload.get("transport") or {}
    importer = trader.get("uscc", "")
    consignor = normalise_name(foreign.get("name", ""))
    declarant = (payload.get("declarant") or {}).get("uscc", "")
    documents = frozenset(d.get("type", "") for d in payload.get("documents") or [])
    bl = transport.get("bill_of_lading") or ""
    items = payload.get("items") or []
    total = sum((_num(i.get("value")) or 0.0) for i in items)
    wl = ctx.watchlist
    n_before = ctx.declarations.get(importer, 0)
    base = {
        "kind": kind,
        "procedure": payload.get("procedure"),
        "transport_mode": transport.get("mode"),
        "office": payload.get("office"),
        "port": payload.get("port_of_entry") or payload.get("port_of_exit"),
        "currency": payload.get("currency"),
        "declarant": declarant,
        "importer": importer,
        "consignor": consignor,
        "consignor_country": foreign.get("country"),
        "departure_country": transport.get("departure_country") or foreign.get("country"),
        "carrier": bl[:4].upper() if len(bl) >= 4 and bl[:4].isalpha() else None,
        "importer_credit": ctx.credit.get(importer, "unknown"),
        "importer_declarations": n_before,
        "importer_first": n_before == 0,
        "documents": documents,
        "total_value": total,
        "consignor_watchlisted": consignor in wl.get("consignor", frozenset()),
        "importer_watchlisted": importer in wl.get("importer", frozenset()),
        "declarant_watchlisted": declarant in wl.get("declarant", frozenset()),
        "licence_present": "licence" in documents,
    }
    out = []
    for it in items:
        hs = str(it.get("hs_code", ""))
        qty, net, value = _num(it.get("quantity")), _num(it.get("net_mass_kg")), _num(it.get("value"))
        unit_price = _div(value, qty)
        ref = ctx.reference(hs[:6], str(it.get("origin", "")))
        out.append(
            {
                **base,
                "line": it.get("line"),
                "hs_code": hs,
                "hs6": hs[:6],
                "hs4": hs[:4],
                "hs2": hs[:2],
                "description": it.get("description", ""),
                "origin": it.get("origin"),
                "quantity": qty,
                "unit": it.get("unit"),
                "net_mass_kg": net,
                "gross_mass_kg": _num(it.get("gross_mass_kg")),
                "value": value,
                "unit_price": unit_price,
                "kg_price": _div(value, net),
                "kg_per_unit": _div(net, qty),
                "reference_price": ref,
                "price_ratio": _div(unit_price, ref),
                "licence_required": ctx.licence_for(hs),
                "prohibited": ctx.is_prohibited(hs),
            }
        )
    return out
