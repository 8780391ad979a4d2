"""Frames the tasks write straight into a table have exactly that table's columns, even when empty."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from domain import allocation, kpis, orders, waves
from warehouse import schema

NOW = datetime(2026, 11, 26, 10, 0)


def columns(table) -> list[str]:
    return [c.name for c in table.columns]


@pytest.mark.parametrize("shape, table", [
    (orders.ORDER_COLUMNS, schema.orders),
    (orders.PAYLOAD_COLUMNS, schema.order_payloads),
    (orders.LINE_COLUMNS, schema.order_lines),
    (waves.WAVE_COLUMNS, schema.waves),
    (waves.PICK_LINE_COLUMNS, schema.pick_lines),
    (kpis.FACT_COLUMNS, schema.fct_order_fulfillment),
    (kpis.MART_COLUMNS, schema.mart_fulfillment_daily),
], ids=lambda x: getattr(x, "name", ""))
def test_table_shapes_follow_the_schema(shape, table):
    assert list(shape) == columns(table)


def test_quarantine_rows_are_the_quarantine_key_reason_and_raw():
    assert set(orders.QUARANTINE_COLUMNS) <= set(columns(schema.quarantine))


def test_reservation_and_backorder_columns_exist_in_their_tables():
    assert set(allocation.RESERVATION_COLUMNS) <= set(columns(schema.reservations))
    assert set(allocation.BACKORDER_COLUMNS) <= set(columns(schema.backorders))


def test_empty_inputs_give_typed_empty_table_frames(world, known_skus):
    validated = orders.validate_orders([], world=world, known_skus=known_skus, ingested_at=NOW)
    planned = waves.plan_pick_waves(pd.DataFrame(), warehouses=world.warehouses, rules=world.waves, now=NOW)
    facts = kpis.build_order_facts(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                                   pd.DataFrame(), as_of=NOW)
    mart = kpis.build_daily_mart(facts, refreshed_at=NOW)
    for frame, table in [(validated.orders, schema.orders), (validated.lines, schema.order_lines),
                         (validated.payloads, schema.order_payloads),
                         (planned.waves, schema.waves), (planned.pick_lines, schema.pick_lines),
                         (facts, schema.fct_order_fulfillment), (mart, schema.mart_fulfillment_daily)]:
        assert frame.empty and list(frame.columns) == columns(table)
    assert str(validated.orders["placed_at"].dtype) == "datetime64[us]"
    assert str(validated.lines["quantity"].dtype) == "int64"
    assert str(planned.waves["travel_distance"].dtype) == "float64"
