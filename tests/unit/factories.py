"""Small hand-written builders for domain test data: override only what the test is about."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pandas as pd

from domain.records import Address, ChannelOrder, Malformed, OrderLine

T0 = datetime(2026, 11, 26, 9, 0)


def address(**overrides) -> Address:
    base = Address(name="Ada Lovelace", line1="1 Main St", city="Trenton", region="NJ",
                   postal_code="08608", country="US", phone="+1 609 555 0100")
    return replace(base, **overrides)


def order_line(no: int = 1, **overrides) -> OrderLine:
    base = OrderLine(external_line_id=f"L{no}", sku="SKU-00001", quantity=1, unit_price=20.0, weight_kg=0.5)
    return replace(base, **overrides)


def channel_order(external_id: str = "1001", **overrides) -> ChannelOrder:
    base = ChannelOrder(
        channel="shopify-main", external_id=external_id, order_number=f"#{external_id}",
        placed_at=T0, updated_at=T0, customer_name="Ada Lovelace", customer_email="ada@example.com",
        ship_to=address(), shipping_method="standard", currency="USD", total_amount=20.0,
        payment_ref=f"pi_{external_id}", lines=(order_line(),), raw={"id": external_id},
    )
    return replace(base, **overrides)


def malformed(external_id: str = "bad-1", reason: str = "unparseable JSON") -> Malformed:
    return Malformed(source="shopify-main", stream="orders", external_id=external_id, reason=reason, raw="{oops")


def order_lines(rows: list[tuple[str, int, str, int]], *, placed: dict[str, int] | None = None) -> pd.DataFrame:
    """(order_id, line_no, sku, quantity) rows; placed maps order_id → minutes after T0."""
    df = pd.DataFrame(rows, columns=["order_id", "line_no", "sku", "quantity"])
    arrival = {o: i for i, o in enumerate(dict.fromkeys(df["order_id"]))}   # first come, first placed
    minutes = {**arrival, **(placed or {})}
    df["placed_at"] = [T0 + timedelta(minutes=minutes[o]) for o in df["order_id"]]
    return df


def stock(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    """(sku, location_id, warehouse_id, available) rows."""
    return pd.DataFrame(rows, columns=["sku", "location_id", "warehouse_id", "available"])


def ranking(prefs: dict[str, list[str]]) -> pd.DataFrame:
    """order_id → warehouses, most preferred first."""
    return pd.DataFrame([(o, wh, r) for o, whs in prefs.items() for r, wh in enumerate(whs)],
                        columns=["order_id", "warehouse_id", "rank"])


def picks(warehouse, rows: list[tuple[str, int, tuple[int, int, int]]], *,
          promised: dict[str, datetime] | None = None, quantity: int = 1) -> pd.DataFrame:
    """Reservations to wave: (order_id, line_no, (aisle, bay, level)) in `warehouse`'s bins."""
    by_slot = {(b.aisle, b.bay, b.level): b for b in warehouse.bins}
    promised = promised or {}
    return pd.DataFrame([
        {"order_id": o, "line_no": no, "sku": f"SKU-{no:05d}", "location_id": by_slot[slot].location_id,
         "warehouse_id": warehouse.id, "quantity": quantity,
         "promised_by": promised.get(o, T0 + timedelta(days=3)),
         "aisle": slot[0], "bay": slot[1], "level": slot[2], "y": by_slot[slot].y}
        for o, no, slot in rows
    ], columns=["order_id", "line_no", "sku", "location_id", "warehouse_id", "quantity", "promised_by",
                "aisle", "bay", "level", "y"])
