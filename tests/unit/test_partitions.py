"""Partitions: which share of the work a fulfil-orders run may touch (domain.partitions)."""
from __future__ import annotations

from itertools import combinations

from hypothesis import given
from hypothesis import strategies as st

from domain.partitions import Partition, cell_lock_key

CHANNELS, WAREHOUSES = ["shopify-main", "shopify-outlet", "woo"], ["EWR", "LAX"]
WORLD = {"channels": CHANNELS, "warehouses": WAREHOUSES}
some = st.one_of(st.none(), st.lists(st.sampled_from(CHANNELS), max_size=3))
some_warehouses = st.one_of(st.none(), st.lists(st.sampled_from(WAREHOUSES), max_size=2))


def test_no_names_means_the_whole_shop():
    assert Partition.of() == Partition.of([], []) == Partition(None, None)
    assert Partition.of().label == "all-channels"
    assert Partition.of().cells(**WORLD) == [(c, w) for c in CHANNELS for w in WAREHOUSES]


def test_the_same_names_in_any_order_are_the_same_partition():
    assert Partition.of(["shopify-outlet", "shopify-main", "shopify-main"]) == Partition.of(["shopify-main",
                                                                                           "shopify-outlet"])
    assert Partition.of("shopify-main") == Partition.of(["shopify-main"])  # one name, not its letters


def test_only_runs_over_every_warehouse_pull_and_reserve():
    """Reservation chooses the warehouse: a warehouse partition reserving would either spend
    another warehouse's stock or keep an order from the warehouse that serves it best."""
    assert Partition.of(["shopify-main"]).runs_intake
    assert not Partition.of(warehouses=["EWR"]).runs_intake
    assert not Partition.of(["shopify-main"], ["EWR"]).runs_intake


def test_run_names_say_which_partition_ran():
    assert Partition.of(["shopify-main"]).label == "shopify-main"
    assert Partition.of(warehouses=["LAX", "EWR"]).label == "all-channels@EWR,LAX"
    assert Partition.of(["shopify-outlet"], ["EWR"]).label == "shopify-outlet@EWR"


def test_names_the_world_does_not_define_are_reported():
    partition = Partition.of(["shopify-main", "ebay"], ["EWR", "MIA"])
    assert partition.unknown(**WORLD) == ["channel 'ebay'", "warehouse 'MIA'"]
    assert Partition.of(["woo"], ["LAX"]).unknown(**WORLD) == []


def test_channel_partitions_share_no_floor_cell_and_together_cover_the_shop():
    by_channel = [Partition.of([c]).cells(**WORLD) for c in CHANNELS]
    assert sorted(cell for cells in by_channel for cell in cells) == Partition.of().cells(**WORLD)
    assert all(not set(a) & set(b) for a, b in combinations(by_channel, 2))


@given(some, some_warehouses, some, some_warehouses)
def test_two_partitions_share_exactly_the_cells_of_their_overlap(c1, w1, c2, w2):
    p1, p2 = Partition.of(c1, w1), Partition.of(c2, w2)
    shared = set(p1.cells(**WORLD)) & set(p2.cells(**WORLD))
    channels = set(p1.channels or CHANNELS) & set(p2.channels or CHANNELS)
    warehouses = set(p1.warehouses or WAREHOUSES) & set(p2.warehouses or WAREHOUSES)
    assert shared == {(c, w) for c in channels for w in warehouses}


def test_every_cell_has_its_own_stable_64_bit_lock_key():
    keys = [cell_lock_key(c, w) for c in CHANNELS for w in WAREHOUSES]
    assert len(set(keys)) == len(keys)
    assert all(-(2 ** 63) <= k < 2 ** 63 for k in keys)
    # pinned: workers of two releases side by side must still exclude each other
    assert cell_lock_key("shopify-main", "EWR") == -2390829695921009851
    assert cell_lock_key("shopify-main", "EWR") != cell_lock_key("EWR", "shopify-main")
