"""Partitioned readers keep to their channels and warehouses, in SQL; one run per floor cell.

Two channels ('a', 'b') each with an order shipping to New Jersey (served from EWR) and one to
California (LAX), on SQLite and PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import event, select

from domain import states
from domain.partitions import cell_lock_key
from warehouse.bulk import read_frame, upsert
from warehouse.orders import holding_cells, orders_in, transition
from warehouse.reference import sync_world
from warehouse.schema import order_lines, orders, shipments
from warehouse.shipments import unpushed_fulfillments, waved_without_label
from warehouse.stock import release_expired, reserve_orders, seed_stock
from warehouse.waves import claim_reserved_picks

NOW = pd.Timestamp("2026-11-26 10:00").to_pydatetime()
TTL = timedelta(hours=48)
ROOT = Path(__file__).resolve().parents[2]
ORDERS = {"a:NJ", "a:CA", "b:NJ", "b:CA"}  # channel:external_id, external_id = ship-to region


@pytest.fixture
def two_channels(engine, order_frames, world):
    with engine.begin() as conn:
        sync_world(conn, world, now=NOW)
        seed_stock(conn, pd.DataFrame([("SKU-1", w.bins[0].location_id, w.id, 10) for w in world.warehouses],
                                      columns=["sku", "location_id", "warehouse_id", "on_hand"]))
        for channel in ("a", "b"):
            for region in ("NJ", "CA"):
                found, lines = order_frames({region: [("SKU-1", 1)]}, channel=channel, region=region)
                upsert(conn, orders, found)
                upsert(conn, order_lines, lines)
    return engine


def reserve(engine, world, **partition):
    with engine.begin() as conn:
        return reserve_orders(conn, warehouses=world.warehouses, now=NOW, ttl=TTL, **partition)


def status(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(orders.c.order_id, orders.c.status)).all())


@contextmanager
def statements(engine):
    """The SQL the engine runs inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_payment_checks_read_only_their_channels_orders(two_channels):
    with two_channels.connect() as conn:
        found = orders_in(conn, states.PAYMENT_VERIFIED, channels=["b"], columns=["order_id"])
        everyone = orders_in(conn, states.PAYMENT_VERIFIED, columns=["order_id"])
        nobody = orders_in(conn, states.PAYMENT_VERIFIED, channels=[], columns=["order_id"])
    assert set(found["order_id"]) == {"b:NJ", "b:CA"}
    assert set(everyone["order_id"]) == ORDERS and nobody.empty


def test_a_channel_reserves_its_own_orders_each_in_its_nearest_warehouse(two_channels, world):
    allocation = reserve(two_channels, world, channels=["a"])
    assert dict(zip(allocation.outcomes["order_id"], allocation.outcomes["warehouse_id"])) == \
        {"a:NJ": "EWR", "a:CA": "LAX"}
    assert status(two_channels) == {"a:NJ": states.RESERVED, "a:CA": states.RESERVED,
                                    "b:NJ": states.PAYMENT_VERIFIED, "b:CA": states.PAYMENT_VERIFIED}


def test_expired_reservations_are_released_only_for_the_runs_channels(two_channels, world):
    reserve(two_channels, world)
    with two_channels.begin() as conn:
        released = release_expired(conn, now=NOW + TTL, channels=["b"])
    assert released == 2
    assert status(two_channels) == {"a:NJ": states.RESERVED, "a:CA": states.RESERVED,
                                    "b:NJ": states.PAYMENT_VERIFIED, "b:CA": states.PAYMENT_VERIFIED}


def test_a_warehouse_waves_only_the_orders_allocated_to_it(two_channels, world):
    reserve(two_channels, world)
    with two_channels.begin() as conn:
        ewr = claim_reserved_picks(conn, warehouses=["EWR"])
        b_at_lax = claim_reserved_picks(conn, channels=["b"], warehouses=["LAX"])
        everything = claim_reserved_picks(conn)
    assert set(ewr["order_id"]) == {"a:NJ", "b:NJ"} and set(ewr["warehouse_id"]) == {"EWR"}
    assert set(b_at_lax["order_id"]) == {"b:CA"}
    assert set(everything["order_id"]) == ORDERS


