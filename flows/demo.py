"""`cumplido demo`: the simulated shop through every flow over simulated days, on SQLite."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

DEMO_START = datetime(2026, 11, 2, 6, 0)  # a fixed window: re-running the demo replays the same days


@dataclass(frozen=True)
class DemoPlan:
    days: int = 10
    orders_per_day: float = 40.0
    seed: int = 7
    cycle_hours: int = 6          # fulfil-orders runs every cycle
    track_every: int = 2          # track-shipments every N cycles
    returns_every: int = 4        # process-returns every N cycles

    def cycles(self) -> list[datetime]:
        steps = self.days * 24 // self.cycle_hours
        return [DEMO_START + timedelta(hours=self.cycle_hours * (i + 1)) for i in range(steps)]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare(plan: DemoPlan) -> int:
    """Migrate the warehouse and load the demo shop's opening stock (missing rows only);
    returns how many orders the warehouse already holds."""
    from config.world import load_world
    from connectors.sandbox.catalog import demo_stock
    from tasks.resources import resources
    from sqlalchemy import func, select

    from warehouse.db import upgrade
    from warehouse.schema import orders
    from warehouse.reference import sync_world
    from warehouse.stock import seed_stock

    res = resources()
    upgrade(res.settings.database_url)
    world = load_world(res.settings.world_file)
    with res.engine.begin() as conn:
        sync_world(conn, world, now=DEMO_START)
        seed_stock(conn, demo_stock(world))
        return conn.execute(select(func.count()).select_from(orders)).scalar_one()


def run_cycles(plan: DemoPlan, sandbox) -> None:
    from flows.fulfil_orders import fulfil_orders
    from flows.process_returns import process_returns
    from flows.track_shipments import track_shipments

    started = time.monotonic()
    cycles = plan.cycles()
    for i, as_of in enumerate(cycles, start=1):
        sandbox.clock.set(as_of)
        fulfil_orders(as_of=as_of)
        if i % plan.track_every == 0:
            track_shipments(as_of=as_of)
        if i % plan.returns_every == 0:
            process_returns(as_of=as_of)
        if i % (24 // plan.cycle_hours) == 0:
            _say(f"  simulated day {i * plan.cycle_hours // 24}/{plan.days} done "
                 f"({as_of:%a %d %b}, {time.monotonic() - started:.0f}s elapsed)")


def run_demo(plan: DemoPlan) -> dict:
    from config.world import load_world
    from connectors.sandbox.world import running_sandbox
    from flows.refresh_metrics import refresh_metrics
    from tasks.resources import reset_resources, resources

    if known := prepare(plan):
        _say(f"the warehouse already holds {known} orders of this window: replaying it "
             "(idempotent: nothing is added twice; `make clean` starts afresh)")
    world = load_world(resources().settings.world_file)
    with running_sandbox(world, start=DEMO_START, seed=plan.seed, orders_per_day=plan.orders_per_day) as sandbox:
        os.environ.update(sandbox.env)
        reset_resources()
        _say(f"simulators ({', '.join(sandbox.simulators)}) listening on 127.0.0.1; simulating {plan.days} "
             f"days from {DEMO_START:%Y-%m-%d} ({len(plan.cycles())} fulfilment cycles)")
        run_cycles(plan, sandbox)
        end = plan.cycles()[-1]
        return refresh_metrics(as_of=end)["refresh_metrics"]


def kpi_table(summary: dict) -> str:
    def fmt(value, suffix=""):
        if value is None:
            return "-"
        return f"{value:,.1f}{suffix}" if isinstance(value, float) else f"{value:,}{suffix}"

    rows = [
        ("orders", fmt(summary.get("orders"))), ("shipped", fmt(summary.get("shipped"))),
        ("delivered", fmt(summary.get("delivered"))), ("on-time %", fmt(summary.get("on_time_pct"), " %")),
        ("order cycle time p50", fmt(summary.get("cycle_p50_hours"), " h")),
        ("order cycle time p90", fmt(summary.get("cycle_p90_hours"), " h")),
        ("on hold", fmt(summary.get("on_hold"))), ("backordered", fmt(summary.get("backordered"))),
        ("returns", fmt(summary.get("returns"))), ("refunds", fmt(summary.get("refunds"))),
        ("refunded", fmt(summary.get("refunded_amount"), " USD")),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v:>14}" for k, v in rows)
