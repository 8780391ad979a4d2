"""Storage: orders get stock from one warehouse, first come first served, never oversold."""
from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from domain import states
from domain.allocation import allocate_stock, rank_warehouses
from tests.unit.factories import order_lines, ranking, stock


def outcome_of(allocation, order_id):
    row = allocation.outcomes.set_index("order_id").loc[order_id]
    return row["status"], (None if pd.isna(row["warehouse_id"]) else row["warehouse_id"])


# --- ranking ---------------------------------------------------------------------------

def test_nearest_warehouse_ranks_first(world):
    orders = pd.DataFrame({"order_id": ["east", "west"], "ship_to_region": ["NY", "CA"]})
    ranked = rank_warehouses(orders, world.warehouses)
    first = ranked[ranked["rank"] == 0].set_index("order_id")["warehouse_id"]
    assert first.to_dict() == {"east": "EWR", "west": "LAX"}
    assert len(ranked) == 2 * len(world.warehouses)


def test_unknown_region_ranks_warehouses_by_priority(world):
    orders = pd.DataFrame({"order_id": ["abroad", "blank"], "ship_to_region": ["Ontario", None]})
    ranked = rank_warehouses(orders, world.warehouses).sort_values(["order_id", "rank"])
    by_priority = [w.id for w in sorted(world.warehouses, key=lambda w: w.priority)]
    assert ranked.groupby("order_id")["warehouse_id"].agg(list).to_dict() == {
        "abroad": by_priority, "blank": by_priority}


def test_equally_near_warehouses_rank_by_priority(world):
    twin = world.warehouses[1].model_copy(update={"id": "NJ2", "priority": 0,
                                                  "address": world.warehouses[0].address})
    ranked = rank_warehouses(pd.DataFrame({"order_id": ["o"], "ship_to_region": ["nj"]}),
                             [world.warehouses[0], twin, world.warehouses[1]])
    assert ranked.sort_values("rank")["warehouse_id"].tolist() == ["NJ2", "EWR", "LAX"]


def test_full_state_names_are_understood(world):
    ranked = rank_warehouses(pd.DataFrame({"order_id": ["o"], "ship_to_region": ["California"]}), world.warehouses)
    assert ranked.sort_values("rank")["warehouse_id"].iloc[0] == "LAX"


# --- allocation ------------------------------------------------------------------------

def test_allocation_prefers_nearest_warehouse_that_can_ship_complete():
    lines = order_lines([("o1", 1, "MUG", 1), ("o1", 2, "TEE", 2)])
    shelves = stock([("MUG", "EWR-1", "EWR", 5), ("TEE", "EWR-2", "EWR", 1),      # nearest, but short of TEE
                     ("MUG", "LAX-1", "LAX", 5), ("TEE", "LAX-2", "LAX", 5)])
    alloc = allocate_stock(lines, shelves, ranking({"o1": ["EWR", "LAX"]}))
    assert outcome_of(alloc, "o1") == (states.RESERVED, "LAX")
    assert set(alloc.reservations["warehouse_id"]) == {"LAX"}
    assert alloc.reservations.groupby("line_no")["quantity"].sum().to_dict() == {1: 1, 2: 2}
    assert alloc.backorders.empty


def test_nearest_warehouse_wins_when_it_can_ship_complete():
    lines = order_lines([("o1", 1, "MUG", 1)])
    shelves = stock([("MUG", "EWR-1", "EWR", 5), ("MUG", "LAX-1", "LAX", 50)])
    assert outcome_of(allocate_stock(lines, shelves, ranking({"o1": ["EWR", "LAX"]})), "o1") == (states.RESERVED, "EWR")


def test_order_is_never_split_across_warehouses():
    lines = order_lines([("o1", 1, "MUG", 1), ("o1", 2, "TEE", 1)])
    shelves = stock([("MUG", "EWR-1", "EWR", 5), ("TEE", "LAX-2", "LAX", 5)])
    alloc = allocate_stock(lines, shelves, ranking({"o1": ["EWR", "LAX"]}))
    assert outcome_of(alloc, "o1") == (states.BACKORDERED, None)


