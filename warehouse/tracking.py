"""Tracking: open shipments to poll, their events, status changes and the notification outbox."""
from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from domain.tracking import TERMINAL, TrackingOutcome
from warehouse.bulk import read_frame, update_rows, upsert
from warehouse.schema import notifications, orders, shipments, tracking_events


def open_shipments(conn: Connection, *, direction: str) -> pd.DataFrame:
    """Purchased labels whose parcel has not reached a terminal tracking state."""
    stmt = (
        select(shipments.c.shipment_id, shipments.c.order_id, shipments.c.label_ref, shipments.c.tracking_number,
               shipments.c.carrier, shipments.c.tracking_status, shipments.c.tracking_status_at,
               shipments.c.shipped_at, shipments.c.delivered_at,
               orders.c.customer_email)
        .join(orders, orders.c.order_id == shipments.c.order_id)
        .where(shipments.c.direction == direction, shipments.c.label_status == "purchased")
        .where(shipments.c.tracking_status.is_(None) | shipments.c.tracking_status.not_in(sorted(TERMINAL)))
        .order_by(shipments.c.shipment_id)
    )
    return read_frame(conn, stmt)


def save_tracking(
    conn: Connection, *, events: pd.DataFrame, outcome: TrackingOutcome, recipients: pd.DataFrame, at: datetime,
) -> dict[str, int]:
    """events: tracking_events columns; recipients: shipment_id, order_id, customer_email, tracking_number."""
    stored = upsert(conn, tracking_events, events) if not events.empty else 0
    changed = update_rows(conn, shipments, outcome.shipments.assign(updated_at=at), keys=["shipment_id"]) \
        if not outcome.shipments.empty else 0
    queued = queue_notifications(conn, outcome.notifications, recipients, at=at)
    return {"events": stored, "status_changes": changed, "notifications": queued}


def queue_notifications(conn: Connection, due: pd.DataFrame, recipients: pd.DataFrame, *, at: datetime) -> int:
    """The outbox: one row per (shipment, template), so a re-run never notifies twice."""
    if due.empty:
        return 0
    rows = due.merge(recipients, on="shipment_id")
    frame = pd.DataFrame({
        "notification_id": rows["shipment_id"] + "/" + rows["template"],
        "order_id": rows["order_id"],
        "template": rows["template"],
        "recipient": rows["customer_email"],
        "payload": [json.dumps({"tracking_number": t, "at": str(a)}) for t, a in zip(rows["tracking_number"], rows["at"])],
        "created_at": at,
        "sent_at": None,
    })
    return upsert(conn, notifications, frame)
