"""Exact routing: the aisle-by-aisle programme finds the true shortest tour, and no heuristic beats it."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.world import Layout
from domain.routing import best_route, largest_gap_route, return_route, s_shape_route, walking_distance
from domain.routing_optimal import optimal_route

LAYOUT = Layout(aisles=6, bays=10, levels=3, aisle_spacing=3.0, bay_width=1.0)   # aisles 11 m long
DEPOT = (1, 0.0)


def tour_length(points, order, layout) -> float:
    stops = [DEPOT, *(points[i] for i in order), DEPOT]
    return sum(walking_distance(a, b, layout) for a, b in zip(stops, stops[1:]))


def held_karp(points, layout) -> float:
    """Brute-force optimum: the exact TSP over shortest walks between picks (and the depot)."""
    n = len(points)
    if n == 0:
        return 0.0
    d = lambda a, b: walking_distance(a, b, layout)
    best = {(1 << i, i): d(DEPOT, points[i]) for i in range(n)}
    for size in range(2, n + 1):
        for subset in combinations(range(n), size):
            mask = sum(1 << i for i in subset)
            for last in subset:
                rest = mask ^ (1 << last)
                best[mask, last] = min(best[rest, k] + d(points[k], points[last]) for k in subset if k != last)
    full = (1 << n) - 1
    return min(best[full, i] + d(points[i], DEPOT) for i in range(n))


def random_instance(rng: np.random.Generator):
    layout = Layout(aisles=int(rng.integers(1, 6)), bays=int(rng.integers(1, 12)), levels=1,
                    aisle_spacing=float(rng.uniform(1.0, 5.0)), bay_width=float(rng.uniform(0.5, 2.0)))
    n = int(rng.integers(1, 9))
    points = [(int(rng.integers(1, layout.aisles + 1)), int(rng.integers(1, layout.bays + 1)) * layout.bay_width)
              for _ in range(n)]
    return layout, points


def test_no_picks_no_walk():
    assert optimal_route([], LAYOUT).order == () and optimal_route([], LAYOUT).distance == 0


def test_a_single_pick_is_walked_to_and_back_the_short_way():
    assert optimal_route([(1, 3.0)], LAYOUT).distance == pytest.approx(6.0)
    assert optimal_route([(3, 4.0)], LAYOUT).distance == pytest.approx(2 * 6.0 + 2 * 4.0)
    # a deep pick far out: in at the front, out at the back is no shorter than in and back out
    assert optimal_route([(4, 10.0)], LAYOUT).distance == pytest.approx(2 * 9.0 + 2 * 10.0)


def test_optimal_mixes_aisle_moves_no_single_heuristic_walks():
    # up aisle 4, along the back to dip 1 m into aisle 6, back to aisle 3 and down it:
    # 30 m of cross-aisle plus 11 + 2 + 11 m in the aisles
    points = [(3, 8.0), (4, 4.0), (4, 7.0), (6, 10.0)]
    route = optimal_route(points, LAYOUT)
    assert route.distance == pytest.approx(54.0) == held_karp(points, LAYOUT)
    assert route.order == (1, 2, 3, 0)
    assert min(h(points, LAYOUT).distance for h in (s_shape_route, largest_gap_route, return_route)) == 66.0


@pytest.mark.parametrize("seed", range(150))
def test_matches_the_brute_force_optimum_on_small_random_warehouses(seed):
    layout, points = random_instance(np.random.default_rng(seed))
    route = optimal_route(points, layout)
    assert route.distance == pytest.approx(held_karp(points, layout), abs=1e-6)
    assert sorted(route.order) == list(range(len(points)))
    # the visiting order read off the tour walks exactly the optimal distance
    assert tour_length(points, route.order, layout) == pytest.approx(route.distance, abs=1e-6)


def test_the_same_picks_in_another_layout_walk_that_layout():
    # routes remember aisles by their picks' depths: an aisle of another length is another aisle
    points = [(1, 2.0), (2, 2.0), (2, 5.0), (3, 4.0)]
    short = Layout(aisles=3, bays=5, levels=1, aisle_spacing=2.0, bay_width=1.0)       # aisles 6 m long
    assert optimal_route(points, LAYOUT).distance == pytest.approx(held_karp(points, LAYOUT))
    assert optimal_route(points, short).distance == pytest.approx(held_karp(points, short))
    assert optimal_route(points, LAYOUT).distance != optimal_route(points, short).distance


layouts = st.builds(Layout, aisles=st.integers(1, 12), bays=st.integers(1, 20), levels=st.just(2),
                    aisle_spacing=st.floats(1.0, 5.0), bay_width=st.floats(0.5, 2.0))


@st.composite
def layout_and_points(draw):
    layout = draw(layouts)
    bays = st.integers(1, layout.bays).map(lambda b: b * layout.bay_width)
    return layout, draw(st.lists(st.tuples(st.integers(1, layout.aisles), bays), max_size=25))


@given(case=layout_and_points())
def test_optimal_is_never_longer_than_best_route_which_is_never_longer_than_s_shape(case):
    layout, points = case
    optimal = optimal_route(points, layout)
    assert sorted(optimal.order) == list(range(len(points)))
    assert optimal.distance <= best_route(points, layout).distance + 1e-6
    assert best_route(points, layout).distance <= s_shape_route(points, layout).distance + 1e-6
    assert tour_length(points, optimal.order, layout) == pytest.approx(optimal.distance, abs=1e-6)
