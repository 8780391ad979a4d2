"""Bulk upserts, updates and typed reads behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event, select, text

import warehouse.bulk as bulk
from warehouse.bulk import read_frame, read_in, replace_table, update_rows, upsert
from warehouse.schema import fct_order_fulfillment, mart_fulfillment_daily, quarantine, return_lines, stock

T0 = pd.Timestamp("2026-11-26 09:00")


@pytest.fixture(autouse=True, params=["staged", "direct"])
def write_path(request, monkeypatch):
    """Run every test through both PostgreSQL write paths: COPY into a temporary table, and
    the single statement used for small frames (SQLite has one path and runs it twice)."""
    for threshold in ("STAGE_ABOVE", "STAGE_UPDATES_ABOVE"):
        monkeypatch.setattr(bulk, threshold, 0 if request.param == "staged" else 10**9)
    return request.param


def stock_frame(n: int = 3, on_hand: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"sku": [f"SKU-{i}" for i in range(n)], "location_id": "EWR-A01-B01-L1",
                         "warehouse_id": "EWR", "on_hand": np.full(n, on_hand, dtype=np.int64)})


def read_stock(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_frame(conn, select(stock).order_by(stock.c.sku))


def test_upserting_twice_changes_nothing(engine):
    with engine.begin() as conn:
        assert upsert(conn, stock, stock_frame()) == 3
    before = read_stock(engine)
    with engine.begin() as conn:
        assert upsert(conn, stock, stock_frame()) == 0
        assert upsert(conn, stock, stock_frame(), update=["on_hand"]) == 0
    pd.testing.assert_frame_equal(read_stock(engine), before)


def test_insert_ignore_keeps_the_first_row(engine):
    with engine.begin() as conn:
        upsert(conn, stock, stock_frame(on_hand=5))
        assert upsert(conn, stock, stock_frame(n=4, on_hand=9)) == 1   # only SKU-3 is new
    assert read_stock(engine)["on_hand"].tolist() == [5, 5, 5, 9]


def test_update_mode_updates_only_the_named_columns_of_changed_rows(engine):
    with engine.begin() as conn:
        upsert(conn, stock, stock_frame(on_hand=5))
        changed = stock_frame(on_hand=5).assign(on_hand=[5, 7, 8], warehouse_id="LAX")
        assert upsert(conn, stock, changed, update=["on_hand"]) == 2
    got = read_stock(engine)
    assert got["on_hand"].tolist() == [5, 7, 8]
    assert set(got["warehouse_id"]) == {"EWR"}


def test_duplicate_keys_in_one_frame_do_not_break_the_statement(engine):
    frame = pd.concat([stock_frame(n=1, on_hand=1), stock_frame(n=1, on_hand=2)])
    with engine.begin() as conn:
        assert upsert(conn, stock, frame, update=["on_hand"]) == 1
    assert read_stock(engine)["on_hand"].tolist() == [2]


def test_awkward_text_survives_and_timestamps_are_stored_as_naive_utc(engine):
    awkward = ["", r"\N", 'a,"b"\nc\r\n\\.', "naïve ☃"]
    frame = pd.DataFrame({
        "source": "shop", "stream": "orders", "external_id": ["1", "2", "3", "4"],
        "reason": awkward, "raw": "{}", "first_seen_at": T0, "last_seen_at": T0,
        "resolved_at": [pd.NaT, pd.Timestamp("2026-11-26 10:00", tz="America/New_York"), None, pd.NaT],
    })
    with engine.begin() as conn:
        upsert(conn, quarantine, frame)
        got = read_frame(conn, select(quarantine).order_by(quarantine.c.external_id))
    assert got["reason"].tolist() == awkward
    assert got["resolved_at"].isna().tolist() == [True, False, True, True]
    assert got["resolved_at"][1] == pd.Timestamp("2026-11-26 15:00")
    assert str(got["first_seen_at"].dtype) == "datetime64[us]"


def test_nan_nat_and_pd_na_become_null(engine):
    frame = pd.DataFrame({
        "return_id": ["r1", "r2", "r3"], "line_no": 1, "order_line_no": 1, "sku": "SKU-1",
        "quantity": pd.array([1, 2, 3], dtype="Int64"), "reason": "DEFECTIVE", "unit_price": 9.99,
        "condition": ["sellable", np.nan, pd.NA], "disposition": pd.array([None, "restocked", None], dtype="str"),
        "location_id": [None, None, "EWR-A01-B01-L1"],
    })
    with engine.begin() as conn:
        upsert(conn, return_lines, frame)
        got = read_frame(conn, select(return_lines).order_by(return_lines.c.return_id))
    assert got["condition"].isna().tolist() == [False, True, True]
    assert got["disposition"].isna().tolist() == [True, False, True]
    assert got["location_id"].isna().tolist() == [True, True, False]
    assert got["quantity"].tolist() == [1, 2, 3]


def test_numpy_scalars_and_float_integers_are_stored_as_numbers(engine):
    frame = pd.DataFrame({"sku": ["SKU-1"], "location_id": ["L1"], "warehouse_id": ["EWR"],
                          "on_hand": [np.float64(4.0)], "reserved": [np.int32(1)]})
    with engine.begin() as conn:
        upsert(conn, stock, frame)
    got = read_stock(engine)
    assert got.loc[0, "on_hand"] == 4 and got.loc[0, "reserved"] == 1
    assert str(got["on_hand"].dtype) == "int64"


def test_update_rows_changes_only_rows_that_differ(engine):
    with engine.begin() as conn:
        upsert(conn, stock, stock_frame())
        changes = stock_frame()[["sku", "location_id"]].assign(reserved=[0, 2, 3])
        assert update_rows(conn, stock, changes, keys=["sku", "location_id"]) == 2
        assert update_rows(conn, stock, changes, keys=["sku", "location_id"]) == 0
    assert read_stock(engine)["reserved"].tolist() == [0, 2, 3]


def test_an_empty_read_keeps_its_columns_and_types(engine):
    with engine.connect() as conn:
        empty = read_frame(conn, select(stock))
    assert list(empty.columns) == [c.name for c in stock.c]
    assert str(empty["on_hand"].dtype) == "int64"


def test_replace_table_swaps_every_row(engine):
    def day(channel: str, orders: int) -> dict:
        return {"day": pd.Timestamp("2026-11-26"), "channel": channel, "warehouse_id": "-", "carrier": "-",
                "orders": orders, "orders_shipped": 0, "orders_delivered": 0, "orders_on_time": 0,
                "on_time_pct": np.nan, "cycle_time_p50_hours": None, "cycle_time_p90_hours": None,
                "click_to_ship_p50_hours": 1.5, "orders_on_hold": 0, "orders_backordered": 0, "returns": 0,
                "refund_amount": 0.0, "label_cost": 12.34, "revenue": 99.99, "refreshed_at": T0}

    with engine.begin() as conn:
        replace_table(conn, mart_fulfillment_daily, pd.DataFrame([day("a", 1), day("b", 2)]))
        assert replace_table(conn, mart_fulfillment_daily, pd.DataFrame([day("c", 3)])) == 1
        got = read_frame(conn, select(mart_fulfillment_daily))
    assert got["channel"].tolist() == ["c"] and got["revenue"].tolist() == [99.99]
    assert got["on_time_pct"].isna().all() and got["day"][0] == pd.Timestamp("2026-11-26")


def test_text_survives_copy_escapes_across_chunks(engine, monkeypatch):
    monkeypatch.setattr(bulk, "COPY_ROWS", 2)   # several COPY statements, rows split between them
    awkward = ["tab\there", "back\\slash\\", "\\.", "\\.\nafter", "cr\rlf\r\n", r"\N", r"\\N", "", "NULL", "'\"",
               "naïve ☃ 🚚"]
    raw = json.dumps({"note": "a\tb\\c\n", "lines": [{"sku": "SKU-1", "title": "Mug \"XL\""}] * 500})
    frame = pd.DataFrame({
        "source": "shop", "stream": "orders", "external_id": [f"{i:02d}" for i in range(len(awkward))],
        "reason": awkward, "raw": raw, "first_seen_at": T0 + pd.to_timedelta(np.arange(len(awkward)) * 7, unit="us"),
        "last_seen_at": T0, "resolved_at": [pd.NaT, T0] * 5 + [None],
    })
    with engine.begin() as conn:
        assert upsert(conn, quarantine, frame) == len(awkward)
        got = read_frame(conn, select(quarantine).order_by(quarantine.c.external_id))
    assert got["reason"].tolist() == awkward and set(got["raw"]) == {raw}
    assert got["first_seen_at"].tolist() == frame["first_seen_at"].tolist()          # microseconds kept
    assert got["resolved_at"].isna().tolist() == [True, False] * 5 + [True]


def test_numbers_booleans_and_nulls_survive_a_table_replace(engine):
    row = {"order_id": "shop:1", "channel": "shop", "warehouse_id": None, "carrier": None, "service": None,
           "shipping_method": "standard", "status": "shipped", "hold_reason": "", "placed_at": T0,
           "payment_verified_at": pd.NaT, "reserved_at": None, "waved_at": pd.NaT, "label_booked_at": pd.NaT,
           "shipped_at": T0 + pd.Timedelta(microseconds=1), "delivered_at": pd.NaT, "promised_by": T0,
           "order_total": 1234567.89, "label_cost": np.nan, "is_shipped": True, "is_delivered": False,
           "is_on_time": pd.NA, "click_to_ship_hours": 1 / 3, "cycle_time_hours": 1e-9, "has_return": False,
           "refund_amount": 0.0, "refreshed_at": T0}
    frame = pd.DataFrame([row, row | {"order_id": "shop:2", "is_on_time": True, "label_cost": 0.1,
                                      "click_to_ship_hours": 2.5e6, "cycle_time_hours": -0.0}])
    with engine.begin() as conn:
        assert replace_table(conn, fct_order_fulfillment, frame) == 2
        got = read_frame(conn, select(fct_order_fulfillment).order_by(fct_order_fulfillment.c.order_id))
    assert got["click_to_ship_hours"].tolist() == [1 / 3, 2.5e6] and got["cycle_time_hours"].tolist() == [1e-9, 0.0]
    assert got["order_total"].tolist() == [1234567.89] * 2 and got["label_cost"].isna().tolist() == [True, False]
    assert got["is_on_time"].isna().tolist() == [True, False] and got["is_on_time"][1]
    assert got["is_shipped"].tolist() == [True, True] and got["hold_reason"].tolist() == ["", ""]
    assert got["warehouse_id"].isna().all() and got["shipped_at"][0] == T0 + pd.Timedelta(microseconds=1)


def test_a_read_types_each_column_from_the_statement(engine):
    frame = pd.DataFrame({
        "return_id": ["r1", "r2"], "line_no": 1, "order_line_no": 1, "sku": "SKU-1", "quantity": [1, 2],
        "reason": "DEFECTIVE", "unit_price": [9.99, 5.0], "condition": ["sellable", None], "disposition": None,
        "location_id": None,
    })
    with engine.begin() as conn:
        upsert(conn, return_lines, frame)
        got = read_frame(conn, select(return_lines).order_by(return_lines.c.return_id))
        stamps = read_frame(conn, select(quarantine.c.first_seen_at, quarantine.c.resolved_at))
    kinds = got.dtypes.astype(str).to_dict()
    assert (kinds["line_no"], kinds["quantity"], kinds["unit_price"], kinds["condition"]) == (
        "int64", "int64", "float64", "str")
    assert got["condition"].isna().tolist() == [False, True] and got["disposition"].isna().all()
    assert stamps.dtypes.astype(str).tolist() == ["datetime64[us]", "datetime64[us]"]


def test_read_in_is_one_statement_on_postgresql_and_chunks_on_sqlite(engine):
    with engine.begin() as conn:
        upsert(conn, stock, stock_frame(n=7))
    statements = []

    def record(conn, cursor, statement, *args):
        if statement.startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.connect() as conn:
            wanted = ["SKU-6", "SKU-1", "SKU-4", "SKU-1", "SKU-0", "SKU-9"]
            got = read_in(conn, select(stock.c.sku).order_by(stock.c.sku), stock.c.sku, wanted, chunk=2)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert got["sku"].tolist() == ["SKU-0", "SKU-1", "SKU-4", "SKU-6"]
    assert len(statements) == (1 if engine.dialect.name == "postgresql" else 3)


def test_staging_twice_in_one_transaction_keeps_no_rows_and_no_catalog_churn(engine):
    # the same columns updated twice in one transaction: the second statement sees only its own
    # rows; on PostgreSQL, a connection's later transactions reuse its staging tables: no table is
    # created again (the same relations, by oid), so the catalogs do not swell between vacuums.
    # (Counting pg_class inserts in pg_stat_xact_sys_tables is no proof: PostgreSQL 15 keeps a
    # backend's stats pending across transactions for up to a second, earlier ones included.)
    with engine.begin() as conn:
        upsert(conn, stock, stock_frame(n=4))
    keys = ["sku", "location_id"]

    def update_twice(conn, on_hand: int) -> set[int]:
        with conn.begin():
            assert update_rows(conn, stock, stock_frame(n=2, on_hand=on_hand), keys=keys) == 2
            assert update_rows(conn, stock, stock_frame(n=4, on_hand=on_hand).iloc[3:], keys=keys) == 1
            if engine.dialect.name != "postgresql":
                return set()
            return set(conn.execute(text("SELECT oid FROM pg_class WHERE relnamespace = pg_my_temp_schema()"))
                       .scalars())

    with engine.connect() as conn:          # one connection, as a pooled one serves run after run
        staging = update_twice(conn, 7)
        assert read_stock(engine)["on_hand"].tolist() == [7, 7, 5, 7]
        assert update_twice(conn, 8) == staging
        if engine.dialect.name == "postgresql" and bulk.STAGE_UPDATES_ABOVE == 0:
            assert staging          # the staged path ran: its tables are what stayed the same
    assert read_stock(engine)["on_hand"].tolist() == [8, 8, 5, 8]
