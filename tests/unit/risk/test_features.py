"""Model features: exact track records on a hand-made history, no leakage of the future, and the
scoring paths (snapshot frame, single row) give exactly what the training builder gives."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from smartcustoms.risk.history.service import to_facts
from smartcustoms.risk.model import features as F
from smartcustoms.risk.simulator import Simulator


def _row(
    day: str,
    importer: str,
    *,
    label: int = 0,
    price: float = 10.0,
    qty: float = 100.0,
    kg: float = 50.0,
    hs: str = "851713",
    origin: str = "VN",
    revenue: float = 0.0,
    **extra: object,
) -> dict[str, object]:
    return {
        "declaration_id": f"{day}-{importer}-{price}-{label}",
        "declared_on": day,
        "office": "2248",
        "declarant_id": "BROKER",
        "importer_id": importer,
        "consignor_id": "Acme  trading",
        "carrier_id": "MAEU",
        "hs_code": hs + "0000",
        "origin_country": origin,
        "departure_country": origin,
        "transport_mode": "sea",
        "quantity": qty,
        "net_mass_kg": kg,
        "value": qty * price,
        "duty_rate": 0.1,
        "label_fraud": label,
        "label_critical": label,
        "revenue_recovered": revenue,
        **extra,
    }


def _tiny() -> pd.DataFrame:
    return to_facts(
        pd.DataFrame(
            [
                _row("2026-01-05", "A", label=1, revenue=100.0),
                _row("2026-01-05", "A"),
                _row("2026-01-06", "A"),
                _row("2026-01-06", "B", label=1, revenue=40.0),
                _row("2026-01-07", "A", origin="US"),
            ]
        )
    )


def test_track_records_count_only_earlier_days() -> None:
    x, _ = F.build_training_features(_tiny())
    assert x["importer_n"].round(12).tolist() == [0.0, 0.0, round(math.log1p(2), 12), 0.0, round(math.log1p(3), 12)]
    assert x["importer_new"].tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]
    assert x["importer_days"].tolist() == [0.0, 0.0, 1.0, 0.0, 2.0]
    # Last row: importer A had 3 earlier rows, 1 fraud; prior is the default until 100 rows are known.
    assert x["importer_rate"].iloc[4] == pytest.approx((1 + F.SMOOTHING * F.DEFAULT_PRIOR) / (3 + F.SMOOTHING))
    assert x["importer_revenue"].iloc[4] == pytest.approx(math.log1p(100 / 3))
    # The subheading saw 4 earlier rows (2 frauds) before the last; none of them from the US.
    assert x["hs6_rate"].iloc[4] == pytest.approx((2 + F.SMOOTHING * F.DEFAULT_PRIOR) / (4 + F.SMOOTHING))
    assert x["hs6_origin_n"].iloc[4] == 0.0
    assert x["origin_share"].iloc[4] == 0.0
    assert x["origin_share"].iloc[2] == 1.0
    assert x["importer_hs6_n"].iloc[4] == pytest.approx(math.log1p(3))
    # Consignor names are normalised before they are counted.
    assert x["consignor_n"].iloc[4] == pytest.approx(math.log1p(4))
    # Past frauds are counted too (earlier days only), and the worst track record is the highest of them.
    assert x["importer_frauds"].round(12).tolist() == [0.0, 0.0, round(math.log1p(1), 12), 0.0, round(math.log1p(1), 12)]
    assert x["hs6_frauds"].iloc[4] == pytest.approx(math.log1p(2))
    assert x["consignor_importer_frauds"].iloc[4] == pytest.approx(math.log1p(1))
    assert x["consignor_importer_n"].iloc[4] == pytest.approx(math.log1p(3))
    parties = [c for c in x.columns if c.endswith("_rate") and c.split("_rate")[0] in {*F.WORST_OF, *(f"{a}_{b}" for a, b in F.CROSSES)}]
    assert len(parties) == len(F.WORST_OF) + len(F.CROSSES)
    assert x["worst_rate"].tolist() == x[parties].max(axis=1).tolist()
    assert x["worst_rate"].iloc[4] == pytest.approx((2 + F.SMOOTHING * F.DEFAULT_PRIOR) / (4 + F.SMOOTHING))  # the subheading's
    assert x["worst_frauds"].iloc[4] == pytest.approx(math.log1p(2))


def test_a_column_of_many_levels_gets_track_records_but_no_native_codes() -> None:
    rows = [_row(f"2026-01-{1 + i % 28:02d}", f"I{i}", lane=f"L{i % 120}", procedure=f"P{i % 3}") for i in range(120 * F.MIN_LEVEL)]
    _, meta = F.build_training_features(to_facts(pd.DataFrame(rows)))
    assert len(meta.categorical["procedure"]) == 3 and "lane" not in meta.categorical  # 120 levels > MAX_NATIVE_LEVELS
    assert {"lane_n", "lane_rate", "lane_frauds"} <= set(meta.names) and "cat_lane" not in meta.names


def test_reference_prices_come_from_honest_rows_of_earlier_months() -> None:
    rows = [_row(f"2026-01-{d:02d}", "A", price=10.0) for d in range(1, 11)]  # January: 10 honest rows at 10
    rows += [_row("2026-01-20", "F", label=1, price=1.0)]  # a fraud does not move the reference
    rows += [_row("2026-02-03", "B", price=5.0), _row("2026-02-04", "C", price=20.0)]
    x, _ = F.build_training_features(to_facts(pd.DataFrame(rows)))
    assert x["price_dev"].iloc[:11].isna().all()  # January has no earlier month
    assert x["price_dev"].iloc[11] == pytest.approx(math.log(0.5))
    assert x["price_dev"].iloc[12] == pytest.approx(math.log(2.0))
    assert x["kgpu_dev"].iloc[11] == pytest.approx(0.0)


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    sim = Simulator(seed=3, start_on=date(2025, 1, 1), days=150, importers=40)
    return to_facts(pd.DataFrame([r for d in sim.declarations(2500) for r in d.rows()]))


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return bool(np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True))


def test_changing_the_future_changes_no_earlier_row(history: pd.DataFrame) -> None:
    cut = pd.Timestamp("2025-04-10")
    x, meta = F.build_training_features(history)
    future = history["declared_on"] >= cut
    changed = history.copy()
    changed.loc[future, "label_fraud"] = 1 - changed.loc[future, "label_fraud"]
    changed.loc[future, "value"] = changed.loc[future, "value"] * 0.3
    changed.loc[future, "revenue_recovered"] = 1e6
    changed.loc[future, "importer"] = "SOMEONE ELSE"
    y, _ = F.build_training_features(changed, meta)
    assert future.sum() > 500 and (~future).sum() > 500
    assert _same(x[~future.to_numpy()], y[~future.to_numpy()])
    assert not _same(x[future.to_numpy()], y[future.to_numpy()])


def test_a_row_does_not_see_its_own_day(history: pd.DataFrame) -> None:
    x, meta = F.build_training_features(history)
    day = history["declared_on"] == pd.Timestamp("2025-03-12")
    changed = history.copy()
    changed.loc[day, "label_fraud"] = 1
    y, _ = F.build_training_features(changed, meta)
    assert _same(x[day.to_numpy()], y[day.to_numpy()])


def test_a_snapshot_scores_new_rows_exactly_as_training_features_them(history: pd.DataFrame) -> None:
    until = date(2025, 4, 1)  # the first day of a month: references cut at the same place
    x, meta = F.build_training_features(history)
    new = (history["declared_on"] == pd.Timestamp(until)).to_numpy()
    snap = F.make_snapshot(history, until)
    assert new.sum() > 5 and snap.rows == int((history["declared_on"] < pd.Timestamp(until)).sum())
    batch = F.build_scoring_features(history[new], snap, meta)
    one = F.RowEncoder(snap, meta).features(history[new].to_dict("records"), until)
    assert np.allclose(batch.to_numpy(), x[new].to_numpy(), equal_nan=True, rtol=1e-12, atol=1e-12)
    assert np.allclose(one, x[new].to_numpy(), equal_nan=True, rtol=1e-12, atol=1e-12)


def test_ground_truth_and_identifiers_are_never_features(history: pd.DataFrame) -> None:
    frame = history.assign(channel="green", freight=history["value"] * 0.02)
    _, meta = F.build_training_features(frame, exclude=["freight"])
    assert "pattern" in frame.columns and "cat_pattern" not in meta.names
    assert "cat_importer_credit" in meta.names and "cat_channel" in meta.names
    assert "num_freight" not in meta.names
    assert not {"label_fraud", "importer", "declaration_id", "revenue_recovered"} & set(meta.names)


def test_unknown_and_rare_levels_encode_as_missing() -> None:
    frame = to_facts(pd.DataFrame([_row("2026-01-05", f"I{i}", origin="VN" if i < 6 else "KH") for i in range(8)]))
    x, meta = F.build_training_features(frame)
    assert meta.categorical["origin"] == ("VN",)
    assert x["cat_origin"].iloc[:6].tolist() == [0.0] * 6
    assert x["cat_origin"].iloc[6:].isna().all()


def test_meta_survives_the_registry_round_trip(history: pd.DataFrame) -> None:
    _, meta = F.build_training_features(history)
    assert F.Meta.from_json(meta.as_json()) == meta


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    """The wide market (no quantity, high-cardinality identifiers, procedure-like extras) as a facts frame."""
    from smartcustoms.risk import market

    c = market.generate(6000, seed=4, start_on=date(2025, 1, 1), days=200)
    canonical = pd.DataFrame(
        {
            "declaration_id": c["Declaration ID"],
            "declared_on": c["Date"],
            "office": c["Office ID"],
            "declarant": c["Declarant ID"],
            "importer": c["Importer ID"],
            "consignor": c["Seller ID"],
            "carrier": c["Courier ID"],
            "hs_code": c["HS10 Code"],
            "origin": c["Country of Origin"],
            "departure_country": c["Country of Departure"],
            "quantity": np.nan,
            "net_mass_kg": c["Net Mass"],
            "value": c["Item Price"],
            "label_fraud": c["Fraud"].astype(int),
            "revenue_recovered": 0.0,
            "process_type": c["Process Type"],
            "import_use": c["Import Use"],
        }
    )
    return to_facts(canonical)


def test_wide_data_gets_target_encoded_extras_and_crosses(wide: pd.DataFrame) -> None:
    x, meta = F.build_training_features(wide)
    assert {"process_type_rate", "import_use_n", "office_importer_rate", "declarant_importer_rate", "importer_hs6_rate"} <= set(meta.names)
    assert {"cat_process_type", "cat_import_use"} <= set(meta.names)  # and LightGBM's own categorical handling
    assert x["log_quantity"].isna().all() and x["price_dev"].isna().all()  # no quantity: those features are missing
    assert F.Meta.from_json(meta.as_json()) == meta


def test_shuffling_future_labels_does_not_change_a_scored_row(wide: pd.DataFrame) -> None:
    until = date(2025, 5, 1)
    _, meta = F.build_training_features(wide)
    today = (wide["declared_on"] == pd.Timestamp(until)).to_numpy()
    future = (wide["declared_on"] >= pd.Timestamp(until)).to_numpy()
    shuffled = wide.copy()
    labels = shuffled["label_fraud"].to_numpy().copy()
    labels[future] = np.random.default_rng(1).permutation(1 - labels[future])
    shuffled["label_fraud"] = labels
    a = F.build_scoring_features(wide[today], F.make_snapshot(wide, until), meta)
    b = F.build_scoring_features(wide[today], F.make_snapshot(shuffled, until), meta)
    one = F.RowEncoder(F.make_snapshot(shuffled, until), meta).features(wide[today].to_dict("records"), until)
    assert today.sum() > 10 and (labels[future] != wide["label_fraud"].to_numpy()[future]).any()
    assert _same(a, b)
    assert np.allclose(one, a.to_numpy(), equal_nan=True, rtol=1e-12, atol=1e-12)
    # ... while the labels of the past do change it.
    past = shuffled.copy()
    past.loc[~future, "label_fraud"] = 1 - past.loc[~future, "label_fraud"]
    c = F.build_scoring_features(wide[today], F.make_snapshot(past, until), meta)
    assert not _same(a, c)


def test_tuning_searches_on_the_validation_window_and_records_the_choice(wide: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    from smartcustoms.risk.model import training

    monkeypatch.setattr(training, "TUNE_TRIALS", 3)
    fitted = training.fit(wide, train_until=date(2025, 7, 1), tune=True)
    tuning = fitted.metrics["tuning"]
    assert len(tuning["trials"]) == 3 and tuning["criterion"] == "average_precision"
    best = max(tuning["trials"], key=lambda t: t["average_precision"])
    assert tuning["chosen"] == {k: best[k] for k in training.TUNE_GRID}
    assert fitted.metrics["tuned"] is True and fitted.metrics["params"]["num_leaves"] == best["num_leaves"]
    assert fitted.metrics["validation"]["from"] is not None
