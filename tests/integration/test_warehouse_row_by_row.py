"""The row-by-row benchmark baseline writes exactly what the bulk path writes, on SQLite and
PostgreSQL. Speed is the benchmark's business, not these tests'."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from warehouse import bulk
from warehouse.bulk import read_frame, upsert
from warehouse.row_by_row import insert_row_by_row
from warehouse.schema import fct_order_fulfillment as facts

T0 = pd.Timestamp("2026-11-26 09:00:00.123456")


@pytest.fixture(params=["staged", "direct"])
def bulk_path(request, monkeypatch):
    """Compare against both PostgreSQL bulk paths: COPY into a temporary table, and the single
    multi-row INSERT for small frames (SQLite has one path and runs it twice)."""
    monkeypatch.setattr(bulk, "STAGE_ABOVE", 0 if request.param == "staged" else 10**9)
    return request.param


def fact(order_id: str, **changes) -> dict:
    row = {"order_id": order_id, "channel": "shop", "warehouse_id": "EWR", "carrier": "ups", "service": "ups_ground",
           "shipping_method": "standard", "status": "shipped", "hold_reason": None, "placed_at": T0,
           "payment_verified_at": T0 + pd.Timedelta(minutes=5), "reserved_at": T0 + pd.Timedelta(minutes=6),
           "waved_at": pd.NaT, "label_booked_at": None, "shipped_at": T0 + pd.Timedelta(hours=3),
           "delivered_at": pd.NaT, "promised_by": T0 + pd.Timedelta(days=6), "order_total": 59.97,
           "label_cost": 8.2, "is_shipped": True, "is_delivered": False, "is_on_time": pd.NA,
           "click_to_ship_hours": 1 / 3, "cycle_time_hours": np.nan, "has_return": False, "refund_amount": 0.0,
           "refreshed_at": T0}
    return row | changes


def mixed_frame() -> pd.DataFrame:
    """NULLs of every pandas flavour (None, NaN, NaT, pd.NA), awkward floats, microsecond and
    tz-aware timestamps, and a text NULL next to an empty string."""
    return pd.DataFrame([
        fact("shop:1"),
        fact("shop:2", warehouse_id=None, carrier=None, service=None, status="on_hold", hold_reason="fraud review",
             shipped_at=pd.NaT, label_cost=np.nan, is_shipped=False, click_to_ship_hours=None),
        fact("shop:3", hold_reason="", delivered_at=T0 + pd.Timedelta(days=2, microseconds=7), is_delivered=True,
             is_on_time=True, cycle_time_hours=48.000002, click_to_ship_hours=1e-9, label_cost=1234567.89),
        fact("shop:4", placed_at=pd.Timestamp("2026-11-26 04:00:00.5", tz="America/New_York"), is_on_time=False,
             cycle_time_hours=-0.0, refund_amount=19.99, has_return=True, click_to_ship_hours=2.5e6),
    ])


def read_facts(conn) -> pd.DataFrame:
    return read_frame(conn, select(facts).order_by(facts.c.order_id))


def test_row_by_row_and_bulk_write_identical_rows(engine, bulk_path):
    frame = mixed_frame()
    raw = text(f"SELECT * FROM {facts.name} ORDER BY order_id")   # as stored: SQLite keeps timestamps as text
    with engine.begin() as conn:
        assert insert_row_by_row(conn, facts, frame) == 4
        naive, naive_raw = read_facts(conn), conn.execute(raw).all()
        conn.execute(facts.delete())
        assert upsert(conn, facts, frame) == 4
        fast, fast_raw = read_facts(conn), conn.execute(raw).all()
    pd.testing.assert_frame_equal(naive, fast)
    assert naive_raw == fast_raw


def test_nulls_floats_and_datetimes_survive_the_row_by_row_path(engine):
    with engine.begin() as conn:
        insert_row_by_row(conn, facts, mixed_frame())
        got = read_facts(conn).set_index("order_id")
    assert got.loc["shop:2", ["warehouse_id", "carrier", "service", "label_cost", "click_to_ship_hours",
                              "shipped_at", "label_booked_at", "is_on_time"]].isna().all()
    assert got.loc["shop:3", "hold_reason"] == "" and got.loc["shop:3", "cycle_time_hours"] == 48.000002
    assert got.loc["shop:3", "click_to_ship_hours"] == 1e-9 and got.loc["shop:3", "label_cost"] == 1234567.89
    assert got.loc["shop:3", "delivered_at"] == T0 + pd.Timedelta(days=2, microseconds=7)
    assert got.loc["shop:4", "placed_at"] == pd.Timestamp("2026-11-26 09:00:00.5")   # stored as naive UTC
    assert got.loc["shop:1", "click_to_ship_hours"] == 1 / 3


def test_one_statement_is_executed_per_row(engine):
    calls = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT"):
            calls.append(executemany)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.begin() as conn:
            insert_row_by_row(conn, facts, mixed_frame())
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert calls == [False] * 4


def test_an_empty_frame_writes_nothing(engine):
    with engine.begin() as conn:
        assert insert_row_by_row(conn, facts, mixed_frame().iloc[:0]) == 0


def test_a_duplicate_key_fails_and_the_transaction_leaves_nothing(engine):
    frame = pd.concat([mixed_frame(), mixed_frame().iloc[[0]]], ignore_index=True)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_row_by_row(conn, facts, frame)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(facts)).scalar_one() == 0
