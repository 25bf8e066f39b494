"""`smartcustoms simulate`: realistic trade with its ground truth, as a history CSV or lodged through the API."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Annotated, Any, Optional

import httpx
import typer

from smartcustoms.cli.common import JsonOpt, console, emit, handled, parse_date, progress_bar
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.risk.simulator import SimDeclaration, Simulator, write_history_csv


def _submit(url: str, token: str, decls: list[SimDeclaration], *, seed: int, concurrency: int, quiet: bool) -> Counter[str]:
    base = url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=30.0, limits=httpx.Limits(max_connections=concurrency)) as client:
        try:
            me = client.get(f"{base}/api/v1/me")
        except httpx.HTTPError as exc:
            raise ValidationFailed(f"{base} cannot be reached.", [Problem("RSK-SIM-002", "/submit", str(exc))]) from exc
        if me.status_code != 200:
            raise ValidationFailed(
                "The token is not accepted.", [Problem("RSK-SIM-003", "/token", f"GET /api/v1/me answered {me.status_code}.")]
            )
        enterprise = me.json().get("enterprise")
        if not enterprise:
            raise ValidationFailed(
                "The token's user has no enterprise.",
                [
                    Problem(
                        "RSK-SIM-004",
                        "/token",
                        "Declarations are lodged by an enterprise user; use the token of one (for example the demo broker).",
                    )
                ],
            )
        counts: Counter[str] = Counter()

        def post(d: SimDeclaration) -> str:
            body: dict[str, Any] = d.payload(client_reference=f"sim{seed}-{d.declaration_id}")
            # The token's enterprise lodges for itself (declarant and importer): lodging in the
            # simulated importers' names would need a mandate from each.
            body["declarant"] = {"uscc": enterprise, "name": body["declarant"]["name"]}
            body["importer"] = {"uscc": enterprise, "name": body["importer"]["name"]}
            try:
                return str(client.post(f"{base}/api/v1/declarations", json=body).status_code)
            except httpx.HTTPError as exc:
                return type(exc).__name__

        with progress_bar(quiet=quiet) as progress, ThreadPoolExecutor(max_workers=concurrency) as pool:
            task = progress.add_task("Lodging", total=len(decls))
            for fut in as_completed([pool.submit(post, d) for d in decls]):
                counts[fut.result()] += 1
                progress.advance(task)
    return counts


def simulate(
    declarations: Annotated[int, typer.Option(help="How many declarations")] = 1000,
    days: Annotated[int, typer.Option(help="Over how many days")] = 365,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same trade")] = 1,
    out: Annotated[Optional[Path], typer.Option(help="Write history rows (one per item, with the truth) to this CSV")] = None,
    submit: Annotated[Optional[str], typer.Option(help="Lodge each declaration at this server, e.g. http://127.0.0.1:8000")] = None,
    token: Annotated[Optional[str], typer.Option(help="Bearer token for --submit (or SMARTCUSTOMS_TOKEN)")] = None,
    start: Annotated[str, typer.Option(help="First day of the trade (YYYY-MM-DD)")] = "2026-01-01",
    importers: Annotated[Optional[int], typer.Option(help="Importers in the population (default: declarations / 200, at least 20)")] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight with --submit")] = 8,
    market: Annotated[
        str,
        typer.Option(
            help="trade: declarations with items and fraud patterns; wide: one row per declaration like public customs "
            "datasets (thousands of importers, sellers, subheadings; no quantity; tax in percent), --out only"
        ),
    ] = "trade",
    profile: Annotated[
        str,
        typer.Option(
            help="with --market wide: wide (noisy, many newcomers) or date (calibrated to a public import-declaration "
            "dataset: HS6 codes, 'Tax Rate (%)'; map it with docs/examples/date-history.toml)"
        ),
    ] = "wide",
    json_output: JsonOpt = False,
) -> None:
    """Generate realistic trade with its ground truth (fraud patterns, labels, revenue at risk)."""
    with handled(json_output):
        if (out is None) == (submit is None):
            raise ValidationFailed(
                "Say where the trade goes.", [Problem("RSK-SIM-001", "/out", "Give exactly one of --out FILE.csv or --submit URL.")]
            )
        start_on = parse_date(start, "/start")
        if declarations < 1 or days < 1:
            raise ValidationFailed(
                "Nothing to simulate.", [Problem("RSK-SIM-005", "/declarations", "--declarations and --days are at least 1.")]
            )
        if market not in ("trade", "wide"):
            raise ValidationFailed("Unknown market.", [Problem("RSK-SIM-006", "/market", "--market is trade or wide.")])
        if market == "wide":
            from smartcustoms.risk import market as wide

            if profile not in wide.PROFILES:
                raise ValidationFailed("Unknown profile.", [Problem("RSK-SIM-006", "/profile", "--profile is wide or date.")])
            if out is None:
                raise ValidationFailed("Say where the rows go.", [Problem("RSK-SIM-006", "/out", "--market wide writes --out FILE.csv.")])
            columns = wide.generate(declarations, seed=seed, start_on=start_on, days=days, importers=importers, profile=profile)
            rows = wide.write_csv(out, columns)
            fraudulent = int((columns["Fraud"] == "1").sum())
            wide_summary = {
                "declarations": rows,
                "fraudulent": fraudulent,
                "rows": rows,
                "out": str(out),
                "market": "wide",
                "profile": profile,
            }
            emit(
                wide_summary,
                json_output,
                f"{rows} rows ({fraudulent} with fraud) written to {out}; map them with docs/examples/{profile}-history.toml",
            )
            return
        sim = Simulator(seed=seed, start_on=start_on, days=days, importers=importers or max(20, declarations // 200))
        decls = sim.declarations(declarations)
        truth = Counter(p for d in decls for p in d.patterns)
        summary: dict[str, Any] = {
            "declarations": len(decls),
            "fraudulent": sum(d.fraud for d in decls),
            "patterns": dict(sorted(truth.items())),
            "from": start_on.isoformat(),
            "days": days,
            "seed": seed,
        }
        if out is not None:
            summary["rows"] = write_history_csv(out, decls)
            summary["out"] = str(out)
        else:
            assert submit is not None
            tok = token or os.environ.get("SMARTCUSTOMS_TOKEN")
            if not tok:
                raise ValidationFailed("No token.", [Problem("RSK-SIM-003", "/token", "Give --token or set SMARTCUSTOMS_TOKEN.")])
            summary["status_codes"] = dict(
                sorted(_submit(submit, tok, decls, seed=seed, concurrency=max(1, concurrency), quiet=json_output).items())
            )
    emit(summary, json_output, lambda: _simulated(summary, out))


def _simulated(summary: dict[str, Any], out: Path | None) -> None:
    share = summary["fraudulent"] / max(summary["declarations"], 1)
    console.print(
        f"{summary['declarations']} declarations, {summary['fraudulent']} with fraud ({100 * share:.1f} %): "
        + ", ".join(f"{p} {n}" for p, n in summary["patterns"].items())
    )
    if out is not None:
        console.print(f"{summary['rows']} history rows written to {out}")
    else:
        console.print("lodged: " + ", ".join(f"{code} × {n}" for code, n in summary["status_codes"].items()))


if __name__ == "__main__":  # pragma: no cover
    typer.run(simulate)
