"""The stock repository: never oversold, backorders the shortfall, releases and consumes once."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

import warehouse.stock as stock_repo
from domain import states
from warehouse.bulk import read_frame, upsert
from warehouse.reference import sync_world
from warehouse.schema import (
    backorders,
    fulfillment_events,
    locations,
    order_lines,
    orders,
    reservations,
    stock,
)
from warehouse.stock import (
    InsufficientStock,
    consume_reservations,
    release_expired,
    reserve_orders,
    restock,
    seed_stock,
)

NOW = pd.Timestamp("2026-11-26 10:00").to_pydatetime()
TTL = timedelta(hours=48)
BIN_1, BIN_2, LAX_BIN = "EWR-A01-B01-L1", "EWR-A01-B02-L1", "LAX-A01-B01-L1"


@pytest.fixture
def shop(engine, order_frames, world):
    """Stock SKU-1 in two EWR bins and one LAX bin; place orders; reserve; read tables back."""
    class Shop:
        def stock(self, rows):
            with engine.begin() as conn:
                seed_stock(conn, pd.DataFrame(rows, columns=["sku", "location_id", "warehouse_id", "on_hand"]))

        def place(self, specs, **kw):
            found, lines = order_frames(specs, **kw)
            with engine.begin() as conn:
                upsert(conn, orders, found)
                upsert(conn, order_lines, lines)

        def reserve(self, now=NOW, **kw):
            with engine.begin() as conn:
                return reserve_orders(conn, warehouses=world.warehouses, now=now, ttl=TTL, **kw)

        def read(self, table, *order_by):
            with engine.connect() as conn:
                return read_frame(conn, select(table).order_by(*(order_by or table.primary_key.columns)))

        def status(self):
            return self.read(orders).set_index("order_id")["status"].to_dict()

    return Shop()


def test_the_schema_refuses_a_direct_oversell(engine, shop):
    shop.stock([("SKU-1", BIN_1, "EWR", 2)])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE stock SET reserved = 3"))
    assert shop.read(stock)["reserved"].tolist() == [0]


def test_scarce_stock_goes_to_the_first_orders_and_the_rest_is_backordered(shop):
    shop.stock([("SKU-1", BIN_1, "EWR", 3), ("SKU-2", BIN_1, "EWR", 5)])
    shop.place({"A": [("SKU-1", 2)], "B": [("SKU-1", 2), ("SKU-2", 1)], "C": [("SKU-1", 1)]})
    allocation = shop.reserve()
    assert shop.status() == {"shop:A": states.RESERVED, "shop:B": states.BACKORDERED, "shop:C": states.RESERVED}
    assert shop.read(stock)["reserved"].tolist() == [3, 0]
    assert shop.read(reservations)["reservation_id"].tolist() == [f"shop:A/1/{BIN_1}", f"shop:C/1/{BIN_1}"]
    held = shop.read(orders).set_index("order_id")
    assert held.loc["shop:B", "hold_reason"] == "short: SKU-1 x1" and pd.isna(held.loc["shop:B", "warehouse_id"])
    assert held.loc["shop:A", "warehouse_id"] == "EWR"
    assert shop.read(backorders)[["order_id", "sku", "quantity_short", "status"]].values.tolist() == [
        ["shop:B", "SKU-1", 1, "open"]]
    assert len(allocation.outcomes) == 3


def test_a_backorder_is_filled_once_stock_arrives(engine, shop):
    shop.stock([("SKU-1", BIN_1, "EWR", 1)])
    shop.place({"A": [("SKU-1", 2)]})
    shop.reserve()
    assert shop.reserve().outcomes["status"].tolist() == [states.BACKORDERED]   # still short: no change
    with engine.begin() as conn:
        assert restock(conn, pd.DataFrame({"sku": ["SKU-1"], "location_id": [BIN_1], "warehouse_id": ["EWR"],
                                           "quantity": [4]})) == 1
    shop.reserve()
    assert shop.status() == {"shop:A": states.RESERVED}
    assert shop.read(backorders)["status"].tolist() == ["filled"]
    assert shop.read(fulfillment_events, fulfillment_events.c.event_id)["event"].tolist() == [
        states.BACKORDERED, states.RESERVED]


def test_expired_reservations_free_their_stock_and_can_be_taken_again(engine, shop):
    shop.stock([("SKU-1", BIN_1, "EWR", 2)])
    shop.place({"A": [("SKU-1", 2)]})
    shop.reserve()
    with engine.begin() as conn:
        assert release_expired(conn, now=NOW + TTL - timedelta(seconds=1)) == 0
        assert release_expired(conn, now=NOW + TTL) == 1
        assert release_expired(conn, now=NOW + TTL) == 0
    assert shop.read(stock)["reserved"].tolist() == [0]
    assert shop.read(reservations)["status"].tolist() == ["released"]
    assert shop.status() == {"shop:A": states.PAYMENT_VERIFIED}
    later = NOW + TTL + timedelta(hours=1)
    shop.reserve(now=later)
    got = shop.read(reservations).iloc[0]
    assert got["status"] == "active" and got["expires_at"] == later + TTL
    assert shop.read(stock)["reserved"].tolist() == [2]


def test_waved_orders_keep_their_reservations_past_expiry(engine, shop):
    shop.stock([("SKU-1", BIN_1, "EWR", 2)])
    shop.place({"A": [("SKU-1", 2)]})
    shop.reserve()
    with engine.begin() as conn:
        conn.execute(orders.update().values(status=states.WAVED))
        assert release_expired(conn, now=NOW + 2 * TTL) == 0
    assert shop.read(stock)["reserved"].tolist() == [2]


def test_consuming_a_reservation_twice_takes_the_units_once(engine, shop):
    shop.stock([("SKU-1", BIN_1, "EWR", 2), ("SKU-1", BIN_2, "EWR", 3)])
    shop.place({"A": [("SKU-1", 4)], "B": [("SKU-1", 1)]})
    shop.reserve()                       # A: 3 from the fuller BIN_2 + 1 from BIN_1; B: 1 from BIN_1
    for expected in (2, 0):
        with engine.begin() as conn:
            assert consume_reservations(conn, ["shop:A"], now=NOW) == expected
    got = shop.read(stock)
    assert got["on_hand"].tolist() == [1, 0] and got["reserved"].tolist() == [1, 0]
    statuses = shop.read(reservations).groupby("order_id")["status"].agg(set).to_dict()
    assert statuses == {"shop:A": {"consumed"}, "shop:B": {"active"}}


def test_a_refused_reservation_writes_nothing_and_lists_every_failing_line(engine, shop, world, monkeypatch):
    shop.stock([("SKU-1", BIN_1, "EWR", 2), ("SKU-2", BIN_1, "EWR", 1), ("SKU-3", BIN_1, "EWR", 5)])
    shop.place({"A": [("SKU-1", 1), ("SKU-2", 1)], "B": [("SKU-3", 1)]})
    real = stock_repo.allocate_stock

    def overconfident(lines, stock_rows, ranking):   # a bug that believes in more stock
        allocation = real(lines, stock_rows, ranking)
        inflated = allocation.reservations.assign(quantity=lambda f: f["quantity"].where(f["sku"] == "SKU-3", 3))
        return replace(allocation, reservations=inflated)

    monkeypatch.setattr(stock_repo, "allocate_stock", overconfident)
    with engine.begin() as conn, pytest.raises(InsufficientStock) as refused:
        reserve_orders(conn, warehouses=world.warehouses, now=NOW, ttl=TTL)
    assert sorted(refused.value.lines["sku"]) == ["SKU-1", "SKU-2"]
    assert "shop:A line 1: SKU-1 x3 at EWR-A01-B01-L1 (bin needs 3, has 2)" in str(refused.value)
    assert "shop:A line 2: SKU-2 x3" in str(refused.value)
    assert shop.read(stock)["reserved"].tolist() == [0, 0, 0]
    for table in (reservations, backorders, fulfillment_events):
        assert shop.read(table).empty
    assert set(shop.status().values()) == {states.PAYMENT_VERIFIED}


def test_an_order_ships_complete_from_its_nearest_warehouse_that_can(shop):
    shop.stock([("SKU-1", BIN_1, "EWR", 5), ("SKU-1", LAX_BIN, "LAX", 5), ("SKU-2", LAX_BIN, "LAX", 1)])
    shop.place({"CA": [("SKU-1", 1)]}, region="CA")
    shop.place({"NJ": [("SKU-1", 1), ("SKU-2", 1)]}, region="NJ", placed_at=pd.Timestamp("2026-11-26 09:30"))
    shop.reserve()
    held = shop.read(reservations).set_index("reservation_id")["warehouse_id"].to_dict()
    assert held == {f"shop:CA/1/{LAX_BIN}": "LAX", f"shop:NJ/1/{LAX_BIN}": "LAX", f"shop:NJ/2/{LAX_BIN}": "LAX"}


def test_seeding_inserts_missing_rows_only(engine, world):
    with engine.begin() as conn:
        bins = sum(len(w.bins) for w in world.warehouses)
        assert sync_world(conn, world, now=pd.Timestamp("2026-11-26")) >= bins
        assert sync_world(conn, world, now=pd.Timestamp("2026-11-26")) == 0
        seed_stock(conn, pd.DataFrame({"sku": ["SKU-1"], "location_id": [BIN_1], "warehouse_id": ["EWR"],
                                       "on_hand": [5]}))
        seed_stock(conn, pd.DataFrame({"sku": ["SKU-1", "SKU-2"], "location_id": [BIN_1, BIN_1],
                                       "warehouse_id": "EWR", "on_hand": [9, 9]}))
        got = read_frame(conn, select(stock).order_by(stock.c.sku))
        assert read_frame(conn, select(locations)).shape[0] == sum(len(w.bins) for w in world.warehouses)
    assert got["on_hand"].tolist() == [5, 9]


def test_a_cancelled_order_puts_its_stock_back_and_closes_its_backorders(engine, shop):
    from warehouse.cancellations import cancel_orders

    shop.stock([("SKU-1", BIN_1, "EWR", 3)])
    shop.place({"A": [("SKU-1", 2)], "B": [("SKU-1", 2)]})
    shop.reserve()
    assert shop.status() == {"shop:A": states.RESERVED, "shop:B": states.BACKORDERED}
    cancelled = pd.DataFrame({"order_id": ["shop:A", "shop:B"], "cancelled_at": NOW})
    for _ in range(2):  # seen again on the next pull: nothing changes
        with engine.begin() as conn:
            cancel_orders(conn, cancelled, at=NOW, flow_run_id=None)
    assert shop.status() == {"shop:A": states.CANCELLED, "shop:B": states.CANCELLED}
    assert shop.read(stock)["reserved"].tolist() == [0]
    assert set(shop.read(reservations)["status"]) == {"released"}
    assert set(shop.read(backorders)["status"]) == {"cancelled"}
    events = shop.read(fulfillment_events)
    assert (events["event"] == states.CANCELLED).sum() == 2


def test_restock_adds_to_a_bin_and_opens_missing_ones(engine, shop):
    shop.stock([("SKU-1", BIN_1, "EWR", 2)])
    arrivals = pd.DataFrame({"sku": ["SKU-2", "SKU-1", "SKU-1"], "location_id": [BIN_2, BIN_1, BIN_1],
                             "warehouse_id": "EWR", "quantity": [4, 1, 2]})
    with engine.begin() as conn:
        assert restock(conn, arrivals) == 2
    got = shop.read(stock)
    assert got[["sku", "location_id", "on_hand", "reserved"]].values.tolist() == [
        ["SKU-1", BIN_1, 5, 0], ["SKU-2", BIN_2, 4, 0]]


def test_stock_moves_in_one_statement_per_change_on_postgresql(engine, shop):
    """Set-based on PostgreSQL (one UPDATE … FROM unnest per reservation, consumption, release,
    restock), an executemany on SQLite; the totals are the same either way."""
    bins = [(f"SKU-{i}", BIN_1 if i % 2 else BIN_2, "EWR", 5) for i in range(6)]
    shop.stock(bins)
    shop.place({f"O{i}": [(f"SKU-{i}", 2), (f"SKU-{(i + 1) % 6}", 1)] for i in range(6)})
    writes = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith(("UPDATE stock", "INSERT INTO stock")):
            writes.append(executemany)

    event.listen(engine, "before_cursor_execute", record)
    try:
        shop.reserve()
        with engine.begin() as conn:
            consume_reservations(conn, ["shop:O0", "shop:O1", "shop:O2"], now=NOW)
            stock_repo.release_orders(conn, ["shop:O3", "shop:O4"])
            restock(conn, pd.DataFrame({"sku": ["SKU-0", "SKU-1"], "location_id": [BIN_2, BIN_1],
                                        "warehouse_id": "EWR", "quantity": 1}))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert writes == ([False] * 4 if engine.dialect.name == "postgresql" else [True] * 4)
    got = shop.read(stock).set_index("sku")
    assert got["reserved"].tolist() == [1, 0, 0, 0, 0, 2]                    # O5 still holds SKU-5 x2, SKU-0 x1
    assert got["on_hand"].tolist() == [4, 3, 2, 4, 5, 5]                     # O0-O2 left, two arrived
