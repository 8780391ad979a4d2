"""Parcels to book and parcels booked, read in one pass over their lines, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime

import pandas as pd

from domain import states
from warehouse.bulk import upsert
from warehouse.schema import order_lines, orders
from warehouse.shipments import booked_outbound, outbound_id, record_labels, waved_without_label, write_intents

AT = datetime(2026, 11, 26, 10, 0)


def place_waved(engine, order_frames, specs: dict) -> None:
    found, lines = order_frames(specs, status=states.WAVED)
    found["warehouse_id"] = "EWR"
    lines["weight_kg"] = [0.5 + n for n in range(len(lines))]
    with engine.begin() as conn:
        upsert(conn, orders, found)
        upsert(conn, order_lines, lines)


def test_a_parcel_weighs_its_lines_and_is_listed_until_its_label_is_bought(engine, order_frames):
    place_waved(engine, order_frames, {"A": [("SKU-1", 2), ("SKU-2", 1)], "B": [("SKU-1", 3)], "C": [("SKU-3", 1)]})
    with engine.begin() as conn:
        work = waved_without_label(conn)
        write_intents(conn, work.assign(shipment_id=work["order_id"].map(outbound_id)), direction="outbound", now=AT)
        still = waved_without_label(conn)
        record_labels(conn, pd.DataFrame({
            "shipment_id": ["shop:B/out"], "order_id": ["shop:B"], "carrier": "ups", "service": "ups_ground",
            "rate_amount": 8.2, "currency": "USD", "label_ref": "se-1", "tracking_number": "1Z1"}),
            at=AT, flow_run_id=None)
        left, booked = waved_without_label(conn, limit=1), booked_outbound(conn)
    assert work.set_index("order_id")["weight_kg"].to_dict() == {"shop:A": 2 * 0.5 + 1.5, "shop:B": 3 * 2.5,
                                                                 "shop:C": 3.5}
    assert work["label_status"].isna().all() and set(still["label_status"]) == {"intent"}
    assert left["order_id"].tolist() == ["shop:A"]                                   # most urgent first
    assert booked[["shipment_id", "order_id", "weight_kg"]].values.tolist() == [["shop:B/out", "shop:B", 7.5]]
    assert list(booked.columns[1:]) == [c for c in work.columns if c != "label_status"]
