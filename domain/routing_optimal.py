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
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from config.world import Layout
from domain.routing import Route, aisle_length

Point = tuple[int, float]
State = tuple[int, int, bool]      # degree class of a_j and b_j (0 none, 1 odd, 2 even), one component?
Node = tuple[str, int]             # ("a", aisle), ("b", aisle) or ("p", point index)
START: State = (0, 0, False)


@dataclass(frozen=True)
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
    finals = {s: v for s, v in layers[-1].items() if _closes(s, single_aisle=len(layers) == 1)}
    state = min(finals, key=lambda s: finals[s][0])
    distance = finals[state][0]
    edges = _edges_of(_choices(layers, state), aisles)
    seen = dict.fromkeys(i for kind, i in _euler_circuit(edges, ("a", 1)) if kind == "p")
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
    """Layers of {state: (cost, previous state, choice)}: aisle 1, cross 1→2, aisle 2, ... last aisle."""
    length, last = aisle_length(layout), max(aisles)
    layers: list[dict] = []
    frontier = {START: (0.0, None, None)}
    for j in range(1, last + 1):
        if j > 1:
            frontier = _relax(frontier, _cross_moves(layout.aisle_spacing), lambda s, m: _cross(s, m, depot=j == 2))
            layers.append(frontier)
        ys = [points[i][1] for i in aisles.get(j, [])]
        frontier = _relax(frontier, [(m, m.cost) for m in aisle_moves(ys, length)], _vertical)
        layers.append(frontier)
    return layers


def _relax(frontier: dict, moves, step) -> dict:
    nxt: dict = {}
    for state, (cost, _, _) in frontier.items():
        for move, move_cost in moves:
            new = step(state, move)
            if new is not None and (new not in nxt or cost + move_cost < nxt[new][0] - 1e-12):
                nxt[new] = (cost + move_cost, state, move)
    return nxt


def _cross_moves(spacing: float):
    return [((t, u), (t + u) * spacing) for t in range(3) for u in range(3)]


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


def _choices(layers: list[dict], state: State) -> list:
    chosen = []
    for layer in reversed(layers):
        _, state, choice = layer[state]
        chosen.append(choice)
    return chosen[::-1]


def _edges_of(choices: list, aisles: dict[int, list[int]]) -> list[tuple[Node, Node]]:
    edges: list[tuple[Node, Node]] = []
    for k, choice in enumerate(choices):
        j = k // 2 + 1
        if k % 2 == 1:                                  # cross-aisle edges from j to j+1
            t, u = choice
            edges += [(("a", j), ("a", j + 1))] * t + [(("b", j), ("b", j + 1))] * u
            continue
        chain = [("a", j), *(("p", i) for i in aisles.get(j, [])), ("b", j)]
        links = list(zip(chain, chain[1:]))
        n = len(chain) - 1                              # links[:n-1] end at the last pick
        part = {"none": [], "traverse": links, "double": links * 2, "front": links[:n - 1] * 2,
                "back": links[1:] * 2, "split": (links[:choice.gap] + links[choice.gap + 1:]) * 2}
        edges += part[choice.kind]
    return edges


def _euler_circuit(edges: list[tuple[Node, Node]], start: Node) -> list[Node]:
    """Hierholzer's algorithm on a connected multigraph with even degrees."""
    adjacent: dict[Node, list[tuple[Node, int]]] = defaultdict(list)
    for k, (u, v) in enumerate(edges):
        adjacent[u].append((v, k))
        adjacent[v].append((u, k))
    used, stack, circuit = [False] * len(edges), [start], []
    while stack:
        node = stack[-1]
        while adjacent[node] and used[adjacent[node][-1][1]]:
            adjacent[node].pop()
        if adjacent[node]:
            nxt, k = adjacent[node].pop()
            used[k] = True
            stack.append(nxt)
        else:
            circuit.append(stack.pop())
    return circuit[::-1]


def _picks_by_aisle(points: Sequence[Point]) -> dict[int, list[int]]:
    """{aisle: point indexes sorted front to back} (ties by index, as in domain.routing)."""
    grouped: dict[int, list[int]] = defaultdict(list)
    for i, (aisle, _) in enumerate(points):
        grouped[int(aisle)].append(i)
    return {aisle: sorted(idx, key=lambda i: (points[i][1], i)) for aisle, idx in grouped.items()}
