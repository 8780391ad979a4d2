"""Pick-travel baselines that waves are measured against (issue #4): one walk per order,
first-come-first-served batches walked S-shape, and the waves themselves; plus how far a set
of walks is from the shortest possible (domain.routing_optimal).

A pick frame has one row per pick with at least aisle and y, where y is the location's y
(locations.y); the distance along the aisle is y - layout.depot[1], as in domain.waves.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import pandas as pd

from config.world import Layout, WaveRules
from domain.routing import Route, best_route, s_shape_route
from domain.routing_optimal import optimal_route

Point = tuple[int, float]
Router = Callable[[Sequence[Point], Layout], Route]


def single_order_travel(picks: pd.DataFrame, layout: Layout, *, router: Router = optimal_route) -> float:
    """Metres walked picking every order on its own walk. The default router is the shortest
    route, the one waves use, so the comparison measures batching alone."""
    return _travel(picks.groupby("order_id", sort=True), layout, router)


def fcfs_s_shape_travel(picks: pd.DataFrame, layout: Layout, rules: WaveRules) -> float:
    """Metres walked when orders are batched in the order they were placed (placed_at, then
    order_id), each batch filled until rules.max_orders or rules.max_lines would be exceeded
    (an order bigger than max_lines gets a batch of its own), and each batch walked S-shape."""
    batch_of = fcfs_batches(picks, rules)
    return _travel(picks.groupby(picks["order_id"].map(batch_of), sort=True), layout, s_shape_route)


def waves_travel(planned_pick_lines: pd.DataFrame, layout: Layout, *, router: Router = optimal_route) -> float:
    """Metres walked by planned waves: pick lines with wave_id, aisle and y (plan_pick_waves'
    pick_lines merged with its picks on order_id, line_no). With optimal_route this is the sum of
    the waves' travel_distance."""
    return _travel(planned_pick_lines.groupby("wave_id", sort=True), layout, router)


def optimality_gap(routes: Iterable[tuple[Sequence[Point], float]], layout: Layout) -> float:
    """Mean of (walked - optimal) / optimal over (pick points, metres walked) pairs; walks whose
    optimum is zero (no picks) are left out, and no walks at all give 0.0."""
    gaps = []
    for points, walked in routes:
        optimal = optimal_route(points, layout).distance
        if optimal > 0:
            gaps.append((walked - optimal) / optimal)
    return sum(gaps) / len(gaps) if gaps else 0.0


def fcfs_batches(picks: pd.DataFrame, rules: WaveRules) -> dict[str, int]:
    """order_id → batch number, filling batches first come, first served."""
    orders = picks.groupby("order_id", sort=True).agg(placed=("placed_at", "min"), lines=("aisle", "size"))
    orders = orders.reset_index().sort_values(["placed", "order_id"], kind="stable")
    batch_of: dict[str, int] = {}
    batch, n_orders, n_lines = 0, 0, 0
    for order_id, lines in zip(orders["order_id"].tolist(), orders["lines"].tolist()):
        if n_orders and (n_orders >= rules.max_orders or n_lines + lines > rules.max_lines):
            batch, n_orders, n_lines = batch + 1, 0, 0
        batch_of[order_id] = batch
        n_orders, n_lines = n_orders + 1, n_lines + lines
    return batch_of


def walks(groups, layout: Layout, router: Router = best_route) -> list[tuple[list[Point], Route]]:
    """(pick points, route) per group of a pandas groupby over pick rows."""
    out = []
    for _, rows in groups:
        points = pick_points(rows, layout)
        out.append((points, router(points, layout)))
    return out


def pick_points(rows: pd.DataFrame, layout: Layout) -> list[Point]:
    depth = rows["y"].to_numpy(dtype=float) - layout.depot[1]
    return list(zip(rows["aisle"].astype(int).tolist(), depth.tolist()))


def _travel(groups, layout: Layout, router: Router) -> float:
    return round(sum(route.distance for _, route in walks(groups, layout, router)), 6)
