"""fulfil_orders: pull → verify payments → reserve stock → plan pick waves → book carriers."""
from __future__ import annotations

from datetime import datetime

from prefect import flow, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from flows.stages import finish, outcome, run_name
from tasks.book_carriers import book_carriers
from tasks.plan_pick_waves import plan_pick_waves
from tasks.prepare_warehouse import prepare_warehouse
from tasks.pull_orders import pull_orders
from tasks.push_fulfillments import push_fulfillments
from tasks.reserve_stock import reserve_stock
from tasks.resources import resources, utc_now
from tasks.verify_payments import verify_payments


@flow(name="fulfil-orders", flow_run_name=run_name("fulfil-orders"), task_runner=ThreadPoolTaskRunner(max_workers=4))
def fulfil_orders(as_of: datetime | None = None, channels: list[str] | None = None) -> dict:
    """One fulfilment cycle over the selected channels (default: all in the world file).
    Stages read their work by state, so a failed stage is simply picked up by the next run."""
    as_of = as_of or utc_now()
    prepare_warehouse(as_of)
    results, failures = {}, []
    selected = channels or [c.id for c in resources().world.channels]
    for channel, state in zip(selected, pull_orders.map(selected, as_of=unmapped(as_of), return_state=True)):
        outcome(f"pull_orders[{channel}]", state, results, failures)
    for stage in (verify_payments, reserve_stock, plan_pick_waves, book_carriers, push_fulfillments):
        outcome(stage.name, stage(as_of, return_state=True), results, failures)
    return finish("fulfil-orders-summary", results, failures, as_of=as_of)
