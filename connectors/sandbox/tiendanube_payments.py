"""Cancellations and money in the simulated Tiendanube stores: the customer's cancellation as
`POST /orders/{id}/cancel` records it (status, cancel_reason, cancelled_at), refunds made in the
store, and the order's payment as the Transactions API shows it
(`GET /orders/{id}/transactions`, TiendaNube/api-docs resources/transaction.md: `captured_amount`,
`refunded_amount`, `status`, and `events` of type sale/refund with `amount` and `happened_at`).

A partial refund leaves the order's `payment_status` as it was (the Order resource documents no
partial value); a refund of everything captured turns it `refunded`."""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

from connectors.sandbox.tiendanube_orders import ceil_second, metafield_stamp, stamp, touch


def cancel(order: dict, *, at: datetime, reason: str = "customer") -> bool:
    """The store cancels the order at the customer's request, unless it shipped already."""
    if order["status"] != "open" or order["shipping_status"] != "unpacked":
        return False
    order.update(status="cancelled", cancel_reason=reason, cancelled_at=stamp(ceil_second(at)), next_action="noop",
                 _cancelled=ceil_second(at))
    touch(order, at)
    return True


def refund(order: dict, amount: float, *, at: datetime) -> None:
    """The merchant refunds `amount` in the store (through the order's payment provider)."""
    order["_refunds"].append((ceil_second(at), round(amount, 2)))
    if sum(a for _, a in order["_refunds"]) >= order["_amount_cents"] / 100 - 0.005:
        order["payment_status"] = "refunded"
    touch(order, at)


def _uuid(text: str) -> str:
    return str(uuid.UUID(bytes=hashlib.md5(text.encode()).digest()))


def _money(value: float, currency: str) -> dict:
    return {"value": f"{value:.2f}", "currency": currency}


def _event_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def transactions(order: dict) -> list[dict]:
    """The order's one payment transaction, rebuilt from its state on every read."""
    tid, currency = _uuid(f"transaction:{order['id']}"), order["currency"]
    amount, placed = order["_amount_cents"] / 100, order["_created"]
    paid = order["paid_at"] is not None or order["payment_status"] == "refunded"

    def event(kind: str, status: str, value: float, at: datetime) -> dict:
        return {"transaction_id": tid, "amount": _money(value, currency), "type": kind, "status": status,
                "failure_code": "card_rejected" if status == "failure" else None,
                "created_at": _event_time(at), "happened_at": _event_time(at).replace(".000Z", "Z"),
                "expires_at": None}

    outcome = order["_outcome"]
    events = [event("sale", {"succeeded": "success", "failed": "failure"}.get(outcome, "pending"), amount, placed)]
    if outcome == "processing" and paid:
        events.append(event("sale", "success", amount, order["_settle_at"]))
    refunded = round(sum(a for _, a in order["_refunds"]), 2)
    events += [event("refund", "success", value, at) for at, value in order["_refunds"]]
    status = ("refunded" if order["payment_status"] == "refunded" else "partially_refunded") if refunded else (
        "paid" if paid else "failed" if outcome == "failed" else "pending")
    return [{
        "id": tid, "payment_provider_id": _uuid(f"provider:{order['gateway']}"),
        "payment_method": {"type": "credit_card", "id": "visa"},
        "info": {"external_id": order["gateway_id"]},
        "status": status, "captured_amount": _money(amount if paid else 0.0, currency),
        "refunded_amount": _money(refunded, currency), "authorized_amount": None, "voided_amount": None,
        "failure_code": "card_rejected" if outcome == "failed" else None,
        "created_at": metafield_stamp(placed), "events": events,
    }]
