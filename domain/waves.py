"""Shipping: batch reserved orders into pick waves and sequence pick lines in walking order.

Batching is "sort, then fill": orders are put in a line by urgency (the day they are
promised by) and, within a day, by where their picks sit (mean aisle, then mean depth),
snaking so that the far end of one day meets the far end of the next; waves are then
filled greedily along that line until either cap would be exceeded. Neighbours in that
line share aisles, so one walk collects several orders for little more than one.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from config.world import Warehouse, WaveRules
from domain.frames import FLOAT, INT, TEXT, TIME, conform
from domain.routing_optimal import optimal_route

WAVE_COLUMNS = {"wave_id": TEXT, "warehouse_id": TEXT, "cutoff_at": TIME, "order_count": INT,
                "line_count": INT, "travel_distance": FLOAT, "status": TEXT, "created_at": TIME}
PICK_LINE_COLUMNS = {"wave_id": TEXT, "seq": INT, "order_id": TEXT, "line_no": INT, "sku": TEXT,
                     "location_id": TEXT, "quantity": INT}
RELEASED = "released"


@dataclass(frozen=True)
class PlannedWaves:
    waves: pd.DataFrame        # columns of warehouse.schema.waves
    pick_lines: pd.DataFrame   # columns of warehouse.schema.pick_lines


def next_cutoff(warehouse: Warehouse, now: datetime) -> datetime:
    """The first of the warehouse's daily cut-offs at or after `now` (tomorrow's first if none left)."""
    cutoffs = sorted(warehouse.cutoffs)
    today = now.date()
    for cut in cutoffs:
        at = datetime.combine(today, cut)
        if at >= now:
            return at
    return datetime.combine(today + timedelta(days=1), cutoffs[0])


def plan_pick_waves(
    picks: pd.DataFrame, *, warehouses: Sequence[Warehouse], rules: WaveRules, now: datetime,
) -> PlannedWaves:
    """picks: one row per reservation — order_id, line_no, sku, location_id, warehouse_id,
    quantity, promised_by, aisle, bay, level, y (the location's y, i.e. locations.y; the
    distance along the aisle is y - layout.depot[1], which is y itself with the default depot).

    Waves are grouped by warehouse and the carrier cut-off they target (next_cutoff), most
    urgent orders (promised_by) first, orders never split across waves, each wave capped by
    rules.max_orders orders and rules.max_lines pick lines; orders close together in the
    warehouse are batched together (e.g. sort by their mean aisle/bay). Each wave's pick
    lines are numbered seq 1..n in the walking order of the shortest route (domain.routing_optimal,
    exact for a single-block layout); waves get
    travel_distance from that route, status 'released', created_at = now, and a deterministic
    wave_id f"{warehouse}-{cutoff:%Y%m%dT%H%M}-{sha1 of sorted order_ids[:10 hex]}".

    Precisely: urgency is the calendar day of the order's promised_by (an order's earliest
    if its rows disagree); waves come out most urgent first. An order with more pick lines
    than max_lines gets a wave of its own. The sha1 is over the wave's sorted order ids
    joined by newlines. A warehouse missing from `warehouses` raises ValueError.
    """
    if picks.empty:
        return PlannedWaves(conform(pd.DataFrame(), WAVE_COLUMNS), conform(pd.DataFrame(), PICK_LINE_COLUMNS))
    by_id = {w.id: w for w in warehouses}
    unknown = sorted(set(picks["warehouse_id"]) - set(by_id))
    if unknown:
        raise ValueError(f"picks reference warehouses not in the world: {unknown}")
    waves, lines = [], []
    for wh_id, wh_picks in picks.groupby("warehouse_id", sort=True):
        warehouse = by_id[wh_id]
        cutoff = next_cutoff(warehouse, now)
        rows_of = wh_picks.groupby("order_id", sort=False).indices
        for batch in batch_orders(wh_picks, rules=rules):
            rows = wh_picks.iloc[np.concatenate([rows_of[order_id] for order_id in batch])]
            wave, wave_lines = _route_wave(rows, batch, warehouse, cutoff, now)
            waves.append(wave)
            lines.append(wave_lines)
    return PlannedWaves(
        waves=conform(pd.DataFrame(waves), WAVE_COLUMNS),
        pick_lines=conform(pd.concat(lines, ignore_index=True), PICK_LINE_COLUMNS),
    )


def batch_orders(picks: pd.DataFrame, *, rules: WaveRules) -> list[list[str]]:
    """Order ids per wave, for one warehouse's picks (see the module docstring)."""
    orders = picks.groupby("order_id", sort=True).agg(
        lines=("line_no", "size"), promised=("promised_by", "min"), aisle=("aisle", "mean"), y=("y", "mean"),
    ).reset_index()
    orders["day"] = pd.to_datetime(orders["promised"]).dt.normalize()
    day_rank = orders["day"].rank(method="dense").fillna(0).astype(int)
    snake = np.where(day_rank % 2 == 1, 1.0, -1.0)            # alternate direction day by day
    orders = orders.assign(k_aisle=orders["aisle"] * snake, k_y=orders["y"] * snake)
    orders = orders.sort_values(["day", "k_aisle", "k_y", "order_id"], kind="stable", na_position="last")
    batches: list[list[str]] = []
    current: list[str] = []
    current_lines = 0
    for order_id, n_lines in zip(orders["order_id"].tolist(), orders["lines"].tolist()):
        if current and (len(current) >= rules.max_orders or current_lines + n_lines > rules.max_lines):
            batches.append(current)
            current, current_lines = [], 0
        current.append(order_id)
        current_lines += n_lines
    if current:
        batches.append(current)
    return batches


def wave_id(warehouse_id: str, cutoff: datetime, order_ids: Sequence[str]) -> str:
    digest = hashlib.sha1("\n".join(sorted(order_ids)).encode()).hexdigest()[:10]
    return f"{warehouse_id}-{cutoff:%Y%m%dT%H%M}-{digest}"


def _route_wave(rows: pd.DataFrame, order_ids: list[str], warehouse: Warehouse, cutoff: datetime, now: datetime):
    rows = rows.sort_values(["order_id", "line_no", "location_id"], kind="stable")
    depth = rows["y"].to_numpy(dtype=float) - warehouse.layout.depot[1]
    points = list(zip(rows["aisle"].astype(int).tolist(), depth.tolist()))
    route = optimal_route(points, warehouse.layout)
    wid = wave_id(warehouse.id, cutoff, order_ids)
    walked = rows.iloc[list(route.order)].assign(wave_id=wid, seq=np.arange(1, len(rows) + 1))
    wave = {"wave_id": wid, "warehouse_id": warehouse.id, "cutoff_at": cutoff, "order_count": len(order_ids),
            "line_count": len(rows), "travel_distance": route.distance, "status": RELEASED, "created_at": now}
    return wave, walked
