"""Pick routing in a single-block warehouse: parallel aisles between a front and a back
cross-aisle, the depot on the front cross-aisle. A pick point is (aisle, y): the aisle index
(1-based, aisle x = depot_x + (aisle-1)*aisle_spacing) and the distance y along the aisle
from the front cross-aisle. Back cross-aisle at y = (bays + 1) * bay_width.

Since aisle 1 sits at the depot's x, every route walks the cross-aisles out to its farthest
aisle and back: 2 * (x_far - depot_x) of cross-aisle travel. The heuristics differ only in
how they walk the aisles (Roodbergen & de Koster 2001 describe all three).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from config.world import Layout


@dataclass(frozen=True)
class Route:
    order: tuple[int, ...]    # indexes into the given points, in walking order
    distance: float           # metres, depot → picks → depot


def s_shape_route(points: Sequence[tuple[int, float]], layout: Layout) -> Route:
    """Traverse every aisle holding a pick completely, alternating direction; the last aisle
    is entered and left from the front when the number of aisles visited is odd."""
    aisles = _by_aisle(points)
    if not aisles:
        return Route((), 0.0)
    length = aisle_length(layout)
    order: list[int] = []
    vertical = 0.0
    for i, (aisle, picks) in enumerate(aisles):
        last_odd = i == len(aisles) - 1 and len(aisles) % 2 == 1
        going_up = i % 2 == 0
        order += picks if going_up else picks[::-1]
        vertical += 2 * _depth(points, picks) if last_odd else length
    return Route(tuple(order), _round(vertical + _cross_travel(aisles, layout)))


def largest_gap_route(points: Sequence[tuple[int, float]], layout: Layout) -> Route:
    """Largest-gap heuristic (Hall 1993): first and last aisle traversed; in the others the
    largest gap between adjacent picks (or an aisle end) is never crossed.

    Walking order: up the first aisle, along the back visiting each middle aisle's back part
    (left to right), down the last aisle, then along the front visiting each middle aisle's
    front part (right to left). With one aisle, it is entered and left from the front."""
    aisles = _by_aisle(points)
    if not aisles:
        return Route((), 0.0)
    if len(aisles) == 1:
        return return_route(points, layout)
    length = aisle_length(layout)
    fronts, backs, vertical = [], [], 2 * length
    for aisle, picks in aisles[1:-1]:
        front, back, walked = _split_at_largest_gap(points, picks, length)
        fronts.append(front)
        backs.append(back)
        vertical += walked
    order = list(aisles[0][1])
    for back in backs:
        order += back[::-1]                     # walk in from the back: deepest first
    order += aisles[-1][1][::-1]
    for front in reversed(fronts):
        order += front
    return Route(tuple(order), _round(vertical + _cross_travel(aisles, layout)))


def return_route(points: Sequence[tuple[int, float]], layout: Layout) -> Route:
    """Return policy: every aisle holding a pick is entered and left from the front, as deep
    as its deepest pick; never uses the back cross-aisle. Best when picks sit near the front."""
    aisles = _by_aisle(points)
    order = [i for _, picks in aisles for i in picks]
    vertical = sum(2 * _depth(points, picks) for _, picks in aisles)
    return Route(tuple(order), _round(vertical + _cross_travel(aisles, layout)))


def best_route(points: Sequence[tuple[int, float]], layout: Layout) -> Route:
    """The shortest of s_shape_route, largest_gap_route and return_route (empty points →
    distance 0); ties go to that order. return_route covers what the other two handle badly:
    a few shallow picks in two or three aisles, which both would walk end to end."""
    candidates = [s_shape_route(points, layout), largest_gap_route(points, layout), return_route(points, layout)]
    return min(candidates, key=lambda route: route.distance)


def aisle_length(layout: Layout) -> float:
    """Front to back cross-aisle."""
    return (layout.bays + 1) * layout.bay_width


def walking_distance(a: tuple[int, float], b: tuple[int, float], layout: Layout) -> float:
    """Shortest walk between two pick points (via the front or the back cross-aisle)."""
    (aisle_a, ya), (aisle_b, yb) = a, b
    if aisle_a == aisle_b:
        return abs(ya - yb)
    length = aisle_length(layout)
    return abs(aisle_a - aisle_b) * layout.aisle_spacing + min(ya + yb, 2 * length - ya - yb)


def _by_aisle(points: Sequence[tuple[int, float]]) -> list[tuple[int, list[int]]]:
    """[(aisle, [point indexes sorted front to back])] for the aisles holding a pick, left to right."""
    grouped: dict[int, list[int]] = defaultdict(list)
    for i, (aisle, _) in enumerate(points):
        grouped[int(aisle)].append(i)
    return [(aisle, sorted(idx, key=lambda i: (points[i][1], i))) for aisle, idx in sorted(grouped.items())]


def _depth(points: Sequence[tuple[int, float]], picks: list[int]) -> float:
    return max(points[i][1] for i in picks)


def _cross_travel(aisles: list[tuple[int, list[int]]], layout: Layout) -> float:
    return 2 * (aisles[-1][0] - 1) * layout.aisle_spacing if aisles else 0.0


def _split_at_largest_gap(points, picks: list[int], length: float) -> tuple[list[int], list[int], float]:
    """(picks reached from the front, picks reached from the back, metres walked in the aisle)."""
    ys = [0.0] + [points[i][1] for i in picks] + [length]
    gaps = [ys[k + 1] - ys[k] for k in range(len(ys) - 1)]
    widest = max(range(len(gaps)), key=lambda k: (gaps[k], -k))   # ties: the frontmost gap
    return picks[:widest], picks[widest:], 2 * (length - gaps[widest])


def _round(metres: float) -> float:
    return round(metres, 6)
