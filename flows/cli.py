"""The `cumplido` command. Prefect is imported only once a command needs it, after the
environment (PREFECT_HOME, logging level) is settled."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

FLOWS = {
    "fulfil-orders": ("flows.fulfil_orders", "fulfil_orders"),
    "notify-storefronts": ("flows.notify_storefronts", "notify_storefronts"),
    "track-shipments": ("flows.track_shipments", "track_shipments"),
    "process-returns": ("flows.process_returns", "process_returns"),
    "refresh-metrics": ("flows.refresh_metrics", "refresh_metrics"),
}
FLOOR_FLOWS = ("fulfil-orders", "notify-storefronts")  # partitioned by warehouse too (docs/scale-out.md)


def _iso(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date-time like 2026-11-26T10:05") from None


def cmd_demo(args: argparse.Namespace) -> int:
    Path("var").mkdir(exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(Path("var/prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not args.verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.demo import DemoPlan, kpi_table, run_demo

    plan = DemoPlan(days=args.days, orders_per_day=args.orders_per_day, seed=args.seed)
    summary = run_demo(plan)
    from tasks.resources import resources

    print("\nCumplido demo — KPIs over the simulated window\n")
    print(kpi_table(summary))
    url = resources().settings.database_url
    print(f"""
Where to look next
  warehouse   {url}
              sqlite3 {url.removeprefix('sqlite:///')} 'select * from mart_fulfillment_daily limit 10'
              tables: orders, order_lines, order_payloads, payments, stock, reservations, waves, pick_lines,
              shipments, tracking_events, returns, refunds, notifications, quarantine, fulfillment_events,
              fct_order_fulfillment, mart_fulfillment_daily
  Prefect UI  PREFECT_HOME={os.environ['PREFECT_HOME']} .venv/bin/prefect server start
              then open http://127.0.0.1:4200 (flow runs, artifacts fulfil-orders-summary, fulfillment-kpis)""")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from tasks.resources import resources
    from warehouse.db import current_revision, describe, upgrade

    res = resources()
    url = res.settings.database_url
    if args.action == "upgrade":
        upgrade(url)
    print(f"warehouse {describe(res.engine)} at revision {current_revision(url) or '(empty)'}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import importlib

    if args.warehouse and args.flow not in FLOOR_FLOWS:
        print(f"cumplido: --warehouse applies to {' and '.join(FLOOR_FLOWS)} only, not {args.flow}", file=sys.stderr)
        return 2
    from tasks.resources import resources
    from warehouse.db import check_connection, check_migrated

    engine = resources().engine  # fail in a second, before any Prefect machinery starts
    check_connection(engine)
    check_migrated(engine)
    module, name = FLOWS[args.flow]
    flow = getattr(importlib.import_module(module), name)
    kwargs = {"as_of": args.as_of}
    if args.channel:
        kwargs["channels"] = args.channel
    if args.warehouse:
        kwargs["warehouses"] = args.warehouse
    print(flow(**kwargs))
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from flows.backfill import backfill

    print(backfill(since=args.since, until=args.until, channels=args.channel))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from flows.sandbox_server import serve_forever

    return serve_forever(seed=args.seed, orders_per_day=args.orders_per_day, speed=args.speed)


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.main import run_many

    return run_many(sizes=args.orders or [1_000, 10_000, 100_000], dbs=args.db or ["sqlite"], seed=args.seed,
                    postgres_url=args.postgres_url, workdir=Path(args.workdir), out_dir=Path(args.out),
                    workers=args.workers)


def cmd_channels(args: argparse.Namespace) -> int:
    from tasks.resources import resources

    res, failed = resources(), 0
    checks: list[tuple[str, Callable[[], str]]] = [(c.id, lambda c=c: res.storefront(c.id).check())
                                                   for c in res.world.channels]
    checks += [("payments", lambda: res.payment_gateway.check()), ("carrier", lambda: res.carrier.check())]
    for label, check in checks:
        try:
            print(f"  ok    {label:<16} {check()}")
        except Exception as exc:  # every failure is reported, the other checks still run
            failed += 1
            print(f"  FAIL  {label:<16} {exc}")
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="cumplido", description="E-commerce fulfillment as Prefect flows. "
                                  "Settings come from CUMPLIDO_* environment variables (see README).")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the simulated shop through every flow (SQLite under ./var)",
                          description="Start the local Shopify/Stripe/ShipEngine simulators, run the flows over "
                          "simulated days against the SQLite warehouse and print the KPIs. Re-running replays "
                          "the same window and adds nothing twice.")
    demo.add_argument("--days", type=int, default=10, help="simulated days (default 10)")
    demo.add_argument("--orders-per-day", type=float, default=40.0, help="orders per channel per day (default 40)")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the simulated shop (default 7)")
    demo.add_argument("--verbose", action="store_true", help="show Prefect's own INFO logs")
    demo.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="create or upgrade the warehouse schema (Alembic)",
                        description="Apply migrations to CUMPLIDO_DATABASE_URL, or show its revision.")
    db.add_argument("action", choices=["upgrade", "current"], help="upgrade to the latest revision, or show it")
    db.set_defaults(func=cmd_db)

    run = sub.add_parser("run", help="run one flow once, now (what a deployment does on schedule)",
                         description="Run a flow in this process against the configured warehouse and vendors: "
                         "fulfil-orders (pull, verify payments, reserve, wave, book labels, then tell the stores for "
                         "up to CUMPLIDO_PUSH_BUDGET_SECONDS), notify-storefronts (tell the stores about the labels "
                         "fulfil-orders left untold, for up to CUMPLIDO_PUSH_DRAIN_BUDGET_SECONDS), track-shipments, "
                         "process-returns, refresh-metrics.")
    run.add_argument("flow", choices=sorted(FLOWS), help="which flow")
    run.add_argument("--as-of", type=_iso, default=None, help="the flow's notion of now (ISO, UTC)")
    run.add_argument("--channel", action="append", help="limit to this channel (repeatable)")
    run.add_argument("--warehouse", action="append",
                     help="fulfil-orders and notify-storefronts only: limit waves, labels and pushes to orders "
                          "allocated to this warehouse (repeatable); such a fulfil-orders run does not pull or "
                          "reserve (docs/scale-out.md)")
    run.set_defaults(func=cmd_run)

    backfill = sub.add_parser("backfill", help="re-pull a past window of orders (cursors untouched)",
                              description="Re-read orders updated in [--since, --until) from the channels, e.g. "
                              "after a storefront outage. Already-known orders are left as they are.")
    backfill.add_argument("--since", type=_iso, required=True, help="window start (ISO, UTC)")
    backfill.add_argument("--until", type=_iso, required=True, help="window end, exclusive (ISO, UTC)")
    backfill.add_argument("--channel", action="append", help="limit to this channel (repeatable)")
    backfill.set_defaults(func=cmd_backfill)

    sandbox = sub.add_parser("sandbox", help="serve the vendor simulators on 127.0.0.1 until stopped",
                             description="Serve the Shopify, Stripe and ShipEngine simulators, printing the "
                             "CUMPLIDO_SANDBOX_* settings that point Cumplido (and its deployments) at them.")
    sandbox.add_argument("action", choices=["serve"])
    sandbox.add_argument("--seed", type=int, default=7)
    sandbox.add_argument("--orders-per-day", type=float, default=200.0)
    sandbox.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (default 1: real time)")
    sandbox.set_defaults(func=cmd_sandbox)

    bench = sub.add_parser(
        "bench", help="measure throughput, memory and orchestration overhead against baselines",
        description="Generate a reproducible peak-day scenario, serve it from the simulators in their own process, "
        "run the real flows against a running `prefect server` and a fresh warehouse, measure the baselines on the "
        "same orders, check nothing was oversold, doubled or lost, and write bench/results/<date>-<db>-<N>.json "
        "and .md. PostgreSQL runs use a schema of their own (cumplido_bench) that is dropped first.")
    bench.add_argument("--orders", type=int, action="append", metavar="N",
                       help="orders on the peak day (repeatable; default 1000, 10000 and 100000)")
    bench.add_argument("--db", choices=["sqlite", "postgres"], action="append",
                       help="warehouse database (repeatable; default sqlite)")
    bench.add_argument("--workers", type=int, action="append", metavar="K",
                       help="also measure scale-out with K process workers on one pool (PostgreSQL; repeatable, "
                       "e.g. --workers 1 --workers 2)")
    bench.add_argument("--seed", type=int, default=7, help="scenario seed (default 7)")
    bench.add_argument("--postgres-url", default=os.environ.get("CUMPLIDO_BENCH_POSTGRES_URL",
                                                                "postgresql://postgres@127.0.0.1:5432/test"),
                       help="PostgreSQL server for --db postgres (default $CUMPLIDO_BENCH_POSTGRES_URL or "
                       "postgresql://postgres@127.0.0.1:5432/test)")
    bench.add_argument("--out", default="bench/results", help="where results go (default bench/results)")
    bench.add_argument("--workdir", default="var/bench", help="scratch: SQLite files, Prefect home (default var/bench)")
    bench.set_defaults(func=cmd_bench)

    channels = sub.add_parser("channels", help="check every store, the payment gateway and the carrier",
                              description="Reach each configured API with its credentials and say what is wrong.")
    channels.add_argument("action", choices=["check"])
    channels.set_defaults(func=cmd_channels)
    return top


EPHEMERAL_STARTUP = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Without PREFECT_API_URL, flows start Prefect's local API server in this process; its first
    # start migrates its database, which takes more than Prefect's 20 s on a busy machine.
    os.environ.setdefault(EPHEMERAL_STARTUP, "120")
    from config.settings import SettingsError
    from config.world import WorldError
    from connectors.errors import ConnectorError

    known: tuple[type[BaseException], ...] = (SettingsError, WorldError, ConnectorError)
    try:
        from warehouse.db import WarehouseUnavailable
        known += (WarehouseUnavailable,)
    except ImportError:
        pass
    try:
        return args.func(args)
    except known as exc:
        print(f"cumplido: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from flows.stages import StagesFailed  # prefect is loaded by now

        if isinstance(exc, StagesFailed):
            print(f"cumplido: some stages failed (the others ran): {exc}", file=sys.stderr)
            return 1
        if "ephemeral Prefect API server" in str(exc):
            print(f"cumplido: Prefect's local API server did not start within {os.environ[EPHEMERAL_STARTUP]} s "
                  f"(a busy machine?). Set {EPHEMERAL_STARTUP} higher, or run `prefect server start` and point "
                  "PREFECT_API_URL at it (http://127.0.0.1:4200/api).", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
