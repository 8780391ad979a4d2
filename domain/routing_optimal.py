"""The shortest pick tour in a single-block warehouse, by Ratliff & Rosenthal's (1983) dynamic
programme over the aisles; same geometry and distance conventions as domain/routing.py (depot
at the front of aisle 1, aisles (bays + 1) * bay_width long, aisle_spacing between aisles).

The tour is a multigraph on the aisle ends a_j (front), b_j (back) and the picks, each edge
used at most twice, connected and with every degree even. Sweeping the aisles left to right,
a partial tour is summed up by its frontier a_j, b_j: the parity of each one's degree (none,
odd, even) and whether the two lie in one component. A component that loses the frontier
can never be reconnected, so it is refused. Per aisle a tour uses one of six configurations
(none, traverse, traverse twice, in from both ends skipping the largest gap between picks,
in and out from the front, from the back); between aisles 0, 1 or 2 copies of each
cross-aisle edge. The visiting order is read off an Euler circuit of the chosen edges.

Waves are routed by the thousand (~8,500 at the bench's 100k-order peak), so the programme
rebuilds nothing that repeats: which state a move leads to depends only on the state and the
kind of move, and is tabled once; states are numbered (an int hashes faster than a tuple);
nodes are numbered too; and an aisle's moves are remembered by its picks' depths (waves keep
meeting the same few: one pick in bay 3, ...). Ties still go the way they always went, so
the same points give the same route.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from config.world import Layout
from domain.routing import Route, aisle_length

Point = tuple[int, float]
State = tuple[int, int, bool]      # degree class of a_j and b_j (0 none, 1 odd, 2 even), one component?
Node = int                         # a pick's point index 0..n-1, then a_1, b_1, a_2, b_2, ... (_front, _back)
START: State = (0, 0, False)
STATES: tuple[State, ...] = tuple((a, b, same) for a in range(3) for b in range(3) for same in (False, True))
NUMBER = {state: number for number, state in enumerate(STATES)}   # layers are keyed by a state's number
CROSS_MOVES = tuple((t, u) for t in range(3) for u in range(3))  # t front and u back cross-aisle edges


@dataclass(frozen=True, slots=True)
class AisleMove:
    kind: str          # none | traverse | double | split | front | back
    front: int         # edges added at a_j
    back: int          # edges added at b_j
    joins: bool        # does the aisle itself connect a_j and b_j?
    cost: float
    gap: int = 0       # split: picks[:gap] reached from the front, picks[gap:] from the back


def optimal_route(points: Sequence[Point], layout: Layout) -> Route:
    """The exact shortest tour depot → every pick → depot; `order` is the walking order."""
    aisles = _picks_by_aisle(points)
    if not aisles:
        return Route((), 0.0)
    layers = _sweep(points, aisles, layout)
    finals = {s: v for s, v in layers[-1].items() if _closes(STATES[s], single_aisle=len(layers) == 1)}
    state = min(finals, key=lambda s: finals[s][0])
    distance = finals[state][0]
    n = len(points)
    edges = _edges_of(_choices(layers, state), aisles, n)
    circuit = _euler_circuit(edges, start=_front(1, n), nodes=_back(max(aisles), n) + 1)
    seen = dict.fromkeys(node for node in circuit if node < n)
    return Route(tuple(seen), round(distance, 6))


def aisle_moves(ys: Sequence[float], length: float) -> list[AisleMove]:
    """The configurations one aisle may take, given its picks' depths sorted front to back."""
    moves = [AisleMove("traverse", 1, 1, True, length), AisleMove("double", 2, 2, True, 2 * length)]
    if not ys:
        return [AisleMove("none", 0, 0, False, 0.0), *moves]
    moves += [AisleMove("front", 2, 0, False, 2 * ys[-1]), AisleMove("back", 0, 2, False, 2 * (length - ys[0]))]
    if len(ys) > 1:
        gap = max(range(1, len(ys)), key=lambda k: ys[k] - ys[k - 1])
        moves.append(AisleMove("split", 2, 2, False, 2 * (length - (ys[gap] - ys[gap - 1])), gap))
    return moves


def _sweep(points, aisles: dict[int, list[int]], layout: Layout) -> list[dict]:
    """Layers of {state number: (cost, previous state number, choice)}: aisle 1, cross 1→2,
    aisle 2, ... last aisle."""
    length, last, spacing = aisle_length(layout), max(aisles), layout.aisle_spacing
    from_depot, crossing = _crossing(spacing, depot=True), _crossing(spacing, depot=False)
    layers: list[dict] = []
    frontier = {NUMBER[START]: (0.0, None, None)}
    for j in range(1, last + 1):
        if j > 1:
            frontier = _relax(frontier, *(from_depot if j == 2 else crossing))
            layers.append(frontier)
        frontier = _relax(frontier, *_aisle(tuple([points[i][1] for i in aisles.get(j, ())]), length))
        layers.append(frontier)
    return layers


def _relax(frontier: dict, moves: Sequence, costs: Sequence[float], steps: Sequence[list]) -> dict:
    """One layer: steps[state] lists the (next state, move index) pairs allowed from a state."""
    nxt: dict = {}
    for state, (cost, _, _) in frontier.items():
        for new, k in steps[state]:
            total = cost + costs[k]
            best = nxt.get(new)
            if best is None or total < best[0] - 1e-12:
                nxt[new] = (total, state, moves[k])
    return nxt


