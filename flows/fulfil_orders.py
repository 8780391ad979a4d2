"""fulfil_orders: pull → verify payments (each channel's as its pull ends) → reserve stock → plan pick
waves → book carriers, with the storefront pushes alongside (each chunk's labels told as it
commits) for `push_budget_seconds`; notify_storefronts pushes the rest."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from prefect import flow
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from config.world import World
from domain.partitions import Partition, cell_lock_key
from flows.stages import finish, outcome
from tasks.book_carriers import book_carriers
from tasks.collector import startup_objects_frozen
from tasks.plan_pick_waves import plan_pick_waves
from tasks.prepare_warehouse import prepare_warehouse
from tasks.pull_orders import pull_orders
from tasks.push_fulfillments import push_fulfillments
from tasks.reserve_stock import reserve_stock
from tasks.resources import resources, utc_now
from tasks.verify_payments import verify_payments
from warehouse.orders import holding_cells


def partition_run_name(flow_label: str) -> Callable[[], str]:
    """A flow_run_name callable naming the partition: 'fulfil-orders 2026-11-26T10:05 shopify-main',
    '… all-channels@EWR'."""

    def name() -> str:
        from prefect.runtime import flow_run

        params = flow_run.parameters or {}
        as_of = params.get("as_of") or utc_now()
        if isinstance(as_of, str):
            as_of = datetime.fromisoformat(as_of)
        partition = Partition.of(params.get("channels"), params.get("warehouses"))
        return f"{flow_label} {as_of:%Y-%m-%dT%H:%M} {partition.label}"

    return name


run_name = partition_run_name("fulfil-orders")


def world_names(world: World) -> dict[str, list[str]]:
    return {"channels": [c.id for c in world.channels], "warehouses": [w.id for w in world.warehouses]}


def checked_partition(channels: list[str] | None, warehouses: list[str] | None, known: dict) -> Partition:
    """The run's partition; a name the world file does not define fails the run before any work."""
    partition = Partition.of(channels, warehouses)
    if unknown := partition.unknown(**known):
        raise ValueError(f"unknown {', '.join(unknown)}; the world file defines channels "
                         f"{', '.join(known['channels'])} and warehouses {', '.join(known['warehouses'])}")
    return partition


def listed(names: tuple[str, ...] | None) -> list[str] | None:
    return list(names) if names else None


@flow(name="fulfil-orders", flow_run_name=run_name, task_runner=ThreadPoolTaskRunner(max_workers=4))
def fulfil_orders(as_of: datetime | None = None, channels: list[str] | None = None,
                  warehouses: list[str] | None = None) -> dict:
    """One fulfilment cycle over a partition: `channels` × `warehouses` (None or [] = every one).

    Partition rule (docs/scale-out.md): an order has no warehouse until reservation gives it
    the nearest one that ships it complete. So intake (pull, verify payments, reserve stock)
    is partitioned by channel only and runs only when `warehouses` is None: a warehouse
    partition never reserves, so it neither spends another warehouse's stock nor takes an
    order another warehouse would serve better. The floor (pick waves, labels, storefront
    pushes) is partitioned by channel and warehouse; the labels and pushes of one
    (channel, warehouse) cell are done by one run at a time. Stages read their work by state,
    so a failed stage, or one a concurrent run is doing, is picked up by the next run.

    Storefront pushes run alongside booking, telling each chunk's labels as it commits, for
    `push_budget_seconds` (setting), then once more, briefly, when booking ends: an ordinary
    cycle's pushes fit well inside it, a peak's do not (the stores' API budgets set their
    pace). The summary's `left` counts the fulfilments left to notify-storefronts."""
    as_of = as_of or utc_now()
    known = world_names(resources().world)
    part = checked_partition(channels, warehouses, known)
    floor = {"channels": listed(part.channels), "warehouses": listed(part.warehouses)}
    prepare_warehouse(as_of)
    with startup_objects_frozen():
        results, failures = stages(as_of, part, floor, known)
    return finish("fulfil-orders-summary", results, failures, as_of=as_of)


def intake(as_of: datetime, channels: list[str], results: dict, failures: list) -> None:
    """Pull every channel at once; a channel's payments are verified as soon as its pull ends
    (whether it failed or not: orders stored by earlier runs still wait), while the other
    channels are still pulling. Reservation, over every channel, waits for all of them."""
    pulls = {pull_orders.submit(channel, as_of): channel for channel in channels}
    verifying = {}
    for pulled in as_completed(list(pulls)):
        channel = pulls[pulled]
        pulled.wait()   # done; wait() is what gives the future its final state
        outcome(f"pull_orders[{channel}]", pulled.state, results, failures)
        verifying[channel] = verify_payments.submit(as_of, channels=[channel])
    for channel, verified in verifying.items():
        verified.wait()
        outcome(f"verify_payments[{channel}]", verified.state, results, failures)


def stages(as_of: datetime, part: Partition, floor: dict, known: dict) -> tuple[dict, list]:
    """The stages of one cycle, each outcome recorded; returns (results, failures)."""
    results, failures = {}, []
    if part.runs_intake:
        intake(as_of, floor["channels"] or known["channels"], results, failures)
        outcome(reserve_stock.name, reserve_stock(as_of, channels=floor["channels"], return_state=True),
                results, failures)
    else:
        results["intake"] = {"skipped": "a warehouse partition; runs over every warehouse pull and reserve"}
    outcome(plan_pick_waves.name, plan_pick_waves(as_of, **floor, return_state=True), results, failures)
    cells = [cell_lock_key(*cell) for cell in part.cells(**known)]
    budget = resources().settings.push_budget_seconds
    with holding_cells(resources().engine, cells):  # one run at a time books a (channel, warehouse)
        booked = threading.Event()   # the pushes tell each chunk's labels while the next chunks are booked
        pushing = push_fulfillments.submit(as_of, **floor, budget_seconds=budget, alongside=booked)
        try:
            outcome(book_carriers.name, book_carriers(as_of, **floor, return_state=True), results, failures)
        finally:
            booked.set()
        pushing.wait()
        outcome(push_fulfillments.name, pushing.state, results, failures)
    return results, failures
