"""Shopify's calculated query cost and the leaky bucket it drains, approximated.

Shopify charges each query its *requested* cost up front (the bucket must hold it, or the
answer is THROTTLED) and refunds the difference to the *actual* cost once it has run. We price
a query the way its docs describe in spirit: a connection or list asked for `first: n` (or a
`nodes(ids:)` lookup of n ids) costs n times (1 + what each item selects); plain objects and
scalars are free; each mutation field costs 10 on top ("Mutation: 10", shopify.dev/docs/apps/
build/apis/graphql-admin/rate-limits#cost-calculation), so a document sending n aliased
mutations pays 10 n. The bucket restores on real monotonic time because clients really wait for it."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode, FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode,
    OperationDefinitionNode, OperationType, SelectionSetNode, value_from_ast_untyped,
)

MUTATION_COST = 10
SINGLE_QUERY_MAX_COST = 1000     # Shopify refuses any one query priced above this


def requested_cost(document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any]) -> int:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next((o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)),
                     operations[0])
    mutations = _top_fields(operation.selection_set, fragments) if operation.operation == OperationType.MUTATION else 0
    return 1 + MUTATION_COST * mutations + _selection_cost(operation.selection_set, fragments, variables)


def _top_fields(selection_set: SelectionSetNode, fragments) -> int:
    """How many fields the operation selects at its root (aliases each count)."""
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            total += 1
        elif isinstance(selection, InlineFragmentNode):
            total += _top_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            total += _top_fields(fragments[selection.name.value].selection_set, fragments)
    return total


def _selection_cost(selection_set: SelectionSetNode | None, fragments, variables) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            inner = _selection_cost(selection.selection_set, fragments, variables)
            multiplier = _multiplier(selection, variables)
            total += multiplier * (1 + inner) if multiplier is not None else inner
        elif isinstance(selection, InlineFragmentNode):
            total += _selection_cost(selection.selection_set, fragments, variables)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            total += _selection_cost(fragments[selection.name.value].selection_set, fragments, variables)
    return total


def _multiplier(field: FieldNode, variables) -> int | None:
    args = {a.name.value: value_from_ast_untyped(a.value, variables) for a in field.arguments or ()}
    if isinstance(args.get("first"), int):
        return max(0, args["first"])
    if isinstance(args.get("last"), int):
        return max(0, args["last"])
    if isinstance(args.get("ids"), list):
        return len(args["ids"])
    return None


def actual_cost(data: Any, requested: int) -> int:
    """What the answer really held: one point per object returned inside a list (each order,
    line, return...), plus the base; never more than requested."""
    return min(requested, 1 + _count_listed_objects(data))


def _count_listed_objects(value: Any, in_list: bool = False) -> int:
    if isinstance(value, dict):
        return (1 if in_list else 0) + sum(_count_listed_objects(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_listed_objects(v, in_list=True) for v in value)
    return 0


@dataclass
class ThrottleStatus:
    maximumAvailable: float
    currentlyAvailable: float
    restoreRate: float


class LeakyBucket:
    """One shop's query-cost bucket (Shopify keeps one per app and shop)."""

    def __init__(self, *, size: float, restore_rate: float, monotonic: Callable[[], float] = time.monotonic):
        self.size = size
        self.restore_rate = restore_rate
        self._monotonic = monotonic
        self._available = size
        self._at = monotonic()
        self._lock = threading.Lock()

    def _restore(self) -> None:
        now = self._monotonic()
        self._available = min(self.size, self._available + (now - self._at) * self.restore_rate)
        self._at = now

    def take(self, requested: int) -> bool:
        """Reserve the requested cost if the bucket holds it."""
        with self._lock:
            self._restore()
            if self._available + 1e-6 < requested:   # float dust must not throttle a paid-for query
                return False
            self._available -= requested
            return True

    def refund(self, points: float) -> None:
        with self._lock:
            self._restore()
            self._available = min(self.size, self._available + max(0.0, points))

    def status(self) -> ThrottleStatus:
        with self._lock:
            self._restore()
            return ThrottleStatus(self.size, round(self._available, 1), self.restore_rate)

    def whole_points(self) -> ThrottleStatus:
        """The status as Shopify reports it: currentlyAvailable in whole points, rounded down
        (recorded answers show 999, 1990, 666; never a fraction), the other two as floats."""
        with self._lock:
            self._restore()
            return ThrottleStatus(float(self.size), math.floor(self._available + 1e-6), float(self.restore_rate))


def cost_extension(requested: int, actual: int | None, bucket: LeakyBucket) -> dict:
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                     "throttleStatus": vars(bucket.whole_points())}}