def test_backordered_order_reserves_nothing():
    lines = order_lines([("o1", 1, "MUG", 1), ("o1", 2, "TEE", 3)])
    shelves = stock([("MUG", "EWR-1", "EWR", 5), ("TEE", "EWR-2", "EWR", 1), ("TEE", "LAX-2", "LAX", 2)])
    alloc = allocate_stock(lines, shelves, ranking({"o1": ["EWR", "LAX"]}))
    assert alloc.reservations.empty
    assert outcome_of(alloc, "o1") == (states.BACKORDERED, None)
    # the shortfall is what the best-ranked warehouse lacks, line by line
    assert alloc.backorders[["order_id", "line_no", "sku", "quantity_short"]].values.tolist() == [["o1", 2, "TEE", 2]]


def test_backorder_leaves_stock_for_later_orders():
    lines = order_lines([("big", 1, "MUG", 10), ("small", 1, "MUG", 3)])
    alloc = allocate_stock(lines, stock([("MUG", "EWR-1", "EWR", 5)]), ranking({"big": ["EWR"], "small": ["EWR"]}))
    assert outcome_of(alloc, "big")[0] == states.BACKORDERED
    assert outcome_of(alloc, "small") == (states.RESERVED, "EWR")


def test_first_placed_order_gets_the_last_unit():
    lines = order_lines([("late", 1, "MUG", 1), ("early", 1, "MUG", 1)], placed={"late": 30, "early": 10})
    alloc = allocate_stock(lines, stock([("MUG", "EWR-1", "EWR", 1)]), ranking({"late": ["EWR"], "early": ["EWR"]}))
    assert outcome_of(alloc, "early")[0] == states.RESERVED
    assert outcome_of(alloc, "late")[0] == states.BACKORDERED


def test_line_takes_from_the_fullest_bin_first_then_the_next():
    lines = order_lines([("o1", 1, "MUG", 7)])
    shelves = stock([("MUG", "B", "EWR", 2), ("MUG", "A", "EWR", 5), ("MUG", "C", "EWR", 5)])
    alloc = allocate_stock(lines, shelves, ranking({"o1": ["EWR"]}))
    assert alloc.reservations[["location_id", "quantity"]].values.tolist() == [["A", 5], ["C", 2]]


def test_two_lines_of_one_sku_share_the_warehouse_stock():
    lines = order_lines([("o1", 1, "MUG", 2), ("o1", 2, "MUG", 2)])
    alloc = allocate_stock(lines, stock([("MUG", "A", "EWR", 3)]), ranking({"o1": ["EWR"]}))
    assert outcome_of(alloc, "o1")[0] == states.BACKORDERED
    assert alloc.backorders[["line_no", "quantity_short"]].values.tolist() == [[2, 1]]


def test_order_missing_from_ranking_is_backordered_in_full():
    alloc = allocate_stock(order_lines([("o1", 1, "MUG", 2)]), stock([("MUG", "A", "EWR", 3)]), ranking({}))
    assert alloc.backorders[["line_no", "quantity_short"]].values.tolist() == [[1, 2]]


def test_no_lines_gives_empty_typed_frames():
    alloc = allocate_stock(order_lines([]), stock([]), ranking({}))
    assert alloc.reservations.empty and alloc.backorders.empty and alloc.outcomes.empty
    assert list(alloc.reservations.columns) == ["order_id", "line_no", "sku", "location_id", "warehouse_id", "quantity"]
    assert str(alloc.reservations["quantity"].dtype) == "int64"


# --- invariants ------------------------------------------------------------------------

SKUS = ["A", "B", "C"]
WAREHOUSES = ["EWR", "LAX"]
bins = st.lists(st.tuples(st.sampled_from(SKUS), st.sampled_from(["1", "2", "3"]), st.sampled_from(WAREHOUSES),
                          st.integers(0, 6)), max_size=12)
orders_strategy = st.lists(st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 5)), min_size=1, max_size=4),
                           max_size=12)