def test_labels_and_pushes_are_read_per_channel_and_warehouse(two_channels, world):
    reserve(two_channels, world)
    with two_channels.begin() as conn:
        transition(conn, pd.DataFrame({"order_id": sorted(ORDERS), "status": states.WAVED}), at=NOW, flow_run_id=None)
    with two_channels.connect() as conn:
        unlabelled = waved_without_label(conn, channels=["a"], warehouses=["LAX"])
    assert unlabelled["order_id"].tolist() == ["a:CA"]

    with two_channels.begin() as conn:
        placed = read_frame(conn, select(orders.c.order_id, orders.c.warehouse_id))
        upsert(conn, shipments, placed.assign(
            shipment_id=placed["order_id"] + "/out", direction="outbound", idempotency_key=placed["order_id"],
            label_status="purchased", carrier="usps", tracking_number=[f"9400{i}" for i in range(len(placed))],
            created_at=NOW, updated_at=NOW))
    with two_channels.connect() as conn:
        todo = unpushed_fulfillments(conn, warehouses=["EWR"])
        b_todo = unpushed_fulfillments(conn, channels=["b"])
    assert set(todo["shipment_id"]) == {"a:NJ/out", "b:NJ/out"}
    assert set(b_todo["channel"]) == {"b"} and len(b_todo) == 2


@pytest.mark.parametrize("read", [
    lambda conn: claim_reserved_picks(conn, channels=["a"], warehouses=["EWR"]),
    lambda conn: waved_without_label(conn, channels=["a"], warehouses=["EWR"]),
    lambda conn: unpushed_fulfillments(conn, channels=["a"], warehouses=["EWR"]),
], ids=["waves", "labels", "pushes"])
def test_partition_filters_are_in_the_sql_not_applied_afterwards(two_channels, read):
    with statements(two_channels) as seen, two_channels.begin() as conn:
        read(conn)
    assert any("orders.channel IN" in s and "orders.warehouse_id IN" in s for s in seen)


def test_intake_filters_by_channel_in_the_sql(two_channels, world):
    with statements(two_channels) as seen:
        reserve(two_channels, world, channels=["a"])
        with two_channels.connect() as conn:
            orders_in(conn, states.NEW, channels=["a"])
    claims = [s for s in seen if "FROM orders" in s and "orders.status IN" in s]
    assert len(claims) == 2 and all("orders.channel IN" in s for s in claims)


# --- one run per floor cell -------------------------------------------------------------------
MAIN_EWR, OUTLET_EWR = cell_lock_key("shopify-main", "EWR"), cell_lock_key("shopify-outlet", "EWR")


def enter_in_thread(engine, keys) -> tuple[threading.Thread, threading.Event]:
    inside = threading.Event()

    def work():
        with holding_cells(engine, keys):
            inside.set()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, inside


def test_a_second_run_waits_for_the_cell_another_run_holds(engine):
    with holding_cells(engine, [MAIN_EWR, OUTLET_EWR]):
        thread, inside = enter_in_thread(engine, [OUTLET_EWR])
        assert not inside.wait(0.5)  # queued behind the first run
    assert inside.wait(10)
    thread.join(10)


def test_runs_on_different_cells_do_not_wait_for_each_other(engine):
    with holding_cells(engine, [MAIN_EWR]):
        thread, inside = enter_in_thread(engine, [OUTLET_EWR])
        assert inside.wait(10)
    thread.join(10)


def test_a_worker_that_dies_holding_a_cell_frees_it(engine, db_url):
    crash = ("import os\nfrom warehouse.db import make_engine\nfrom warehouse.orders import holding_cells\n"
             f"holding_cells(make_engine({db_url!r}), [{MAIN_EWR}]).__enter__()\n"
             "print('holding', flush=True)\nos._exit(9)  # no clean-up: a killed worker\n")
    dead = subprocess.run([sys.executable, "-c", crash], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dead.returncode == 9 and dead.stdout.strip() == "holding", dead.stderr
    thread, inside = enter_in_thread(engine, [MAIN_EWR])
    assert inside.wait(10)
    thread.join(10)
