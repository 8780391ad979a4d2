"""Storage: reserve stock for verified orders (never oversold), backorder the shortfall."""
from __future__ import annotations

from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NONE

from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit
from tasks.resources import resources
from warehouse.db import refresh_statistics
from warehouse.stock import release_expired, reserve_orders


@task(task_run_name="reserve-stock", cache_policy=NONE, **TRANSIENT_RETRIES)
def reserve_stock(as_of: datetime, channels: list[str] | None = None) -> dict[str, int]:
    """Orders of `channels` (None = all), each in the best of EVERY warehouse: reservation is
    what chooses the warehouse, so it is never partitioned by warehouse (domain.partitions)."""
    res = resources()
    with res.engine.begin() as conn:
        released = release_expired(conn, now=as_of, channels=channels, flow_run_id=current_flow_run_id())
    with res.engine.begin() as conn:  # one transaction: claim, lock stock, allocate, write once
        allocation = reserve_orders(conn, warehouses=res.world.warehouses, channels=channels, now=as_of,
                                    ttl=timedelta(hours=res.settings.reservation_ttl_hours),
                                    flow_run_id=current_flow_run_id())
    # the floor's stages look these reservations up by order: the planner must know they exist
    refresh_statistics(res.engine, {"reservations": len(allocation.reservations), "orders": len(allocation.outcomes)})
    outcomes = allocation.outcomes["status"].value_counts().to_dict()
    counts = {"released_expired": released, "reserved": outcomes.get("reserved", 0),
              "backordered": outcomes.get("backordered", 0), "lines_reserved": len(allocation.reservations)}
    if counts["backordered"]:
        short = allocation.backorders.groupby("sku")["quantity_short"].sum().nlargest(20).to_dict()
        emit("cumplido.stock.shortfall", resource="cumplido.stock", payload={"orders": counts["backordered"],
                                                                              "short_by_sku": short})
    return counts
