"""Returns: requests, return labels, receipt, inspection with restock, refunds."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from domain import states
from domain.keys import idempotency_key
from domain.return_requests import ValidatedReturns
from warehouse.bulk import read_frame, update_rows, upsert
from warehouse.orders import record_events
from warehouse.schema import order_lines, orders, quarantine, refunds, reservations, return_lines, returns, shipments
from warehouse.stock import restock
from warehouse.tracking import queue_notifications


def order_lines_for(conn: Connection, order_ids: list[str]) -> pd.DataFrame:
    stmt = select(order_lines.c.order_id, order_lines.c.line_no, order_lines.c.external_line_id, order_lines.c.sku,
                  order_lines.c.unit_price).where(order_lines.c.order_id.in_(order_ids or [None]))
    return read_frame(conn, stmt)


def park(conn: Connection, parked: pd.DataFrame, *, at: datetime) -> int:
    """Quarantine records with their raw payload and reason; a re-pull refreshes, never duplicates."""
    if parked.empty:
        return 0
    return upsert(conn, quarantine, parked.assign(first_seen_at=at, last_seen_at=at, resolved_at=None),
                  update=["reason", "raw", "last_seen_at"])


def save_return_requests(conn: Connection, validated: ValidatedReturns, *, at: datetime, flow_run_id) -> dict:
    known = set(read_frame(conn, select(returns.c.return_id).where(
        returns.c.return_id.in_(validated.returns["return_id"].tolist() or [None])))["return_id"])
    new = validated.returns[~validated.returns["return_id"].isin(known)]
    upsert(conn, returns, new)
    # A merchant may refund in the store after the request: remember it before we refund too.
    seen = validated.returns[validated.returns["return_id"].isin(known)]
    update_rows(conn, returns, seen[["return_id", "store_refunded_amount"]], keys=["return_id"])
    upsert(conn, return_lines, validated.lines[validated.lines["return_id"].isin(new["return_id"])])
    record_events(conn, pd.DataFrame({"order_id": new["order_id"], "event": "return_requested",
                                      "at": new["requested_at"], "detail": new["return_id"]}), flow_run_id=flow_run_id)
    return {"new_returns": len(new), "quarantined": park(conn, validated.quarantined, at=at)}


def returns_awaiting_label(conn: Connection) -> pd.DataFrame:
    """Requested returns with the outbound label they travel back against."""
    stmt = (
        select(returns.c.return_id, returns.c.order_id, shipments.c.label_ref.label("outbound_label_ref"),
               shipments.c.warehouse_id, orders.c.customer_email)
        .join(shipments, and_(shipments.c.order_id == returns.c.order_id, shipments.c.direction == "outbound",
                              shipments.c.label_status == "purchased"))
        .join(orders, orders.c.order_id == returns.c.order_id)
        .where(returns.c.status == states.RETURN_REQUESTED)
        .order_by(returns.c.return_id)
    )
    return read_frame(conn, stmt)


def record_return_labels(conn: Connection, labels: pd.DataFrame, *, at: datetime, flow_run_id) -> int:
    """labels: shipment_id, order_id, return_id, carrier, service, rate_amount, currency, label_ref,
    tracking_number, customer_email. The customer gets the label through the outbox."""
    if labels.empty:
        return 0
    update_rows(conn, shipments, labels.drop(columns=["order_id", "return_id", "customer_email"]).assign(
        label_status="purchased", updated_at=at), keys=["shipment_id"])
    queue_notifications(conn, labels[["shipment_id"]].assign(template="return_label", at=at),
                        labels[["shipment_id", "order_id", "customer_email", "tracking_number"]], at=at)
    return advance_returns(conn, labels[["return_id", "order_id"]].assign(status=states.RETURN_LABEL_ISSUED),
                           at=at, flow_run_id=flow_run_id)


def advance_returns(conn: Connection, changes: pd.DataFrame, *, at: datetime, flow_run_id) -> int:
    """changes: return_id, order_id, status (+ optional received_at, inspected_at, refunded_at)."""
    if changes.empty:
        return 0
    update_rows(conn, returns, changes.drop(columns=["order_id"]).assign(status_at=at), keys=["return_id"])
    record_events(conn, pd.DataFrame({"order_id": changes["order_id"], "event": "return_" + changes["status"],
                                      "at": at, "detail": changes["return_id"]}), flow_run_id=flow_run_id)
    return len(changes)


def received_lines(conn: Connection) -> pd.DataFrame:
    """Lines of received returns with the bin each item was picked from (where it goes back)."""
    picked = (select(reservations.c.order_id, reservations.c.line_no, reservations.c.location_id,
                     reservations.c.warehouse_id)
              .where(reservations.c.status == "consumed").subquery())
    stmt = (
        select(return_lines.c.return_id, return_lines.c.line_no, return_lines.c.sku, return_lines.c.quantity,
               return_lines.c.reason, returns.c.order_id, picked.c.location_id, picked.c.warehouse_id)
        .join(returns, returns.c.return_id == return_lines.c.return_id)
        .outerjoin(picked, and_(picked.c.order_id == returns.c.order_id,
                                picked.c.line_no == return_lines.c.order_line_no))
        .where(returns.c.status == states.RETURN_RECEIVED)
        .order_by(return_lines.c.return_id, return_lines.c.line_no)
    )
    return read_frame(conn, stmt).drop_duplicates(["return_id", "line_no"])


def record_inspection(conn: Connection, inspected: pd.DataFrame, *, at: datetime, flow_run_id) -> dict[str, int]:
    """inspected: received_lines + condition, disposition. Restocks sellable items once (the
    return leaves 'received' in the same transaction)."""
    if inspected.empty:
        return {"inspected": 0, "restocked_units": 0}
    sellable = inspected[inspected["disposition"] == "restocked"].dropna(subset=["location_id"])
    restock(conn, sellable[["sku", "location_id", "warehouse_id", "quantity"]])
    quarantined_at = inspected["warehouse_id"].fillna("RETURNS") + "-QUARANTINE"
    update_rows(conn, return_lines, inspected.assign(
        location_id=inspected["location_id"].where(inspected["disposition"] == "restocked", quarantined_at),
    )[["return_id", "line_no", "condition", "disposition", "location_id"]], keys=["return_id", "line_no"])
    outcome = inspected.groupby(["return_id", "order_id"])["disposition"].agg(
        lambda d: states.RETURN_QUARANTINED if (d == "quarantined").any() else states.RETURN_RESTOCKED).reset_index()
    advance_returns(conn, outcome.rename(columns={"disposition": "status"}).assign(inspected_at=at), at=at,
                    flow_run_id=flow_run_id)
    return {"inspected": len(outcome), "restocked_units": int(sellable["quantity"].sum())}


def refunds_due(conn: Connection) -> pd.DataFrame:
    """Inspected returns not yet refunded, with the lines' value and the order's payment."""
    stmt = (
        select(returns.c.return_id, returns.c.order_id, returns.c.store_refunded_amount, orders.c.payment_ref,
               orders.c.currency, orders.c.customer_email, return_lines.c.quantity, return_lines.c.unit_price)
        .join(orders, orders.c.order_id == returns.c.order_id)
        .join(return_lines, return_lines.c.return_id == returns.c.return_id)
        .where(returns.c.status.in_([states.RETURN_RESTOCKED, states.RETURN_QUARANTINED]))
    )
    return read_frame(conn, stmt)


def write_refund_intents(conn: Connection, due: pd.DataFrame, *, now: datetime) -> pd.DataFrame:
    """due: return_id, order_id, payment_ref, currency, amount, in_store → refunds rows
    (insert-ignore; a return the store refunded itself gets status 'in_store' and never reaches
    the gateway); returns the refunds still to send, with their idempotency key as refund_id."""
    frame = due.assign(refund_id=[idempotency_key("refund", r) for r in due["return_id"]],
                       status=due["in_store"].map({True: "in_store", False: "intent"}),
                       gateway_refund_id=None, error=None, created_at=now, updated_at=now)
    upsert(conn, refunds, frame[[c.name for c in refunds.columns]])
    stored = read_frame(conn, select(refunds).where(refunds.c.return_id.in_(due["return_id"].tolist() or [None])))
    return stored[~stored["status"].isin(["succeeded", "in_store"])]


def refunded_in_store(conn: Connection, due: pd.DataFrame, *, at: datetime, flow_run_id) -> int:
    """due: return_id, order_id, in_store — the returns the store refunded whole are done."""
    done = due[due["in_store"]]
    return advance_returns(conn, done[["return_id", "order_id"]].assign(status=states.RETURN_REFUNDED, refunded_at=at),
                           at=at, flow_run_id=flow_run_id)


def record_refunds(conn: Connection, done: pd.DataFrame, *, at: datetime, flow_run_id) -> int:
    """done: refund_id, return_id, order_id, status, gateway_refund_id, error."""
    if done.empty:
        return 0
    update_rows(conn, refunds, done[["refund_id", "status", "gateway_refund_id", "error"]].assign(updated_at=at),
                keys=["refund_id"])
    ok = done[done["status"] == "succeeded"]
    return advance_returns(conn, ok[["return_id", "order_id"]].assign(status=states.RETURN_REFUNDED, refunded_at=at),
                           at=at, flow_run_id=flow_run_id)
