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

from config.world import Layout, Warehouse, WaveRules
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
    unknown = sorted(set(picks["warehouse_id"].unique()) - set(by_id))
    if unknown:
        raise ValueError(f"picks reference warehouses not in the world: {unknown}")
    plans = [_plan_warehouse(wh_picks, by_id[wh_id], rules=rules, now=now)
             for wh_id, wh_picks in picks.groupby("warehouse_id", sort=True)]
    return PlannedWaves(
        waves=conform(pd.concat([waves for waves, _ in plans], ignore_index=True), WAVE_COLUMNS),
        pick_lines=conform(pd.concat([lines for _, lines in plans], ignore_index=True), PICK_LINE_COLUMNS),
    )


def batch_orders(picks: pd.DataFrame, *, rules: WaveRules) -> pd.DataFrame:
    """One row per order of one warehouse's picks, sorted by order_id: order_id, lines (its
    number of pick lines) and wave (0 = the first to pick; see the module docstring)."""
    orders = picks.groupby("order_id", sort=True).agg(
        lines=("line_no", "size"), promised=("promised_by", "min"), aisle=("aisle", "mean"), y=("y", "mean"),
    ).reset_index()
    orders["day"] = pd.to_datetime(orders["promised"]).dt.normalize()
    day_rank = orders["day"].rank(method="dense").fillna(0).astype(int)
    snake = np.where(day_rank % 2 == 1, 1.0, -1.0)            # alternate direction day by day
    line = orders.assign(k_aisle=orders["aisle"] * snake, k_y=orders["y"] * snake).sort_values(
        ["day", "k_aisle", "k_y", "order_id"], kind="stable", na_position="last").index.to_numpy()  # positions
    wave = np.empty(len(orders), dtype=np.int64)
    wave[line] = _fill(orders["lines"].to_numpy()[line].tolist(), rules=rules)
    return orders[["order_id", "lines"]].assign(wave=wave)


def _fill(lines: list[int], *, rules: WaveRules) -> list[int]:
    """Wave numbers of orders taken in line, each wave filled until either cap would be exceeded."""
    waves: list[int] = []
    wave = orders = wave_lines = 0
    for n_lines in lines:
        if orders and (orders >= rules.max_orders or wave_lines + n_lines > rules.max_lines):
            wave, orders, wave_lines = wave + 1, 0, 0
        waves.append(wave)
        orders += 1
        wave_lines += n_lines
    return waves


def wave_id(warehouse_id: str, cutoff: datetime, order_ids: Sequence[str]) -> str:
    digest = hashlib.sha1("\n".join(sorted(order_ids)).encode()).hexdigest()[:10]
    return f"{warehouse_id}-{cutoff:%Y%m%dT%H%M}-{digest}"


def _plan_warehouse(picks: pd.DataFrame, warehouse: Warehouse, *, rules: WaveRules,
                    now: datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(waves, pick lines) of one warehouse, the most urgent wave first. Works on whole columns
    and plain lists: a DataFrame per wave (sorted, taken, assigned) cost more than routing it."""
    cutoff = next_cutoff(warehouse, now)
    orders = batch_orders(picks, rules=rules)
    order_count = np.bincount(orders["wave"])
    line_count = np.bincount(orders["wave"], weights=orders["lines"]).astype(np.int64)
    ids = _wave_ids(orders, order_count, warehouse_id=warehouse.id, cutoff=cutoff)
    rows = _wave_by_wave(picks, orders)
    walk, distance = _walk(rows, line_count, warehouse.layout)
    waves = pd.DataFrame({"wave_id": ids, "warehouse_id": warehouse.id, "cutoff_at": cutoff,
                          "order_count": order_count, "line_count": line_count,
                          "travel_distance": distance, "status": RELEASED, "created_at": now})
    lines = rows.iloc[walk].assign(wave_id=np.repeat(np.array(ids, dtype=object), line_count),
                                   seq=_numbered(line_count))
    return waves, lines


def _wave_ids(orders: pd.DataFrame, order_count: np.ndarray, *, warehouse_id: str, cutoff: datetime) -> list[str]:
    by_wave = orders["order_id"].to_numpy()[np.argsort(orders["wave"].to_numpy(), kind="stable")].tolist()
    ends = np.cumsum(order_count).tolist()
    return [wave_id(warehouse_id, cutoff, by_wave[end - n:end]) for end, n in zip(ends, order_count.tolist())]


def _wave_by_wave(picks: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """The picks wave after wave; within a wave by order_id, line_no and location_id (the
    order its points are handed to the router in)."""
    rows = picks.sort_values(["order_id", "line_no", "location_id"], kind="stable", ignore_index=True)
    # sorted by order_id like `orders`, each order's rows are the next orders["lines"] rows
    wave_of_row = np.repeat(orders["wave"].to_numpy(), orders["lines"].to_numpy())
    return rows.take(np.argsort(wave_of_row, kind="stable"))


def _walk(rows: pd.DataFrame, line_count: np.ndarray, layout: Layout) -> tuple[np.ndarray, list[float]]:
    """Positions of `rows` in walking order, and the distance walked, for consecutive waves of
    `line_count` rows each: every wave's shortest route (domain.routing_optimal)."""
    aisles = rows["aisle"].astype(int).tolist()
    depths = (rows["y"].to_numpy(dtype=float) - layout.depot[1]).tolist()
    walk: list[int] = []
    distance: list[float] = []
    start = 0
    for n in line_count.tolist():
        route = optimal_route(list(zip(aisles[start:start + n], depths[start:start + n])), layout)
        walk += [start + i for i in route.order]
        distance.append(route.distance)
        start += n
    return np.array(walk, dtype=np.intp), distance


def _numbered(sizes: np.ndarray) -> np.ndarray:
    """1..n within each of consecutive runs of `sizes` rows."""
    return np.arange(1, sizes.sum() + 1) - np.repeat(np.cumsum(sizes) - sizes, sizes)