@given(bins, orders_strategy, st.randoms(use_true_random=False))
def test_allocation_never_exceeds_available_and_covers_each_order_exactly_one_way(bin_rows, orders, rnd):
    shelves = stock([(sku, f"{wh}-{sku}-{b}", wh, units) for sku, b, wh, units in bin_rows]).drop_duplicates(
        ["sku", "location_id"])
    rows = [(f"o{i}", no, sku, qty) for i, lines in enumerate(orders) for no, (sku, qty) in enumerate(lines, 1)]
    prefs = {f"o{i}": rnd.sample(WAREHOUSES, 2) for i in range(len(orders))}
    lines = order_lines(rows)
    alloc = allocate_stock(lines, shelves, ranking(prefs))

    available = {(sku, loc): units for sku, loc, _, units in shelves.itertuples(index=False)}
    taken, reserved, reserved_from = defaultdict(int), defaultdict(int), defaultdict(set)
    for order_id, line_no, sku, loc, wh, qty in alloc.reservations.itertuples(index=False):
        assert qty > 0
        taken[sku, loc] += qty
        reserved[order_id, line_no] += qty
        reserved_from[order_id].add(wh)
    assert all(units <= available[key] for key, units in taken.items())        # never oversold

    short = {(o, no): q for o, no, _, q in alloc.backorders.itertuples(index=False)}
    wanted = {(o, no): q for o, no, _, q in rows}
    assert sorted(alloc.outcomes["order_id"]) == sorted(prefs)
    for order_id, status, wh in alloc.outcomes.itertuples(index=False):
        mine = {key: q for key, q in wanted.items() if key[0] == order_id}
        if status == states.RESERVED:                                          # in full, from one warehouse
            assert all(reserved[key] == q for key, q in mine.items()) and reserved_from[order_id] == {wh}
            assert not any(key in short for key in mine)
        else:                                                                  # nothing partial
            assert status == states.BACKORDERED and pd.isna(wh) and order_id not in reserved_from
            mine_short = {key: short[key] for key in mine if key in short}
            assert mine_short and all(0 < q <= mine[key] for key, q in mine_short.items())


@given(bins, orders_strategy)
def test_an_order_is_backordered_only_when_no_warehouse_could_cover_it_at_its_turn(bin_rows, orders):
    shelves = stock([(sku, f"{wh}-{sku}-{b}", wh, units) for sku, b, wh, units in bin_rows]).drop_duplicates(
        ["sku", "location_id"])
    rows = [(f"o{i:02d}", no, sku, qty) for i, lines in enumerate(orders) for no, (sku, qty) in enumerate(lines, 1)]
    alloc = allocate_stock(order_lines(rows), shelves, ranking({f"o{i:02d}": WAREHOUSES for i in range(len(orders))}))
    left = defaultdict(int)
    for sku, _, wh, units in shelves.itertuples(index=False):
        left[wh, sku] += units
    for order_id, status, wh in alloc.outcomes.itertuples(index=False):      # outcomes are in serving order
        need = defaultdict(int)
        for o, _, sku, qty in rows:
            if o == order_id:
                need[sku] += qty
        coverable = [w for w in WAREHOUSES if all(left[w, s] >= q for s, q in need.items())]
        if status == states.RESERVED:
            assert wh == coverable[0]
            for s, q in need.items():
                left[wh, s] -= q
        else:
            assert not coverable


def test_ten_thousand_orders_allocate_in_well_under_a_second(world):
    rng = np.random.default_rng(7)
    n = 10_000
    per_order = rng.integers(1, 5, n)
    order_ids = np.repeat([f"o{i:05d}" for i in range(n)], per_order)
    lines = pd.DataFrame({
        "order_id": order_ids,
        "line_no": np.concatenate([np.arange(1, k + 1) for k in per_order]),
        "sku": [f"SKU-{i:05d}" for i in rng.integers(1, 121, per_order.sum())],
        "quantity": rng.integers(1, 4, per_order.sum()),
        "placed_at": pd.Timestamp("2026-11-26") + pd.to_timedelta(np.repeat(rng.integers(0, 86_400, n), per_order), "s"),
    })
    shelves = pd.DataFrame([(f"SKU-{s:05d}", f"{w.id}-{s}-{b}", w.id, 60) for w in world.warehouses
                            for s in range(1, 121) for b in range(2)], columns=["sku", "location_id", "warehouse_id", "available"])
    regions = pd.DataFrame({"order_id": [f"o{i:05d}" for i in range(n)], "ship_to_region": rng.choice(["NJ", "CA", "TX"], n)})
    ranked = rank_warehouses(regions, world.warehouses)
    start = time.perf_counter()
    alloc = allocate_stock(lines, shelves, ranked)
    elapsed = time.perf_counter() - start
    assert len(alloc.outcomes) == n
    assert elapsed < 1.0, f"allocate_stock took {elapsed:.2f}s for {n} orders"
