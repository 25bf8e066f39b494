"""The wide-market simulator's profiles: their layout, seeds, and how concentrated their fraud is."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from smartcustoms.risk import market


def _top_share(columns: dict[str, np.ndarray], share: float = 0.1) -> float:
    """Fraud rate among the rows the true probability ranks in the top `share`: what an oracle reaches."""
    y, p = columns["Fraud"].astype(int), columns["probability"]
    return float(y[np.argsort(-p)[: round(len(p) * share)]].mean())


def test_the_wide_profile_is_laid_out_as_before_and_seeded() -> None:
    a, b = market.generate(3000, seed=2), market.generate(3000, seed=2)
    assert list(a)[:-1] == list(market.COLUMNS) and list(a)[-1] == "probability"
    assert all(np.array_equal(a[c], b[c]) for c in a)
    assert {len(h) for h in a["HS10 Code"]} == {10}
    assert not np.array_equal(a["Fraud"], market.generate(3000, seed=3)["Fraud"])


def test_the_date_profile_has_hs6_codes_tax_in_percent_and_concentrated_fraud(tmp_path: Path) -> None:
    date_like, wide = market.generate(20000, seed=5, profile="date"), market.generate(20000, seed=5)
    assert "HS6 Code" in date_like and "Tax Rate (%)" in date_like and "HS10 Code" not in date_like
    assert {len(h) for h in date_like["HS6 Code"]} == {6}
    assert 0.09 < date_like["Fraud"].astype(int).mean() < 0.11  # fraud rate about 10 %
    # Fewer, longer-lived importers, and fraud that sits in them: the oracle's precision at 10 % is far higher.
    assert len(set(date_like["Importer ID"])) < len(set(wide["Importer ID"])) / 2
    assert _top_share(date_like) > 0.85 > 0.75 > _top_share(wide)
    path = tmp_path / "d.csv"
    assert market.write_csv(path, date_like) == 20000
    with path.open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == list(market.PROFILES["date"].columns) and "probability" not in header


def test_a_profile_is_a_set_of_knobs() -> None:
    none = (0.0, 0.0)
    quiet = market.Profile(
        "quiet",
        importer=none,
        declarant=none,
        seller=none,
        hs6=none,
        importer_hs6=none,
        hs6_origin=none,
        office_importer=none,
        declarant_importer=none,
    )
    c = market.generate(5000, seed=1, profile=quiet)
    assert _top_share(c) < 0.5  # only the codes, origins and offices carry risk: little for any model to find
    with pytest.raises(KeyError):
        market.generate(10, seed=1, profile="nowhere")
