"""A wide-market trade simulator: tens of thousands of item rows with realistic high-cardinality
identifiers (thousands of importers, sellers, subheadings; hundreds of declarants), procedure-like
codes, tax rates in percent (some above 500 %) and no quantity, laid out like public customs
datasets. Pure and seeded (numpy): the same arguments give the same rows.

Fraud is concentrated in some identifiers and in some crosses of them (an importer with one
subheading, a broker with one importer, an office with one importer, a subheading from one
origin), with noise: a row's fraud probability is a logistic function of the sum of the effects
of its importer, declarant, seller, subheading, codes and crosses, plus a per-row disturbance.
Frauds also tend to understate the price per kilogram. `smartcustoms simulate --market wide`
writes it; `docs/examples/wide-history.toml` maps it for `risk import-history`.

A `Profile` holds the knobs (volumes, newcomers, how many identifiers and pairs are risky and how
much, the per-row noise, the layout): `wide` is the noisy default; `date` is calibrated to a
held-back public dataset laid out like the KDD 2020 DATE declarations (`--profile date`,
`docs/examples/date-history.toml`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

COLUMNS = (
    "Declaration ID",
    "Date",
    "Office ID",
    "Process Type",
    "Import Type",
    "Import Use",
    "Payment Type",
    "Mode of Transport",
    "Declarant ID",
    "Importer ID",
    "Seller ID",
    "Courier ID",
    "HS10 Code",
    "Country of Departure",
    "Country of Origin",
    "Tax Rate",
    "Tax Type",
    "Country of Origin Indicator",
    "Net Mass",
    "Item Price",
    "Fraud",
    "Critical Fraud",
)
COUNTRIES = [
    "CN",
    "US",
    "JP",
    "DE",
    "KR",
    "VN",
    "TW",
    "IN",
    "TH",
    "MY",
    "ID",
    "SG",
    "HK",
    "IT",
    "FR",
    "GB",
    "ES",
    "NL",
    "BE",
    "CH",
    "AU",
    "NZ",
    "CA",
    "MX",
    "BR",
    "AR",
    "CL",
    "PE",
    "CO",
    "ZA",
    "EG",
    "TR",
    "AE",
    "SA",
    "IL",
    "PK",
    "BD",
    "LK",
    "PH",
    "KH",
    "MM",
    "RU",
    "PL",
    "CZ",
    "HU",
    "RO",
    "SE",
    "DK",
    "FI",
    "NO",
    "AT",
    "PT",
    "IE",
    "GR",
    "UA",
    "KZ",
    "NG",
    "KE",
    "MA",
    "TN",
]
HUB_INDEX = tuple(COUNTRIES.index(c) for c in ("SG", "HK", "AE", "MY", "NL"))


def _zipf(rng: np.random.Generator, n: int, a: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** a
    out: np.ndarray = rng.permutation(w / w.sum())
    return out


def _sparse(rng: np.random.Generator, n: int, share: float, mean: float, sd: float = 0.6, noise: float = 0.25) -> np.ndarray:
    """Effects of n identifiers: a `share` of them risky (about `mean` on the log-odds), the rest small noise."""
    eff = rng.normal(0.0, noise, n)
    risky = rng.random(n) < share
    eff[risky] += rng.normal(mean, sd, int(risky.sum()))
    return eff


def _cross(a: np.ndarray, b: np.ndarray, salt: int, share: float, mean: float) -> np.ndarray:
    """Effect of a pair of identifiers, fixed per pair by a hash: a `share` of pairs are risky."""
    if share <= 0:
        return np.zeros(len(a))
    h = (a.astype(np.uint64) * np.uint64(2654435761) + b.astype(np.uint64) * np.uint64(40503) + np.uint64(salt)) % np.uint64(1_000_003)
    u = h.astype(np.float64) / 1_000_003.0
    return np.where(u < share, mean * (0.7 + 0.6 * (u / share)), 0.0)


@dataclass(frozen=True)
class Profile:
    """The knobs of a market: how many parties, how concentrated and how noisy the fraud is, how the CSV is laid out.

    An effect is (share of identifiers that are risky, their mean on the log-odds); a cross is
    (share of pairs that are risky, their effect).
    """

    name: str
    rows_per_importer: int = 10
    newcomers: float = 0.5  # share of importers whose first declaration falls inside the period
    importer_skew: float = 0.9  # Zipf exponent of the importers' volumes (0: all alike)
    importer: tuple[float, float] = (0.08, 5.5)
    declarant: tuple[float, float] = (0.05, 3.5)
    seller: tuple[float, float] = (0.05, 3.5)
    hs6: tuple[float, float] = (0.06, 2.5)
    importer_hs6: tuple[float, float] = (0.04, 5.5)
    hs6_origin: tuple[float, float] = (0.04, 3.5)
    office_importer: tuple[float, float] = (0.03, 5.0)
    declarant_importer: tuple[float, float] = (0.03, 5.0)
    seller_importer: tuple[float, float] = (0.0, 0.0)
    row_noise: float = 0.5  # sd of the per-row disturbance on the log-odds
    understated: float = 0.5  # share of frauds that understate the price
    hs_column: str = "HS10 Code"
    tax_column: str = "Tax Rate"

    @property
    def columns(self) -> tuple[str, ...]:
        """The CSV's columns, in order."""
        return tuple(self.hs_column if c == "HS10 Code" else self.tax_column if c == "Tax Rate" else c for c in COLUMNS)


