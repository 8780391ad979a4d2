"""Shipping: batch reserved orders into pick waves in walking order, a warehouse at a time.

Each warehouse's reserved orders are claimed, planned and written in a transaction of their own,
PLANNERS warehouses at once: one's waves are planned in this process while another's are written
by the database (a warehouse's waves never touch another's orders)."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE

from domain.waves import PlannedWaves, plan_pick_waves as plan
from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit, in_threads, publish_table
from tasks.resources import resources
from warehouse.waves import claim_reserved_picks, save_waves, warehouses_to_wave

PLANNERS = 2   # warehouses in flight: one planned here while the database writes another's


def wave_warehouse(warehouse: str, *, channels: list[str] | None, as_of: datetime) -> tuple[PlannedWaves, int]:
    """Claim, plan and write one warehouse's waves in one transaction: no order waved twice."""
    res = resources()
    with res.engine.begin() as conn:
        picks = claim_reserved_picks(conn, channels=channels, warehouses=[warehouse])
        planned = plan(picks, warehouses=res.world.warehouses, rules=res.world.waves, now=as_of)
        return planned, save_waves(conn, planned, at=as_of, flow_run_id=current_flow_run_id())


@task(task_run_name="plan-pick-waves", cache_policy=NONE, **TRANSIENT_RETRIES)
def plan_pick_waves(as_of: datetime, channels: list[str] | None = None,
                    warehouses: list[str] | None = None) -> dict[str, int]:
    """Reserved orders of `channels` allocated to `warehouses` (None = all). A warehouse that
    fails is raised once the others have committed; the next run waves what it left."""
    res = resources()
    with res.engine.connect() as conn:
        waiting = warehouses_to_wave(conn, channels=channels, warehouses=warehouses)
    done = in_threads(lambda warehouse: wave_warehouse(warehouse, channels=channels, as_of=as_of), waiting,
                      at_once=PLANNERS, name="waves")
    waves = pd.concat([planned.waves for planned, _ in done]) if done else pd.DataFrame()
    if not waves.empty:
        publish_table("pick-waves", waves[["wave_id", "warehouse_id", "cutoff_at", "order_count", "line_count",
                                           "travel_distance"]].astype(str).to_dict("records"),
                      description=f"{len(waves)} pick waves released at {as_of:%Y-%m-%d %H:%M} UTC")
        for warehouse_id, group in waves.groupby("warehouse_id"):  # one event per warehouse, not per wave
            emit("cumplido.wave.released", resource=f"cumplido.warehouse.{warehouse_id}",
                 payload={"waves": len(group), "orders": int(group["order_count"].sum()),
                          "lines": int(group["line_count"].sum())})
    return {"waves": len(waves), "orders_waved": sum(waved for _, waved in done),
            "pick_lines": sum(len(planned.pick_lines) for planned, _ in done)}
