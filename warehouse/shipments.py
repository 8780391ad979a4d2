"""Shipments: label intents, purchased labels, failures and storefront pushes."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from domain import states
from domain.keys import idempotency_key
from warehouse.bulk import read_frame, update_rows, upsert
from warehouse.orders import in_partition, transition
from warehouse.schema import order_lines, orders, shipments

ADDRESS = ["customer_name", "ship_to_line1", "ship_to_city", "ship_to_region", "ship_to_postal_code",
           "ship_to_country"]


def outbound_id(order_id: str) -> str:
    return f"{order_id}/out"


def waved_without_label(conn: Connection, *, channels: list[str] | None = None, warehouses: list[str] | None = None,
                        limit: int | None = None) -> pd.DataFrame:
    """Waved orders (of `channels`, from `warehouses`; None = all) whose outbound label is not
    bought yet, with the parcel weight."""
    stmt = (
        select(orders.c.order_id, orders.c.channel, orders.c.warehouse_id, orders.c.shipping_method,
               orders.c.promised_by, *[orders.c[c] for c in ADDRESS], parcel_weight(), shipments.c.label_status)
        .join(order_lines, order_lines.c.order_id == orders.c.order_id)
        .outerjoin(shipments, and_(shipments.c.order_id == orders.c.order_id, shipments.c.direction == "outbound"))
        .where(orders.c.status == states.WAVED, *in_partition(channels=channels, warehouses=warehouses))
        .where((shipments.c.label_status.is_(None)) | (shipments.c.label_status == "intent"))
        .group_by(orders.c.order_id, shipments.c.shipment_id)
        .order_by(orders.c.promised_by, orders.c.order_id)
        .limit(limit)
    )
    return read_frame(conn, stmt)


def booked_outbound(conn: Connection) -> pd.DataFrame:
    """Outbound parcels whose label is bought, with what booking them took: shipment_id plus the
    columns of waved_without_label (the bench re-quotes them)."""
    stmt = (
        select(shipments.c.shipment_id, orders.c.order_id, orders.c.channel, orders.c.warehouse_id,
               orders.c.shipping_method, orders.c.promised_by, *[orders.c[c] for c in ADDRESS], parcel_weight())
        .join(orders, orders.c.order_id == shipments.c.order_id)
        .join(order_lines, order_lines.c.order_id == orders.c.order_id)
        .where(shipments.c.direction == "outbound", shipments.c.label_status == "purchased")
        .group_by(shipments.c.shipment_id, orders.c.order_id)
        .order_by(shipments.c.shipment_id)
    )
    return read_frame(conn, stmt)


def parcel_weight():
    """weight_kg: what a parcel weighs, its order's lines' quantity x unit weight, for a query
    joining order_lines to the orders it selects and grouping by order (so the other columns of
    `orders` and of a joined table grouped by its key can be selected as they are). One pass
    over those lines: a weights subquery filtered by `order_id IN (…)` re-ran per parcel in the
    plan PostgreSQL chose without statistics (minutes at 100k orders)."""
    return func.sum(order_lines.c.quantity * order_lines.c.weight_kg).label("weight_kg")


def write_intents(conn: Connection, work: pd.DataFrame, *, direction: str, now: datetime) -> pd.DataFrame:
    """Intent rows before any label is bought (principle 4); returns shipment_id + key per row."""
    ids = work["shipment_id"]
    frame = pd.DataFrame({
        "shipment_id": ids, "order_id": work["order_id"], "direction": direction,
        "warehouse_id": work["warehouse_id"], "promised_by": work.get("promised_by"),
        "idempotency_key": [idempotency_key(f"{direction}-label", i) for i in ids],
        "label_status": "intent", "created_at": now, "updated_at": now,
    })
    upsert(conn, shipments, frame)
    return frame[["shipment_id", "idempotency_key"]]


def record_labels(conn: Connection, labels: pd.DataFrame, *, at: datetime, flow_run_id: str | None) -> int:
    """labels: shipment_id, order_id, carrier, service, rate_amount, currency, label_ref, tracking_number."""
    if labels.empty:
        return 0
    update_rows(conn, shipments, labels.drop(columns=["order_id"]).assign(
        label_status="purchased", error=None, updated_at=at), keys=["shipment_id"])
    # their reservations are consumed by booking's passes, not here (warehouse.stock.consume_labelled)
    return transition(conn, pd.DataFrame({"order_id": labels["order_id"], "status": states.LABEL_BOOKED}),
                      at=at, flow_run_id=flow_run_id)


def record_label_failures(conn: Connection, failures: pd.DataFrame, *, at: datetime, flow_run_id: str | None) -> int:
    """failures: shipment_id, order_id, error. The order is parked on hold with the API's message."""
    if failures.empty:
        return 0
    update_rows(conn, shipments, failures[["shipment_id", "error"]].assign(label_status="failed", updated_at=at),
                keys=["shipment_id"])
    held = pd.DataFrame({"order_id": failures["order_id"], "status": states.ON_HOLD,
                         "hold_reason": "label purchase failed: " + failures["error"].str.slice(0, 400)})
    return transition(conn, held, at=at, flow_run_id=flow_run_id)


def unpushed_fulfillments(conn: Connection, *, channels: list[str] | None = None,
                          warehouses: list[str] | None = None) -> pd.DataFrame:
    """Bought outbound labels (of `channels`, from `warehouses`; None = all) not told to the store yet."""
    stmt = (
        select(shipments.c.shipment_id, orders.c.channel, orders.c.external_id, shipments.c.carrier,
               shipments.c.tracking_number)
        .join(orders, orders.c.order_id == shipments.c.order_id)
        .where(shipments.c.direction == "outbound", shipments.c.label_status == "purchased",
               shipments.c.pushed_to_storefront_at.is_(None), *in_partition(channels=channels, warehouses=warehouses))
        .order_by(shipments.c.shipment_id)
    )
    return read_frame(conn, stmt)


def mark_pushed(conn: Connection, shipment_ids: list[str], *, at: datetime) -> int:
    if not shipment_ids:
        return 0
    return update_rows(conn, shipments, pd.DataFrame({"shipment_id": shipment_ids, "pushed_to_storefront_at": at,
                                                      "error": None}), keys=["shipment_id"])


def record_push_errors(conn: Connection, rejected: list[dict], *, at: datetime) -> int:
    """rejected: shipment_id, error — the store refused the fulfillment; the label stands."""
    if not rejected:
        return 0
    return update_rows(conn, shipments, pd.DataFrame(rejected).assign(updated_at=at), keys=["shipment_id"])