PROFILES = {
    # Noisy: about ten rows per importer, half the importers new during the period, risk spread
    # over many weak effects; its own ceiling at 10 % is about 0.78.
    "wide": Profile("wide"),
    # Calibrated to the held-back import-declaration dataset (laid out like the KDD 2020 "DATE"
    # synthetic declarations: HS6 codes, "Tax Rate (%)"): regular importers with long records,
    # fraud concentrated in a few importers, sellers, broker×importer and importer×HS6 pairs,
    # little per-row noise. Calibrated so that bench.model_quality's plain LightGBM lands near
    # that dataset's 0.96 / 0.89 at 5 / 10 %.
    "date": Profile(
        "date",
        rows_per_importer=25,
        newcomers=0.1,
        importer_skew=0.5,
        importer=(0.05, 10.0),
        declarant=(0.01, 8.0),
        seller=(0.01, 8.0),
        hs6=(0.005, 4.0),
        importer_hs6=(0.005, 10.0),
        hs6_origin=(0.003, 5.0),
        office_importer=(0.003, 8.0),
        declarant_importer=(0.005, 10.0),
        seller_importer=(0.005, 10.0),
        row_noise=0.8,
        understated=0.6,
        hs_column="HS6 Code",
        tax_column="Tax Rate (%)",
    ),
}


