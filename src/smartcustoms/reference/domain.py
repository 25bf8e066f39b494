"""Pure reference questions: the in-memory catalog validation reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Catalog:
    """A read-only snapshot of the reference data validation needs, held in memory."""

    hs6: dict[str, tuple[tuple[date, date | None], ...]]
    countries: frozenset[str]
    currencies: frozenset[str]
    units: frozenset[str]
    incoterms: frozenset[str]
    transport_modes: frozenset[str]
    offices: frozenset[str]
    ports: frozenset[str]

    def hs_valid(self, code6: str, on: date) -> bool:
        """Whether a 6-digit subheading is valid on a day."""
        return any(f <= on and (t is None or on < t) for f, t in self.hs6.get(code6, ()))
