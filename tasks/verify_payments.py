"""Reception: check every unverified order's payment at the gateway."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE

from domain import states
from domain.payments import verify_payments as decide_payments
from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit
from tasks.resources import resources
from warehouse.bulk import upsert
from warehouse.orders import orders_in, transition
from warehouse.schema import payments

COLUMNS = ["order_id", "total_amount", "currency", "payment_ref", "placed_at", "status", "hold_reason"]


def awaiting_payment(frame: pd.DataFrame) -> pd.DataFrame:
    """New orders, and held orders whose hold is about the payment (other holds wait for ops)."""
    held_for_payment = (frame["status"] == states.ON_HOLD) & frame["hold_reason"].fillna("").str.contains("payment")
    return frame[(frame["status"] == states.NEW) | held_for_payment]


def payment_rows(found: list, *, gateway: str, refs_to_orders: dict[str, str], at: datetime) -> pd.DataFrame:
    return pd.DataFrame([{
        "order_id": refs_to_orders[p.payment_ref], "gateway": gateway, "payment_ref": p.payment_ref,
        "status": p.status, "amount": p.amount, "currency": p.currency, "checked_at": at, "raw": json.dumps(p.raw),
    } for p in found if p.payment_ref in refs_to_orders])


@task(task_run_name="verify-payments", cache_policy=NONE, **TRANSIENT_RETRIES)
def verify_payments(as_of: datetime, channels: list[str] | None = None) -> dict[str, int]:
    """Orders of `channels` (None = all): intake has no warehouse yet (domain.partitions)."""
    res = resources()
    with res.engine.begin() as conn:
        pending = awaiting_payment(orders_in(conn, states.AWAITING_PAYMENT, channels=channels, columns=COLUMNS))
    if pending.empty:
        return {"checked": 0}
    refs = pending.dropna(subset=["payment_ref"]).set_index("payment_ref")["order_id"].to_dict()
    gateway = res.payment_gateway
    found = gateway.fetch_payments(list(refs), created_since=pending["placed_at"].min() - timedelta(days=1))
    rows = payment_rows(found, gateway=gateway.name, refs_to_orders=refs, at=as_of)
    decisions = decide_payments(pending, rows if not rows.empty else pd.DataFrame(
        columns=["payment_ref", "status", "amount", "currency"]))
    with res.engine.begin() as conn:
        if not rows.empty:
            upsert(conn, payments, rows, update=["status", "amount", "currency", "checked_at", "raw"])
        changed = transition(conn, decisions, at=as_of, flow_run_id=current_flow_run_id())
    counts = {"checked": len(pending), "changed": changed,
              **decisions["status"].value_counts().to_dict()}
    emit("cumplido.payments.verified", resource="cumplido.gateway." + gateway.name, payload=counts)
    return counts
