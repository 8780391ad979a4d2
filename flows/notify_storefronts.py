"""notify_storefronts: tell the stores about the labels fulfil-orders had no time to push.

Telling a store an order shipped is a notification no later stage reads, and the store's API
budget sets its pace (Shopify's cost bucket: ~100 fulfilments/s on Plus), so a peak day's pushes
take minutes that fulfil-orders cannot spend. fulfil-orders pushes within `push_budget_seconds`;
this flow, every minute, drains the rest within `push_drain_budget_seconds`.

It drains in rounds of `push_budget_seconds`, each holding the per-cell locks fulfil-orders holds
around booking and pushing, released between rounds: the two never push one cell at once, and a
fulfil-orders run that wants a cell waits for one round at most, never for the whole drain."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from domain.partitions import cell_lock_key
from flows.fulfil_orders import checked_partition, listed, partition_run_name, world_names
from flows.stages import finish, outcome
from tasks.prepare_warehouse import prepare_warehouse
from tasks.push_fulfillments import Budget, push_fulfillments
from tasks.resources import resources, utc_now
from warehouse.orders import holding_cells


@flow(name="notify-storefronts", flow_run_name=partition_run_name("notify-storefronts"))
def notify_storefronts(as_of: datetime | None = None, channels: list[str] | None = None,
                       warehouses: list[str] | None = None) -> dict:
    """Push the bought labels not yet told to their stores, over `channels` × `warehouses` (None
    or [] = every one; the floor partition of fulfil_orders), until none is left, a round pushes
    nothing, a store fails, or `push_drain_budget_seconds` are spent. The summary counts what
    was pushed, refused (parked on the shipment) and left for the next run."""
    as_of = as_of or utc_now()
    res = resources()
    known = world_names(res.world)
    part = checked_partition(channels, warehouses, known)
    floor = {"channels": listed(part.channels), "warehouses": listed(part.warehouses)}
    prepare_warehouse(as_of)
    cells = [cell_lock_key(*cell) for cell in part.cells(**known)]
    drain, round_seconds = Budget(res.settings.push_drain_budget_seconds), res.settings.push_budget_seconds
    totals, results, failures = {"pushed": 0, "rejected": 0, "left": 0, "rounds": 0}, {}, []
    while True:
        with holding_cells(res.engine, cells):  # released between rounds: fulfil-orders may take a cell
            state = push_fulfillments(as_of, **floor, budget_seconds=min(round_seconds, drain.remaining()),
                                      return_state=True)
        totals["rounds"] += 1
        if not state.is_completed():
            outcome(push_fulfillments.name, state, results, failures)
            break
        counts = state.result()
        # A store's refusals sort first among what is left, so each round sends them again:
        # the last round's count is the run's.
        totals.update(pushed=totals["pushed"] + counts["pushed"], rejected=counts["rejected"], left=counts["left"])
        if not counts["left"] or not counts["pushed"] or drain.spent():
            break
    results[push_fulfillments.name] = totals
    return finish("notify-storefronts-summary", results, failures, as_of=as_of)
