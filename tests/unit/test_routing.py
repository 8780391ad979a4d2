"""Pick routing: every pick visited once, distances honest, the best of the heuristics chosen."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.world import Layout
from domain.routing import (aisle_length, best_route, largest_gap_route, return_route, s_shape_route,
                            walking_distance)

LAYOUT = Layout(aisles=6, bays=10, levels=3, aisle_spacing=3.0, bay_width=1.0)   # aisles 11 m long
HEURISTICS = [s_shape_route, largest_gap_route, return_route, best_route]
DEPOT = (1, 0.0)


def tour_length(points, order, layout) -> float:
    stops = [DEPOT, *(points[i] for i in order), DEPOT]
    return sum(walking_distance(a, b, layout) for a, b in zip(stops, stops[1:]))


def test_s_shape_traverses_aisles_and_returns_in_the_last_odd_one():
    points = [(1, 2.0), (1, 8.0), (3, 5.0), (4, 1.0), (4, 6.0)]
    route = s_shape_route(points, LAYOUT)
    # up aisle 1, down aisle 3, into aisle 4 from the front and back out; 2 x 9 m of cross-aisle
    assert route.order == (0, 1, 2, 3, 4)
    assert route.distance == pytest.approx(11 + 11 + 2 * 6.0 + 2 * 9.0)


def test_s_shape_with_an_even_number_of_aisles_traverses_them_all():
    route = s_shape_route([(2, 3.0), (5, 9.0)], LAYOUT)
    assert route.order == (0, 1)
    assert route.distance == pytest.approx(2 * 11 + 2 * 12.0)


def test_largest_gap_never_crosses_the_widest_gap_of_a_middle_aisle():
    # aisle 3 picks at 1 and 10: the widest gap (1 → 10) is left alone, both ends visited separately
    points = [(1, 5.0), (3, 1.0), (3, 10.0), (6, 5.0)]
    route = largest_gap_route(points, LAYOUT)
    assert route.order == (0, 2, 3, 1)          # up 1, aisle 3's back pick, down 6, aisle 3's front pick
    assert route.distance == pytest.approx(2 * 11 + 2 * (11 - 9.0) + 2 * 15.0)


def test_return_route_stays_on_the_front_cross_aisle():
    route = return_route([(2, 1.0), (4, 2.0)], LAYOUT)
    assert route.distance == pytest.approx(2 * 1.0 + 2 * 2.0 + 2 * 9.0)


def test_best_route_takes_the_shortest():
    shallow = [(2, 1.0), (4, 2.0)]
    assert best_route(shallow, LAYOUT).distance == return_route(shallow, LAYOUT).distance
    deep = [(1, 10.0), (2, 1.0), (2, 10.0), (3, 10.0), (4, 9.0)]
    assert best_route(deep, LAYOUT).distance == min(s_shape_route(deep, LAYOUT).distance,
                                                    largest_gap_route(deep, LAYOUT).distance)
    assert best_route(deep, LAYOUT).distance < return_route(deep, LAYOUT).distance


@pytest.mark.parametrize("heuristic", HEURISTICS, ids=lambda f: f.__name__)
def test_no_picks_no_walk(heuristic):
    assert heuristic([], LAYOUT).order == () and heuristic([], LAYOUT).distance == 0


layouts = st.builds(Layout, aisles=st.integers(1, 12), bays=st.integers(1, 20), levels=st.just(2),
                    aisle_spacing=st.floats(1.0, 5.0), bay_width=st.floats(0.5, 2.0))


@st.composite
def layout_and_points(draw):
    layout = draw(layouts)
    bays = st.integers(1, layout.bays).map(lambda b: b * layout.bay_width)
    points = draw(st.lists(st.tuples(st.integers(1, layout.aisles), bays), max_size=25))
    return layout, points


@pytest.mark.parametrize("heuristic", HEURISTICS, ids=lambda f: f.__name__)
@given(case=layout_and_points())
def test_routes_visit_every_pick_exactly_once_and_walk_at_least_a_lower_bound(heuristic, case):
    layout, points = case
    route = heuristic(points, layout)
    assert sorted(route.order) == list(range(len(points)))
    if points:
        # the walk cannot beat the shortest paths between its consecutive stops ...
        assert route.distance >= tour_length(points, route.order, layout) - 1e-6
        # ... nor reaching the farthest aisle and the deepest pick and coming back
        far = max(a for a, _ in points)
        deepest = max(y for _, y in points)
        assert route.distance >= 2 * (far - 1) * layout.aisle_spacing + 2 * deepest - 1e-6
        assert route.distance <= 2 * (far - 1) * layout.aisle_spacing + 2 * aisle_length(layout) * layout.aisles + 1e-6


@given(case=layout_and_points())
def test_best_route_is_never_longer_than_any_heuristic(case):
    layout, points = case
    best = best_route(points, layout).distance
    assert all(best <= h(points, layout).distance for h in HEURISTICS[:-1])
