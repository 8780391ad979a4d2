"""Claiming reserved picks for a wave run: the claim reads every active reservation with its
bin, and two runs at once never wave the same order (PostgreSQL: the claim is a
FOR UPDATE SKIP LOCKED sub-select of the read itself; SQLite serialises writers).

Two channels ('a', 'b') each with a reserved order shipping to New Jersey (EWR) and one to
California (LAX)."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

import tasks.plan_pick_waves as waves_task
from tasks.resources import reset_resources
from warehouse.bulk import upsert
from warehouse.reference import sync_world
from warehouse.schema import order_lines, orders
from warehouse.stock import reserve_orders, seed_stock
from warehouse.waves import claim_reserved_picks, warehouses_to_wave

NOW = pd.Timestamp("2026-11-26 10:00").to_pydatetime()
ORDERS = {"a:NJ", "a:CA", "b:NJ", "b:CA"}
POSTGRES_ONLY = [pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def reserved(engine, order_frames, world):
    with engine.begin() as conn:
        sync_world(conn, world, now=NOW)
        seed_stock(conn, pd.DataFrame([(sku, w.bins[k].location_id, w.id, 10)
                                       for w in world.warehouses for k, sku in enumerate(["SKU-1", "SKU-2"])],
                                      columns=["sku", "location_id", "warehouse_id", "on_hand"]))
        for channel in ("a", "b"):
            for region in ("NJ", "CA"):
                found, lines = order_frames({region: [("SKU-2", 1), ("SKU-1", 2)]}, channel=channel, region=region)
                upsert(conn, orders, found)
                upsert(conn, order_lines, lines)
        reserve_orders(conn, warehouses=world.warehouses, now=NOW, ttl=timedelta(hours=48))
    return engine


def test_a_claim_reads_every_reserved_pick_with_its_bin_in_order(reserved, world):
    with reserved.begin() as conn:
        picks = claim_reserved_picks(conn)
    assert list(picks.columns) == ["order_id", "line_no", "sku", "location_id", "warehouse_id", "quantity",
                                   "promised_by", "aisle", "bay", "level", "y"]
    assert set(picks["order_id"]) == ORDERS and len(picks) == 2 * len(ORDERS)
    assert picks.equals(picks.sort_values(["order_id", "line_no", "location_id"], ignore_index=True))
    bins = {b.location_id: b for w in world.warehouses for b in w.bins}
    assert all((bins[row.location_id].aisle, bins[row.location_id].bay, bins[row.location_id].y)
               == (row.aisle, row.bay, row.y) for row in picks.itertuples())


def test_nothing_reserved_nothing_claimed(engine):
    with engine.begin() as conn:
        picks = claim_reserved_picks(conn)
    assert picks.empty and "order_id" in picks.columns


@pytest.mark.parametrize("db_url", POSTGRES_ONLY, indirect=True)
def test_a_second_run_skips_the_orders_a_running_one_claimed(reserved):
    with reserved.connect() as first, reserved.connect() as second:
        with first.begin():
            mine = claim_reserved_picks(first, channels=["a"])
            with second.begin():
                theirs = claim_reserved_picks(second)             # does not wait: skips a's locked orders
        with second.begin():
            after = claim_reserved_picks(second)                   # the first run ended without waving
    assert set(mine["order_id"]) == {"a:NJ", "a:CA"}
    assert set(theirs["order_id"]) == {"b:NJ", "b:CA"}
    assert set(after["order_id"]) == ORDERS


def test_the_warehouses_to_wave_come_most_waiting_first(reserved):
    with reserved.begin() as conn:
        conn.execute(orders.update().where(orders.c.order_id == "b:CA").values(status="waved"))
    with reserved.connect() as conn:
        assert warehouses_to_wave(conn) == ["EWR", "LAX"]                 # 2 waiting at EWR, 1 at LAX
        assert warehouses_to_wave(conn, channels=["b"]) == ["EWR"]
        assert warehouses_to_wave(conn, warehouses=["LAX"]) == ["LAX"]


@pytest.fixture
def waving(reserved, db_url, monkeypatch):
    """plan_pick_waves' resources pointed at the reserved warehouse; its artifact and events noted, not sent."""
    monkeypatch.setenv("CUMPLIDO_DATABASE_URL", db_url)
    monkeypatch.setattr(waves_task, "publish_table", lambda *args, **kwargs: None)
    monkeypatch.setattr(waves_task, "emit", lambda *args, **kwargs: None)
    reset_resources()
    yield reserved
    reset_resources()


def waved(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(orders.c.order_id).where(orders.c.status == "waved")).scalars())


def test_each_warehouse_is_waved_in_its_own_transaction_and_a_failed_one_by_the_next_run(waving, monkeypatch):
    real_plan = waves_task.plan

    def lax_fails(picks, **kwargs):
        if set(picks["warehouse_id"]) == {"LAX"}:
            raise RuntimeError("planner crashed")
        return real_plan(picks, **kwargs)

    monkeypatch.setattr(waves_task, "plan", lax_fails)
    with pytest.raises(RuntimeError, match="planner crashed"):
        waves_task.plan_pick_waves.fn(as_of=NOW)
    assert waved(waving) == {"a:NJ", "b:NJ"}                           # EWR's waves stand
    monkeypatch.setattr(waves_task, "plan", real_plan)

    result = waves_task.plan_pick_waves.fn(as_of=NOW)

    assert result["orders_waved"] == 2 and waved(waving) == ORDERS      # the next run waves LAX's
    assert waves_task.plan_pick_waves.fn(as_of=NOW) == {"waves": 0, "orders_waved": 0, "pick_lines": 0}
