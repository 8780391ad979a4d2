"""Reverse logistics: return requests → return labels → receipt → inspection → refund."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE

from connectors.errors import PermanentApiError
from domain import states
from domain.return_requests import validate_return_requests
from domain.returns import gateway_refunds, inspect_return_lines, refund_amounts
from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit
from tasks.poll_tracking import poll
from tasks.pull_orders import pull_window
from tasks.resources import resources
from warehouse import returns as repo
from warehouse.reference import advance_cursor, read_cursor
from warehouse.shipments import write_intents


@task(task_run_name="pull-return-requests {channel}", cache_policy=NONE, **TRANSIENT_RETRIES)
def pull_return_requests(channel: str, as_of: datetime) -> dict[str, int]:
    res = resources()
    with res.engine.begin() as conn:
        cursor = read_cursor(conn, channel=channel, stream="returns")
    since = pull_window(cursor, as_of=as_of, overlap=timedelta(minutes=res.settings.pull_overlap_minutes),
                        lookback=timedelta(days=res.settings.initial_lookback_days))
    pulled = [r for page in res.storefront(channel).pull_return_requests(since=since, until=as_of) for r in page]
    order_ids = sorted({f"{r.channel}:{r.order_external_id}" for r in pulled if hasattr(r, "order_external_id")})
    with res.engine.begin() as conn:
        validated = validate_return_requests(pulled, repo.order_lines_for(conn, order_ids), at=as_of)
        counts = repo.save_return_requests(conn, validated, at=as_of, flow_run_id=current_flow_run_id())
        advance_cursor(conn, channel=channel, stream="returns", to=as_of, now=as_of)
    return {"pulled": len(pulled), **counts}


@task(task_run_name="issue-return-labels", cache_policy=NONE, **TRANSIENT_RETRIES)
def issue_return_labels(as_of: datetime) -> dict[str, int]:
    res = resources()
    with res.engine.begin() as conn:
        work = repo.returns_awaiting_label(conn)
        if work.empty:
            return {"labels": 0}
        work = work.assign(shipment_id=work["return_id"] + "/ret")
        work = work.merge(write_intents(conn, work, direction="return", now=as_of), on="shipment_id")
    labels, failed = [], 0
    try:
        for row in work.itertuples():  # create_return_label looks our reference up before buying
            try:
                label = res.carrier.create_return_label(outbound_label_ref=row.outbound_label_ref,
                                                        reference=row.idempotency_key)
            except PermanentApiError as exc:
                failed += 1
                emit("cumplido.label.failed", resource=f"cumplido.return.{row.return_id}", payload={"error": exc.message})
                continue
            labels.append({"shipment_id": row.shipment_id, "order_id": row.order_id, "return_id": row.return_id,
                           "carrier": label.carrier, "service": label.service, "rate_amount": label.amount,
                           "currency": label.currency, "label_ref": label.label_ref,
                           "tracking_number": label.tracking_number, "customer_email": row.customer_email})
    finally:
        with res.engine.begin() as conn:
            repo.record_return_labels(conn, pd.DataFrame(labels), at=as_of, flow_run_id=current_flow_run_id())
    return {"labels": len(labels), "failed": failed}


@task(task_run_name="receive-returns", cache_policy=NONE, **TRANSIENT_RETRIES)
def receive_returns(as_of: datetime) -> dict[str, int]:
    """Track return parcels: moving → in_transit; delivered to our dock → received."""
    counts, outcome, parcels = poll("return", as_of)
    moved = outcome.shipments.merge(parcels[["shipment_id", "order_id"]], on="shipment_id")
    moved = moved.assign(return_id=moved["shipment_id"].str.removesuffix("/ret"))
    arrived = moved[moved["tracking_status"] == "delivered"]
    moving = moved[moved["tracking_status"].isin(["in_transit", "out_for_delivery"])]
    changes = pd.concat([
        moving[["return_id", "order_id"]].assign(status=states.RETURN_IN_TRANSIT),
        arrived[["return_id", "order_id"]].assign(status=states.RETURN_RECEIVED, received_at=arrived["delivered_at"]),
    ], ignore_index=True)
    with resources().engine.begin() as conn:
        counts["received"] = len(arrived)
        repo.advance_returns(conn, changes, at=as_of, flow_run_id=current_flow_run_id())
    return counts


@task(task_run_name="inspect-returns", cache_policy=NONE, **TRANSIENT_RETRIES)
def inspect_returns(as_of: datetime) -> dict[str, int]:
    with resources().engine.begin() as conn:  # read, restock and change state in one transaction
        lines = repo.received_lines(conn)
        inspected = inspect_return_lines(lines) if not lines.empty else lines
        return repo.record_inspection(conn, inspected, at=as_of, flow_run_id=current_flow_run_id())


@task(task_run_name="refund-returns", cache_policy=NONE, **TRANSIENT_RETRIES)
def refund_returns(as_of: datetime) -> dict[str, int]:
    res = resources()
    with res.engine.begin() as conn:
        due = repo.refunds_due(conn)
        if due.empty:
            return {"refunded": 0}
        owed = gateway_refunds(refund_amounts(due), due.drop_duplicates("return_id")[["return_id", "store_refunded_amount"]])
        amounts = owed.merge(
            due.drop_duplicates("return_id")[["return_id", "order_id", "payment_ref", "currency"]], on="return_id")
        todo = repo.write_refund_intents(conn, amounts, now=as_of)
        in_store = repo.refunded_in_store(conn, amounts, at=as_of, flow_run_id=current_flow_run_id())
    done = []
    try:
        for row in todo.itertuples():
            try:
                refund = res.payment_gateway.refund(payment_ref=row.payment_ref, amount=float(row.amount),
                                                    currency=row.currency, idempotency_key=row.refund_id)
                done.append({"refund_id": row.refund_id, "return_id": row.return_id, "order_id": row.order_id,
                             "status": refund.status, "gateway_refund_id": refund.gateway_refund_id, "error": None})
            except PermanentApiError as exc:
                done.append({"refund_id": row.refund_id, "return_id": row.return_id, "order_id": row.order_id,
                             "status": "failed", "gateway_refund_id": None, "error": exc.message})
                emit("cumplido.refund.failed", resource=f"cumplido.return.{row.return_id}", payload={"error": exc.message})
    finally:
        with res.engine.begin() as conn:
            refunded = repo.record_refunds(conn, pd.DataFrame(done), at=as_of, flow_run_id=current_flow_run_id())
    return {"refunded": refunded, "refunded_in_store": in_store, "failed": sum(d["status"] == "failed" for d in done)}
