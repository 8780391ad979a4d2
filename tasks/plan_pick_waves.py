"""Shipping: batch reserved orders into pick waves in walking order."""
from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NONE

from domain.waves import plan_pick_waves as plan
from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit, publish_table
from tasks.resources import resources
from warehouse.waves import claim_reserved_picks, save_waves


@task(task_run_name="plan-pick-waves", cache_policy=NONE, **TRANSIENT_RETRIES)
def plan_pick_waves(as_of: datetime, channels: list[str] | None = None,
                    warehouses: list[str] | None = None) -> dict[str, int]:
    """Reserved orders of `channels` allocated to `warehouses` (None = all)."""
    res = resources()
    with res.engine.begin() as conn:  # claim and write in one transaction: no order waved twice
        picks = claim_reserved_picks(conn, channels=channels, warehouses=warehouses)
        planned = plan(picks, warehouses=res.world.warehouses, rules=res.world.waves, now=as_of)
        waved = save_waves(conn, planned, at=as_of, flow_run_id=current_flow_run_id())
    waves = planned.waves
    if not waves.empty:
        publish_table("pick-waves", waves[["wave_id", "warehouse_id", "cutoff_at", "order_count", "line_count",
                                           "travel_distance"]].astype(str).to_dict("records"),
                      description=f"{len(waves)} pick waves released at {as_of:%Y-%m-%d %H:%M} UTC")
        for warehouse_id, group in waves.groupby("warehouse_id"):  # one event per warehouse, not per wave
            emit("cumplido.wave.released", resource=f"cumplido.warehouse.{warehouse_id}",
                 payload={"waves": len(group), "orders": int(group["order_count"].sum()),
                          "lines": int(group["line_count"].sum())})
    return {"waves": len(waves), "orders_waved": waved, "pick_lines": len(planned.pick_lines)}
