"""Storage: allocate verified orders to stock in bins, never over-allocating.

The allocation is computed in memory over plain dicts (Saleor's way: lock, compute, write
once); the task writes the result in one transaction with conditional updates, so this
function only has to be right about the snapshot of `available` it is given.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from config.world import Warehouse
from domain import states
from domain.frames import INT, TEXT, conform
from domain.geography import centroid, great_circle_km

RANKING_COLUMNS = {"order_id": TEXT, "warehouse_id": TEXT, "rank": INT}
RESERVATION_COLUMNS = {"order_id": TEXT, "line_no": INT, "sku": TEXT, "location_id": TEXT,
                       "warehouse_id": TEXT, "quantity": INT}
BACKORDER_COLUMNS = {"order_id": TEXT, "line_no": INT, "sku": TEXT, "quantity_short": INT}
OUTCOME_COLUMNS = {"order_id": TEXT, "status": TEXT, "warehouse_id": TEXT}


@dataclass(frozen=True)
class Allocation:
    reservations: pd.DataFrame   # order_id, line_no, sku, location_id, warehouse_id, quantity
    backorders: pd.DataFrame     # order_id, line_no, sku, quantity_short
    outcomes: pd.DataFrame       # order_id, status ('reserved'|'backordered'), warehouse_id (None if backordered)


def rank_warehouses(orders: pd.DataFrame, warehouses: Sequence[Warehouse]) -> pd.DataFrame:
    """orders: order_id, ship_to_region (US state code or other). Returns order_id,
    warehouse_id, rank (0 = preferred): nearest warehouse first by great-circle distance
    between state centroids (warehouse.address.region), ties and unknown regions by
    warehouse.priority (then warehouse id). Every order gets a row per warehouse.
    Distances are compared to the kilometre, so near-equal ones count as ties."""
    if orders.empty or not warehouses:
        return conform(pd.DataFrame(columns=list(RANKING_COLUMNS)), RANKING_COLUMNS)
    dest = np.array([centroid(r) for r in orders["ship_to_region"]], dtype=float).reshape(-1, 2)
    origin = np.array([centroid(w.address.region) for w in warehouses], dtype=float).reshape(-1, 2)
    km = great_circle_km(dest[:, None, 0], dest[:, None, 1], origin[None, :, 0], origin[None, :, 1])
    km = np.where(np.isnan(km), np.inf, np.round(km))          # unknown → priority decides
    n, m = km.shape
    grid = pd.DataFrame({
        "order_id": np.repeat(orders["order_id"].to_numpy(), m),
        "warehouse_id": np.tile([w.id for w in warehouses], n),
        "km": km.ravel(),
        "priority": np.tile([w.priority for w in warehouses], n),
    })
    grid = grid.sort_values(["order_id", "km", "priority", "warehouse_id"], kind="stable")
    grid["rank"] = grid.groupby("order_id", sort=False).cumcount()
    return conform(grid, RANKING_COLUMNS)


def allocate_stock(lines: pd.DataFrame, stock: pd.DataFrame, ranking: pd.DataFrame) -> Allocation:
    """lines: order_id, line_no, sku, quantity, placed_at. stock: sku, location_id,
    warehouse_id, available (on_hand - reserved). ranking: from rank_warehouses.

    Orders are served first come first served (placed_at, order_id). An order ships complete
    from ONE warehouse: the best-ranked warehouse that can cover every line; a line may take
    from several bins of that warehouse (fullest bin first, then location_id). An order no
    warehouse can cover reserves nothing and is backordered; its shortfall per line is
    measured against its best-ranked warehouse. Invariant: per (sku, location_id) the sum
    reserved never exceeds available; a reserved order's lines are reserved in full.

    "Fullest" is judged when the line is served (after earlier orders took their share).
    Backorders list only the lines that are short: lines of one order are checked in
    line_no order against what the best warehouse has left, so two lines of the same SKU
    share its stock. An order absent from `ranking` is backordered with every line short.
    Negative `available` counts as 0.
    """
    bins = _BinStock(stock)
    prefs = _preferences(ranking)
    reservations, backorders, outcomes = [], [], []
    for order_id, order_lines in _orders_fcfs(lines):
        choices = prefs.get(order_id, ())
        chosen = next((wh for wh in choices if bins.covers(wh, order_lines)), None)
        if chosen is None:
            best = choices[0] if choices else None
            backorders += [(order_id, no, sku, short) for no, sku, short in bins.shortfall(best, order_lines)]
            outcomes.append((order_id, states.BACKORDERED, None))
            continue
        for line_no, sku, qty in order_lines:
            reservations += [(order_id, line_no, sku, loc, chosen, take) for loc, take in bins.take(chosen, sku, qty)]
        outcomes.append((order_id, states.RESERVED, chosen))
    return Allocation(
        reservations=conform(pd.DataFrame(reservations, columns=list(RESERVATION_COLUMNS)), RESERVATION_COLUMNS),
        backorders=conform(pd.DataFrame(backorders, columns=list(BACKORDER_COLUMNS)), BACKORDER_COLUMNS),
        outcomes=conform(pd.DataFrame(outcomes, columns=list(OUTCOME_COLUMNS)), OUTCOME_COLUMNS),
    )


class _BinStock:
    """Available units per (warehouse, sku) → {location_id: units}, with running totals."""

    def __init__(self, stock: pd.DataFrame):
        self.bins: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        self.total: dict[tuple[str, str], int] = defaultdict(int)
        if stock.empty:
            return
        available = np.clip(stock["available"].fillna(0).to_numpy(dtype=np.int64), 0, None)
        for sku, loc, wh, units in zip(stock["sku"].tolist(), stock["location_id"].tolist(),
                                       stock["warehouse_id"].tolist(), available.tolist()):
            key = (wh, sku)
            self.bins[key][loc] = self.bins[key].get(loc, 0) + units
            self.total[key] += units

    def covers(self, wh: str, order_lines: list[tuple[int, str, int]]) -> bool:
        need: dict[str, int] = defaultdict(int)
        for _, sku, qty in order_lines:
            need[sku] += qty
        return all(self.total.get((wh, sku), 0) >= qty for sku, qty in need.items())

    def shortfall(self, wh: str | None, order_lines: list[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
        left: dict[str, int] = {}
        short = []
        for line_no, sku, qty in order_lines:
            have = left.get(sku, self.total.get((wh, sku), 0) if wh is not None else 0)
            left[sku] = max(have - qty, 0)
            if qty > have:
                short.append((line_no, sku, qty - have))
        return short

    def take(self, wh: str, sku: str, qty: int) -> list[tuple[str, int]]:
        key = (wh, sku)
        shelf = self.bins[key]
        taken = []
        for loc in sorted(shelf, key=lambda loc: (-shelf[loc], loc)):
            if qty == 0:
                break
            units = min(shelf[loc], qty)
            if units:
                shelf[loc] -= units
                qty -= units
                taken.append((loc, units))
        self.total[key] -= sum(units for _, units in taken)
        return taken


def _preferences(ranking: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    if ranking.empty:
        return {}
    ranked = ranking.sort_values(["order_id", "rank"], kind="stable")
    prefs: dict[str, list[str]] = defaultdict(list)
    for order_id, wh in zip(ranked["order_id"].tolist(), ranked["warehouse_id"].tolist()):
        prefs[order_id].append(wh)
    return {order_id: tuple(whs) for order_id, whs in prefs.items()}


def _orders_fcfs(lines: pd.DataFrame):
    """(order_id, [(line_no, sku, quantity), ...]) in first-come-first-served order."""
    if lines.empty:
        return
    df = lines.assign(_first=lines.groupby("order_id")["placed_at"].transform("min"))
    df = df.sort_values(["_first", "order_id", "line_no"], kind="stable")
    ids = df["order_id"].tolist()
    rows = list(zip(df["line_no"].astype(int).tolist(), df["sku"].tolist(), df["quantity"].astype(int).tolist()))
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or ids[i] != ids[start]:
            yield ids[start], rows[start:i]
            start = i
