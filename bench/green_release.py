"""Green lane released in the lodging request, against a lodging that stops before release, over HTTP.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.green_release [--db sqlite|postgresql|both]
        [--clients 8] [--seconds 15] [--rounds 2] [--rate 0] [--json]

Issue 11's target: "green lane lodge → released in one request: at least 0.8 of today's lodging
throughput in the same run". Both phases lodge the canonical import declaration through the same
route, by the same declarant, through the whole clearance path (validation, assessment, the lane,
duty assessment, the release conditions); they differ only in the importer:

- `held`: an importer without a guarantee. The duties are unpaid, so the duty condition does not
  hold and the declaration waits for payment: the lodging as it was before release existed, plus
  the conditions' check.
- `released`: an importer with a guarantee that covers the duties. The duties are secured against
  it (a conditional debit) and the release is issued (number, Ed25519-signed token, journal,
  outbox) in the same request: the 202 answer says `released`.

The bench checks that it measured what it says: at the end it counts the stored declarations by
importer and status; none of the unguaranteed importer's may be released, and at least 80 % of the
other's must be (the rest went to review or inspection: the lanes follow the office's targets).

The server, the load generator and the per-phase figures are bench/lodging's (bench/server.py, bench/load.py,
bench/measure.py: one uvicorn process, keep-alive clients; closed loop by default, open loop with `--rate`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench.common import DEFAULT_PG_URL, loadavg, machine
from bench.load import LODGE_PATH, Load, run_loop
from bench.measure import summarize
from bench.server import EXAMPLE, IMPORTER, fresh_database, grant_mandate, serve

SECOND_IMPORTER = "91110108MA01C0MG3T"  # no guarantee: its duties must be paid before release
TARGET_RATIO = 0.8
KINDS = ("held", "released")


def _prepare_clearance(url: str, workdir: Any) -> None:
    """On top of bench/lodging's preparation: the SAMPLE tariff, a guarantee for the example's importer,
    and a second importer (with the declarant's mandate) without one."""
    from smartcustoms.audit.service import Actor
    from smartcustoms.config import Settings
    from smartcustoms.duty import payments
    from smartcustoms.kit.clock import utcnow
    from smartcustoms.party import service as party_service
    from smartcustoms.party.models import CreditRating
    from smartcustoms.party.schemas import EnterpriseCreate
    from smartcustoms.runtime import Runtime
    from smartcustoms.tariff import service as tariff_service

    operator = Actor(id=None, name="bench-operator", role="admin")
    now = utcnow()
    rt = Runtime(Settings(database_url=url, storage_dir=workdir / "files"))
    try:
        with rt.write() as s:
            tariff_service.load_sample(s, actor=operator, now=now)
            party_service.add(
                s,
                data=EnterpriseCreate(uscc=SECOND_IMPORTER, name="Beijing Second Importer Co., Ltd.", credit=CreditRating.general),
                actor=operator,
                now=now,
            )
            grant_mandate(s, importer=SECOND_IMPORTER, actor=operator, now=now)
            payments.add_guarantee(s, uscc=IMPORTER, amount="9999999999.00", expires=None, actor=operator, now=now)
    finally:
        rt.stop()


def _maker(importer: str, run_id: str) -> Any:
    doc = json.loads(EXAMPLE.read_text())
    doc["client_reference"] = "@@REF@@"
    doc["importer"]["uscc"] = importer
    head, tail = json.dumps(doc, separators=(",", ":")).encode().split(b"@@REF@@")
    return lambda n: head + b"GREEN-%s-%09d" % (run_id.encode(), n) + tail


class ClearanceLoad(Load):
    """bench/load's generator (bench/lodging's) with two lodging phases instead of bare and lodge."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bodies = {"held": _maker(SECOND_IMPORTER, self.run_id), "released": _maker(IMPORTER, self.run_id)}
        self.paths = {k: LODGE_PATH for k in KINDS}
        self.expected = {k: 202 for k in KINDS}
        self.headers = {k: {"Content-Type": "application/json", "Authorization": f"Bearer {self.prepared.token}"} for k in KINDS}
        self.kinds = KINDS

    def statuses_by_importer(self) -> dict[str, dict[str, int]]:
        """Declarations by importer and status, as stored (what the phases really did)."""
        with self.db_engine.connect() as c:
            rows = c.execute(text("SELECT trader_uscc, status, count(*) FROM declaration GROUP BY trader_uscc, status")).all()
        out: dict[str, dict[str, int]] = {}
        for uscc, status, n in rows:
            out.setdefault(str(uscc), {})[str(status)] = int(n)
        return out


def bench_one(db: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    with fresh_database(db, args.pg_url) as prepared:
        _prepare_clearance(prepared.url, prepared.workdir)
        with serve(prepared) as server:
            load = ClearanceLoad(server, prepared, clients=args.clients, console=console, rate=args.rate)
            try:
                phases = run_loop(load.run(rounds=args.rounds, seconds=args.seconds, warmup=args.warmup))
                statuses = load.statuses_by_importer()
            finally:
                load.close()
    held = summarize([p for p in phases if p.kind == "held"])
    released = summarize([p for p in phases if p.kind == "released"])
    ratio = released["throughput_rps"] / held["throughput_rps"] if held["throughput_rps"] else 0.0
    second, first = statuses.get(SECOND_IMPORTER, {}), statuses.get(IMPORTER, {})
    # The lanes follow the office's targets, so about one declaration in ten of each importer goes
    # to review or inspection instead; the held importer's are never released, the other's are.
    checked = "released" not in second and first.get("released", 0) >= 0.8 * sum(first.values())
    return {
        "db": db,
        "loadavg_end": loadavg(),
        "held": held,
        "released": released,
        "ratio": round(ratio, 3),
        "statuses": {"held": second, "released": first},
        "outcomes_as_expected": checked,
        "target": {"ratio_min": TARGET_RATIO, "met": ratio >= TARGET_RATIO and checked},
    }


def render(results: list[dict[str, Any]], meta: dict[str, Any], console: Console) -> None:
    mode = f"open loop at {meta['rate']:g} req/s" if meta["rate"] else f"closed loop, {meta['clients']} clients"
    table = Table(title=f"Green lane lodge → released over HTTP — {mode}, {meta['rounds']}x{meta['seconds']:g} s per phase")
    for col in ("db", "phase", "req/s", "p50 ms", "p99 ms", "srv mean ms", "errors", "statuses"):
        table.add_column(col, justify="right" if col not in ("db", "phase", "statuses") else "left")
    for r in results:
        for kind in KINDS:
            s = r[kind]
            table.add_row(
                r["db"],
                kind,
                f"{s['throughput_rps']:.1f}",
                f"{s['p50_ms']:.1f}",
                f"{s['p99_ms']:.1f}",
                f"{s['server_mean_ms'] or 0:.1f}",
                str(s["errors"]),
                ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"][kind].items())),
            )
    console.print(table)
    for r in results:
        verdict = "[green]met[/]" if r["target"]["met"] else "[red]not met[/]"
        console.print(f"{r['db']}: released / held throughput = {r['ratio']:.3f} (target ≥ {TARGET_RATIO}) {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients (default 8)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured phase (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="held+released rounds, alternated (default 2)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured warm-up per phase (default 3 s)")
    parser.add_argument("--rate", type=float, default=0.0, help="open loop at this many requests/s (default: closed loop)")
    parser.add_argument("--pg-url", default=os.environ.get("SMARTCUSTOMS_BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout (progress goes to stderr)")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    meta = {"clients": args.clients, "rate": args.rate, "rounds": args.rounds, "seconds": args.seconds, "run": secrets.token_hex(3)}
    results = [bench_one(db, args, console) for db in dbs]
    meta["machine"] = machine(args.pg_url if "postgresql" in dbs else None)
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    else:
        render(results, meta, console)
    return 0 if all(r["target"]["met"] for r in results) else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