@lru_cache(maxsize=4096)   # bounded: depths are floats, from any layout
def _aisle(ys: tuple[float, ...], length: float):
    """(moves, their costs, steps) of an aisle holding picks at depths `ys`, sorted."""
    moves = tuple(aisle_moves(ys, length))
    return moves, tuple(m.cost for m in moves), _aisle_steps(tuple(m.kind for m in moves))


@cache
def _aisle_steps(kinds: tuple[str, ...]) -> tuple[list[tuple[int, int]], ...]:
    """Per state number, the state number each of the moves (of `kinds`) leads to."""
    like = {m.kind: m for m in aisle_moves((0.0, 1.0), 2.0) + aisle_moves((), 2.0)}   # one move of each kind
    return tuple([(NUMBER[_vertical(s, like[kind])], k) for k, kind in enumerate(kinds)] for s in STATES)


@cache
def _crossing(spacing: float, *, depot: bool):
    """(moves, their costs, steps) from one aisle to the next; `depot`: from aisle 1."""
    steps = tuple([(NUMBER[new], k) for k, move in enumerate(CROSS_MOVES)
                   if (new := _cross(state, move, depot=depot)) is not None] for state in STATES)
    return CROSS_MOVES, tuple((t + u) * spacing for t, u in CROSS_MOVES), steps


def _cross(state: State, move: tuple[int, int], *, depot: bool) -> State | None:
    """Add t front and u back cross-aisle edges from aisle j to j+1; a_j and b_j are then final."""
    (ca, cb, same), (t, u) = state, move
    fa, fb = _add(ca, t), _add(cb, u)
    if fa == 1 or fb == 1 or (depot and fa == 0):
        return None
    lost = (t == 0 and u == 0) if (ca and cb and same) else bool((ca and t == 0) or (cb and u == 0))
    if lost:
        return None
    return (t, u, bool(t and u and ca and cb and same))


def _vertical(state: State, move: AisleMove) -> State:
    ca, cb, same = state
    na, nb = _add(ca, move.front), _add(cb, move.back)
    return (na, nb, bool(na and nb and (move.joins or (ca and cb and same))))


def _closes(state: State, *, single_aisle: bool) -> bool:
    ca, cb, same = state
    one_component = (ca and cb and same) or bool(ca) != bool(cb)
    return ca != 1 and cb != 1 and bool(one_component) and (ca > 0 or not single_aisle)


def _add(degree_class: int, edges: int) -> int:
    if edges == 0:
        return degree_class
    return 1 if (degree_class + edges) % 2 == 1 else 2


def _choices(layers: list[dict], state: int) -> list:
    chosen = []
    for layer in reversed(layers):
        _, state, choice = layer[state]
        chosen.append(choice)
    return chosen[::-1]


def _edges_of(choices: list, aisles: dict[int, list[int]], n_picks: int) -> list[tuple[Node, Node]]:
    edges: list[tuple[Node, Node]] = []
    for k, choice in enumerate(choices):
        j = k // 2 + 1
        if k % 2 == 1:                                  # cross-aisle edges from j to j+1
            t, u = choice
            edges += [(_front(j, n_picks), _front(j + 1, n_picks))] * t
            edges += [(_back(j, n_picks), _back(j + 1, n_picks))] * u
            continue
        chain = [_front(j, n_picks), *aisles.get(j, []), _back(j, n_picks)]
        links = list(zip(chain, chain[1:]))
        edges += _walked(links, choice)
    return edges


def _walked(links: list[tuple[Node, Node]], move: AisleMove) -> list[tuple[Node, Node]]:
    """The links of an aisle's chain a_j → picks front to back → b_j that `move` walks."""
    if move.kind == "none":
        return []
    if move.kind == "traverse":
        return links
    if move.kind == "double":
        return links * 2
    if move.kind == "front":
        return links[:-1] * 2                           # up to the deepest pick and back
    if move.kind == "back":
        return links[1:] * 2
    return (links[:move.gap] + links[move.gap + 1:]) * 2   # split: never the largest gap


def _front(aisle: int, n_picks: int) -> Node:
    return n_picks + 2 * aisle - 2


def _back(aisle: int, n_picks: int) -> Node:
    return n_picks + 2 * aisle - 1


def _euler_circuit(edges: list[tuple[Node, Node]], *, start: Node, nodes: int) -> list[Node]:
    """Hierholzer's algorithm on a connected multigraph with even degrees, no loops, and
    nodes numbered below `nodes`."""
    incident: list[list[int]] = [[] for _ in range(nodes)]        # edge numbers at each node
    for k, (u, v) in enumerate(edges):
        incident[u].append(k)
        incident[v].append(k)
    ends = [u + v for u, v in edges]                                # the far end of k from u is ends[k] - u
    used, stack, circuit = [False] * len(edges), [start], []
    while stack:
        node = stack[-1]
        out = incident[node]
        while out and used[out[-1]]:
            out.pop()
        if out:
            k = out.pop()
            used[k] = True
            stack.append(ends[k] - node)
        else:
            circuit.append(stack.pop())
    return circuit[::-1]


def _picks_by_aisle(points: Sequence[Point]) -> dict[int, list[int]]:
    """{aisle: point indexes sorted front to back} (ties by index, as in domain.routing)."""
    grouped: dict[int, list[int]] = defaultdict(list)
    for i, (aisle, _) in enumerate(points):
        grouped[int(aisle)].append(i)
    # indexes go in ascending and sorted() is stable: ties stay by index
    return {aisle: sorted(idx, key=lambda i: points[i][1]) for aisle, idx in grouped.items()}