def generate(
    rows: int,
    *,
    seed: int,
    start_on: date = date(2020, 1, 1),
    days: int = 547,
    fraud_rate: float = 0.1,
    importers: int | None = None,
    profile: str | Profile = "wide",
) -> dict[str, np.ndarray]:
    """`rows` item rows over `days` from `start_on`, in date order: a dict of columns (see `Profile.columns`), and
    `probability`, each row's true fraud probability (an oracle's ranking: the ceiling of any model)."""
    pr = PROFILES[profile] if isinstance(profile, str) else profile
    rng = np.random.default_rng(seed)
    n_imp = importers or max(200, rows // pr.rows_per_importer)
    n_decl, n_sell, n_hs6, n_off, n_cour = max(50, n_imp // 8), max(300, int(n_imp * 1.5)), max(150, min(3000, n_imp // 2)), 25, 40
    # Who trades what: an importer has a home office, one or two brokers, a few sellers and subheadings.
    imp_p = _zipf(rng, n_imp, pr.importer_skew)
    imp = rng.choice(n_imp, rows, p=imp_p)
    before = round(days * (1 / pr.newcomers - 1)) if pr.newcomers > 0 else 100 * days
    imp_first = rng.integers(-before, days, n_imp).clip(0)  # a share of importers start during the period
    day = np.sort(rng.integers(0, days, rows))
    day = np.maximum(day, imp_first[imp])  # an importer trades from its first day on
    order = np.argsort(day, kind="stable")
    day, imp = day[order], imp[order]
    home_off = rng.integers(0, n_off, n_imp)
    office = np.where(rng.random(rows) < 0.85, home_off[imp], rng.integers(0, n_off, rows))
    brokers = rng.integers(0, n_decl, (n_imp, 2))
    decl = np.where(rng.random(rows) < 0.9, brokers[imp, rng.integers(0, 2, rows)], rng.integers(0, n_decl, rows))
    hs_p = _zipf(rng, n_hs6, 1.0)
    goods = rng.choice(n_hs6, (n_imp, 5), p=hs_p)
    hs6 = np.where(rng.random(rows) < 0.9, goods[imp, rng.integers(0, 5, rows)], rng.choice(n_hs6, rows, p=hs_p))
    sellers = rng.integers(0, n_sell, (n_imp, 4))
    seller = np.where(rng.random(rows) < 0.92, sellers[imp, rng.integers(0, 4, rows)], rng.integers(0, n_sell, rows))
    origins = rng.choice(len(COUNTRIES), (n_hs6, 3), p=_zipf(rng, len(COUNTRIES), 1.1))
    origin = np.where(rng.random(rows) < 0.93, origins[hs6, rng.integers(0, 3, rows)], rng.integers(0, len(COUNTRIES), rows))
    hub = rng.random(rows) < 0.2
    departure = np.where(hub, np.array(HUB_INDEX)[rng.integers(0, len(HUB_INDEX), rows)], origin)
    codes = {
        "Process Type": rng.choice(6, rows, p=[0.55, 0.2, 0.1, 0.08, 0.05, 0.02]),
        "Import Type": rng.choice(3, rows, p=[0.8, 0.15, 0.05]),
        "Import Use": rng.choice(15, rows, p=_zipf(rng, 15, 1.2)),
        "Payment Type": rng.choice(5, rows, p=[0.6, 0.2, 0.1, 0.07, 0.03]),
        "Mode of Transport": rng.choice(4, rows, p=[0.6, 0.3, 0.07, 0.03]),
        "Tax Type": rng.choice(4, rows, p=[0.7, 0.2, 0.07, 0.03]),
        "Country of Origin Indicator": rng.choice(3, rows, p=[0.85, 0.1, 0.05]),
    }
    courier = rng.integers(0, n_cour, rows)
    # Risk: identifiers, codes and crosses; a per-row disturbance keeps it uncertain.
    logit = (
        _sparse(rng, n_imp, *pr.importer)[imp]
        + _sparse(rng, n_decl, *pr.declarant)[decl]
        + _sparse(rng, n_sell, *pr.seller)[seller]
        + _sparse(rng, n_hs6, *pr.hs6)[hs6]
        + _sparse(rng, len(COUNTRIES), 0.1, 0.8, noise=0.15)[origin]
        + _sparse(rng, n_off, 0.1, 0.7, noise=0.15)[office]
        + np.array([0.0, 0.6, -0.3, 0.9, 0.2, 1.2])[codes["Process Type"]]
        + _sparse(rng, 15, 0.2, 0.8, noise=0.2)[codes["Import Use"]]
        + 0.5 * hub
        + _cross(imp, hs6, 11, *pr.importer_hs6)
        + _cross(hs6, origin, 23, *pr.hs6_origin)
        + _cross(office, imp, 37, *pr.office_importer)
        + _cross(decl, imp, 51, *pr.declarant_importer)
        + _cross(seller, imp, 67, *pr.seller_importer)
        + rng.normal(0.0, pr.row_noise, rows)
    )
    lo, hi = -15.0, 5.0
    for _ in range(50):  # the intercept that gives the target fraud rate
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(logit + mid)))).mean() < fraud_rate:
            lo = mid
        else:
            hi = mid
    prob = 1 / (1 + np.exp(-(logit + lo)))
    fraud = rng.random(rows) < prob
    # Amounts: mass, price per kg by subheading; frauds often understate the price.
    hs_price = np.exp(rng.normal(2.0, 1.2, n_hs6))
    mass = np.round(np.exp(rng.normal(6.0, 1.6, rows)), 1) + 0.1
    understated = fraud & (rng.random(rows) < pr.understated)
    price = mass * hs_price[hs6] * np.exp(rng.normal(0, 0.35, rows)) * np.where(understated, rng.uniform(0.3, 0.8, rows), 1.0)
    hs_tax = np.where(rng.random(n_hs6) < 0.04, rng.uniform(100, 800, n_hs6), rng.choice([0, 3, 5, 8, 10, 13, 20, 30], n_hs6))
    critical = fraud & (rng.random(rows) < 0.3 + 0.4 * understated)
    hs6_codes = np.char.add("", (100000 + (np.arange(n_hs6) * 7919) % 900000).astype(str))
    out: dict[str, np.ndarray] = {
        "Declaration ID": np.char.add("D", (np.arange(rows) + 1).astype(str)),
        "Date": (np.datetime64(start_on) + day.astype("timedelta64[D]")).astype(str),
        "Office ID": np.char.add("O", office.astype(str)),
        "Declarant ID": np.char.add("DEC", decl.astype(str)),
        "Importer ID": np.char.add("IMP", imp.astype(str)),
        "Seller ID": np.char.add("SEL", seller.astype(str)),
        "Courier ID": np.char.add("C", courier.astype(str)),
        pr.hs_column: np.char.add(hs6_codes[hs6], np.char.zfill(rng.integers(0, 10000, rows).astype(str), 4))
        if pr.hs_column.startswith("HS10")
        else hs6_codes[hs6],
        "Country of Departure": np.array(COUNTRIES)[departure],
        "Country of Origin": np.array(COUNTRIES)[origin],
        pr.tax_column: hs_tax[hs6].round(1).astype(str),
        "Net Mass": mass.round(1).astype(str),
        "Item Price": price.round(2).astype(str),
        "Fraud": fraud.astype(int).astype(str),
        "Critical Fraud": critical.astype(int).astype(str),
        "probability": prob,  # the truth behind Fraud (not written to the CSV): the best any model can do
    }
    for k, v in codes.items():
        out[k] = np.char.add(k.split()[0][0], v.astype(str))
    return {c: out[c] for c in (*pr.columns, "probability")}


def write_csv(path: Path, columns: dict[str, Any]) -> int:
    """Write generated columns as CSV (in the profile's column order; not the true probability); returns the rows written."""
    n = len(columns["Declaration ID"])
    names = [c for c in columns if c != "probability"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        w.writerows(zip(*(columns[c].tolist() for c in names), strict=True))
    return n
