"""Shipping: reserved orders batched into pick waves, pick lines in walking order."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.world import Layout, Warehouse, WaveRules
from domain.routing import best_route, walking_distance
from domain.routing_optimal import optimal_route
from domain.waves import next_cutoff, plan_pick_waves
from tests.unit.factories import T0, picks

NOW = datetime(2026, 11, 26, 9, 30)


def plan(world, frame, rules=None, now=NOW):
    return plan_pick_waves(frame, warehouses=world.warehouses, rules=rules or world.waves, now=now)


def test_next_cutoff_is_the_first_pickup_at_or_after_now(world):
    ewr = world.warehouse("EWR")                                            # 11:00 and 16:00
    day = datetime(2026, 11, 26)
    assert next_cutoff(ewr, day.replace(hour=9)) == day.replace(hour=11)
    assert next_cutoff(ewr, day.replace(hour=11)) == day.replace(hour=11)
    assert next_cutoff(ewr, day.replace(hour=12)) == day.replace(hour=16)
    assert next_cutoff(ewr, day.replace(hour=17)) == datetime(2026, 11, 27, 11)


def test_waves_respect_order_and_line_caps(world):
    rows = [(f"o{i:02d}", no, (1 + i % 6, 1 + no, 1)) for i in range(30) for no in range(1, 4)]
    out = plan(world, picks(world.warehouse("EWR"), rows), rules=WaveRules(max_orders=4, max_lines=10))
    assert (out.waves["order_count"] <= 4).all() and (out.waves["line_count"] <= 10).all()
    assert out.waves["order_count"].sum() == 30 and out.waves["line_count"].sum() == 90
    per_wave = out.pick_lines.groupby("wave_id").agg(orders=("order_id", "nunique"), lines=("seq", "size"))
    assert per_wave.set_index(per_wave.index).to_dict("index") == out.waves.set_index("wave_id")[
        ["order_count", "line_count"]].rename(columns={"order_count": "orders", "line_count": "lines"}).to_dict("index")


def test_an_order_is_never_split_across_waves(world):
    rows = [(f"o{i}", no, (1 + no % 6, 1 + i % 10, 1)) for i in range(20) for no in range(1, 6)]
    out = plan(world, picks(world.warehouse("EWR"), rows), rules=WaveRules(max_orders=5, max_lines=12))
    assert (out.pick_lines.groupby("order_id")["wave_id"].nunique() == 1).all()


def test_an_order_bigger_than_the_line_cap_gets_a_wave_of_its_own(world):
    rows = [("big", no, (1 + no % 6, 1 + no % 10, 1)) for no in range(1, 13)] + [("small", 1, (1, 1, 1))]
    out = plan(world, picks(world.warehouse("EWR"), rows), rules=WaveRules(max_orders=10, max_lines=5))
    assert sorted(out.waves["line_count"]) == [1, 12]


def test_pick_lines_follow_walking_order(world):
    ewr = world.warehouse("EWR")
    rows = [("o1", 1, (5, 9, 1)), ("o1", 2, (1, 2, 1)), ("o2", 1, (3, 5, 2)), ("o2", 2, (1, 8, 3)), ("o3", 1, (5, 1, 1))]
    frame = picks(ewr, rows)
    out = plan(world, frame)
    lines = out.pick_lines.sort_values("seq")
    assert lines["seq"].tolist() == [1, 2, 3, 4, 5]
    located = lines.merge(frame, on=["order_id", "line_no"])
    points = list(zip(located["aisle"], located["y"]))
    route = optimal_route(points, ewr.layout)
    assert route.order == tuple(range(len(points)))              # walking the seq order IS the shortest route
    assert out.waves["travel_distance"].iloc[0] == route.distance


def test_every_wave_of_every_warehouse_walks_its_own_shortest_route(world):
    rng = np.random.default_rng(11)
    frames = []
    for warehouse in world.warehouses:
        slots = [(b.aisle, b.bay, b.level) for b in warehouse.bins]
        rows = [(f"{warehouse.id}-o{i:03d}", no, slots[rng.integers(len(slots))])
                for i in range(60) for no in range(1, 1 + int(rng.integers(1, 5)))]
        frames.append(picks(warehouse, rows))
    frame = pd.concat(frames, ignore_index=True).sample(frac=1, random_state=2)
    out = plan(world, frame, rules=WaveRules(max_orders=5, max_lines=12))
    located = out.pick_lines.merge(frame, on=["order_id", "line_no", "location_id"])
    assert out.waves["warehouse_id"].nunique() == len(world.warehouses) and len(out.waves) > 3 * len(world.warehouses)
    for wave in out.waves.itertuples():
        walked = located[located["wave_id"] == wave.wave_id].sort_values("seq")
        assert walked["seq"].tolist() == list(range(1, wave.line_count + 1))
        layout = world.warehouse(wave.warehouse_id).layout
        points = list(zip(walked["aisle"], walked["y"] - layout.depot[1]))
        stops = [(1, 0.0), *points, (1, 0.0)]                                   # from the depot and back
        walk = sum(walking_distance(a, b, layout) for a, b in zip(stops, stops[1:]))
        assert walk == pytest.approx(wave.travel_distance) == optimal_route(points, layout).distance


def test_waves_are_per_warehouse_and_target_its_next_cutoff(world):
    frame = pd.concat([picks(world.warehouse("EWR"), [("east", 1, (1, 1, 1))]),
                       picks(world.warehouse("LAX"), [("west", 1, (2, 2, 1))])])
    out = plan(world, frame, now=datetime(2026, 11, 26, 12, 0))
    assert out.waves.set_index("warehouse_id")["cutoff_at"].to_dict() == {
        "EWR": datetime(2026, 11, 26, 16, 0), "LAX": datetime(2026, 11, 26, 13, 0)}
    assert out.waves["status"].eq("released").all() and out.waves["created_at"].eq(datetime(2026, 11, 26, 12, 0)).all()


def test_wave_ids_are_deterministic_and_name_warehouse_and_cutoff(world):
    rows = [(f"o{i}", 1, (1 + i % 6, 1 + i % 10, 1)) for i in range(30)]
    first = plan(world, picks(world.warehouse("EWR"), rows))
    again = plan(world, picks(world.warehouse("EWR"), rows[::-1]))
    assert sorted(first.waves["wave_id"]) == sorted(again.waves["wave_id"])
    assert first.waves["wave_id"].str.match(r"^EWR-20261126T1100-[0-9a-f]{10}$").all()


def test_most_urgent_orders_are_waved_first(world):
    ewr = world.warehouse("EWR")
    rows = [(f"o{i:02d}", 1, (1 + i % 6, 1 + i % 10, 1)) for i in range(24)]
    urgent = {f"o{i:02d}" for i in range(0, 24, 4)}
    promised = {o: T0 + timedelta(days=1 if o in urgent else 5) for o, _, _ in rows}
    out = plan(world, picks(ewr, rows, promised=promised), rules=WaveRules(max_orders=6, max_lines=40))
    first_wave = out.waves["wave_id"].iloc[0]
    assert set(out.pick_lines.loc[out.pick_lines["wave_id"] == first_wave, "order_id"]) == urgent


def test_orders_picked_in_the_same_aisles_are_batched_together(world):
    ewr = world.warehouse("EWR")
    near = [(f"n{i}", 1, (1, 1 + i, 1)) for i in range(4)]
    far = [(f"f{i}", 1, (6, 1 + i, 1)) for i in range(4)]
    interleaved = [row for pair in zip(near, far) for row in pair]
    out = plan(world, picks(ewr, interleaved), rules=WaveRules(max_orders=4, max_lines=40))
    batches = out.pick_lines.groupby("wave_id")["order_id"].agg(lambda s: "".join(sorted({o[0] for o in s})))
    assert sorted(batches) == ["f", "n"]


def test_unknown_warehouse_is_refused(world):
    frame = picks(world.warehouse("EWR"), [("o1", 1, (1, 1, 1))]).assign(warehouse_id="ZZZ")
    try:
        plan(world, frame)
    except ValueError as exc:
        assert "ZZZ" in str(exc)
    else:
        raise AssertionError("expected ValueError")


# --- invariants ------------------------------------------------------------------------

@st.composite
def warehouse_and_picks(draw, min_orders=0):
    layout = Layout(aisles=draw(st.integers(2, 10)), bays=draw(st.integers(3, 15)), levels=2,
                    aisle_spacing=draw(st.floats(1.5, 4.0)), bay_width=draw(st.floats(0.8, 1.5)))
    warehouse = Warehouse(id="TST", name="test", priority=1, cutoffs=("12:00",), layout=layout,
                          address={"name": "t", "line1": "1", "city": "c", "region": "NJ", "postal_code": "0",
                                   "country": "US"})
    slots = st.tuples(st.integers(1, layout.aisles), st.integers(1, layout.bays), st.integers(1, 2))
    orders = draw(st.lists(st.lists(slots, min_size=1, max_size=5), min_size=min_orders, max_size=40))
    rows = [(f"o{i:02d}", no, slot) for i, slots_ in enumerate(orders) for no, slot in enumerate(slots_, 1)]
    days = draw(st.lists(st.integers(1, 3), min_size=len(orders), max_size=len(orders)))
    promised = {f"o{i:02d}": T0 + timedelta(days=d) for i, d in enumerate(days)}
    return warehouse, picks(warehouse, rows, promised=promised)


@given(warehouse_and_picks(), st.integers(1, 8), st.integers(1, 20))
def test_every_order_lands_in_exactly_one_wave_within_caps(case, max_orders, max_lines):
    warehouse, frame = case
    rules = WaveRules(max_orders=max_orders, max_lines=max_lines)
    out = plan_pick_waves(frame, warehouses=[warehouse], rules=rules, now=NOW)
    assert len(out.pick_lines) == len(frame)
    assert set(map(tuple, out.pick_lines[["order_id", "line_no"]].values)) == set(map(tuple, frame[["order_id", "line_no"]].values))
    assert (out.pick_lines.groupby("order_id")["wave_id"].nunique() == 1).all()
    assert out.waves["wave_id"].is_unique
    for wave in out.waves.itertuples():
        lines = out.pick_lines[out.pick_lines["wave_id"] == wave.wave_id]
        assert sorted(lines["seq"]) == list(range(1, len(lines) + 1))
        assert wave.order_count <= max_orders
        assert wave.line_count <= max_lines or wave.order_count == 1


@settings(max_examples=30)
@given(warehouse_and_picks(min_orders=12))
def test_waves_walk_less_than_one_route_per_order(case):
    warehouse, frame = case
    out = plan_pick_waves(frame, warehouses=[warehouse], rules=WaveRules(max_orders=8, max_lines=40), now=NOW)
    single = sum(best_route(list(zip(g["aisle"], g["y"])), warehouse.layout).distance
                 for _, g in frame.groupby("order_id"))
    assert out.waves["travel_distance"].sum() < single


def test_planning_a_busy_day_is_fast(world):
    import time
    rng = np.random.default_rng(3)
    ewr = world.warehouse("EWR")
    slots = [(b.aisle, b.bay, b.level) for b in ewr.bins]
    rows = [(f"o{i:04d}", no, slots[rng.integers(len(slots))]) for i in range(3000) for no in range(1, 4)]
    frame = picks(ewr, rows)
    start = time.perf_counter()
    out = plan(world, frame)
    assert time.perf_counter() - start < 3.0
    assert out.waves["order_count"].sum() == 3000
