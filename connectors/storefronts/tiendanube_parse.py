"""Tiendanube / Nuvemshop order and metafield payloads normalised into domain records. Pure
functions: no HTTP here.

Field meanings follow the Order resource of the Tiendanube API (TiendaNube/api-docs
`resources/order.md`; tiendanube.github.io/api-documentation/resources/order): amounts are
decimal strings in the order's `currency`, product `weight` is in kilograms, `gateway` names the
payment provider and `gateway_id` is that provider's transaction id (our payment reference).

Cancellations and refunds: a cancelled order has `status` "cancelled" and `cancelled_at` (the
order and draft-order property tables; `cancel_reason` says why). The Order resource carries no
refunded amount: `payment_status` "refunded" (or "voided": nothing left captured) means all of it.
What was refunded, and when, is in the order's payment transactions (resources/transaction.md,
`GET /orders/{id}/transactions`): events of type "refund" with an `amount` (none: the whole
transaction) and `happened_at`; a return's refund is the refunds made once it was requested."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from domain.geography import state_code
from domain.records import Address, ChannelOrder, Malformed, OrderLine, ReturnLine, ReturnRequest

PER_PAGE = 200               # the largest page GET /orders and GET /metafields accept
# Only what we parse: `fields` trims Tiendanube's large order payload (~80 keys) to these.
ORDER_FIELDS = ",".join((
    "id", "number", "created_at", "updated_at", "status", "payment_status", "shipping_status",
    "contact_name", "contact_email", "customer", "products", "shipping_address", "shipping_pickup_type",
    "shipping", "shipping_option", "shipping_option_code", "shipping_min_days", "shipping_max_days",
    "currency", "total", "gateway", "gateway_id", "gateway_name", "cancelled_at", "cancel_reason",
))
FULFILLMENT_FIELDS = "id,status,shipping_status,shipping_tracking_number,shipping_tracking_url,updated_at"
SHIPPED = ("shipped", "fulfilled")   # older docs call the shipped state "fulfilled"
# Tiendanube has no service level, only the promise the checkout showed: `shipping_max_days`
# weekdays. Each band maps onto the world's SLA key that keeps that promise (config/world.yaml).
SLA_BY_MAX_DAYS = ((1, "next_day"), (3, "express"), (10_000, "standard"))
NO_PAYMENT_REFERENCE = ("offline", "not-provided", "custom")
# Tiendanube has no returns API. Cumplido reads return requests from an order metafield that the
# store's returns app writes: namespace/key below, value a JSON object
# {"lines": [{"line_id": <products[].id>, "sku": ..., "quantity": n, "reason": "DEFECTIVE", "note": ...}]}.
RETURN_NAMESPACE, RETURN_KEY = "returns", "request"
FULLY_REFUNDED = ("refunded", "voided")


def aware(moment: datetime) -> datetime:
    """Cumplido passes naive UTC; Tiendanube answers with offsets: compare both as aware UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def iso(moment: datetime) -> str:
    """A timestamp as Tiendanube's date filters take it (ISO 8601 with offset)."""
    return aware(moment).isoformat(timespec="seconds")


def parse_datetime(text: str) -> datetime:
    """Orders carry offsets (`-03:00`, `+0000`); metafields a bare `2015-01-02 20:27:51`, read as UTC."""
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def parse_order(channel: str, order: dict) -> ChannelOrder | Malformed:
    """A ChannelOrder with None where Tiendanube sent nothing usable (validation decides later),
    or Malformed when not even the order's identity, dates or total can be read."""
    try:
        customer = order.get("customer") or {}
        address = order.get("shipping_address")
        return ChannelOrder(
            channel=channel, external_id=str(order["id"]), order_number=str(order["number"]),
            placed_at=parse_datetime(order["created_at"]), updated_at=parse_datetime(order["updated_at"]),
            customer_name=order.get("contact_name") or customer.get("name") or (address or {}).get("name"),
            customer_email=order.get("contact_email") or customer.get("email"),
            ship_to=None if order.get("shipping_pickup_type") == "pickup" else ship_to(address),
            shipping_method=sla_key(order), currency=order.get("currency") or "",
            total_amount=float(order["total"]), payment_ref=payment_ref(order),
            lines=tuple(_line(product) for product in order["products"]), raw=order,
            cancelled_at=_cancelled_at(order),
            refunded_amount=float(order["total"]) if order.get("payment_status") in FULLY_REFUNDED else 0.0,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Malformed(source=channel, stream="orders", external_id=str((order or {}).get("id") or ""),
                         reason=f"unreadable order: {type(exc).__name__}: {exc}", raw=order)


def _cancelled_at(order: dict) -> datetime | None:
    if order.get("status") != "cancelled":
        return None
    return parse_datetime(order.get("cancelled_at") or order["updated_at"])   # older stores send no cancelled_at


def return_refunds(requests: list[ReturnRequest], transactions: list[dict]) -> dict[str, float]:
    """What the store refunded for each of one order's return requests: every successful refund
    event of the order's transactions goes to the latest request made at or before it."""
    ordered = sorted(requests, key=lambda r: r.requested_at)
    found = {r.external_id: 0.0 for r in requests}
    for transaction in transactions if isinstance(transactions, list) else []:
        for event in transaction.get("events") or []:
            if event.get("type") != "refund" or event.get("status") != "success":
                continue
            when = event.get("happened_at") or event.get("created_at")
            at = parse_datetime(when) if when else None          # undated: the latest request, to be safe
            owner = next((r for r in reversed(ordered) if at is None or r.requested_at <= at), None)
            if owner is not None:
                money = event.get("amount") or transaction.get("captured_amount") or {}
                found[owner.external_id] = round(found[owner.external_id] + float(money.get("value") or 0), 2)
    return found


def ship_to(address: dict | None) -> Address | None:
    """Tiendanube splits the street (`address`) from its `number` and `floor`; US stores write
    the number first, Latin-American ones after the street. Province names become codes where
    they are US states."""
    if not address or not all(address.get(k) for k in ("address", "city", "zipcode", "country")):
        return None
    street, number = address["address"].strip(), str(address.get("number") or "").strip()
    line1 = (f"{number} {street}" if address["country"] == "US" else f"{street} {number}").strip()
    if address.get("floor"):
        line1 += f", {address['floor']}"
    province = address.get("province") or ""
    region = (state_code(province) or province) if address["country"] == "US" else province
    return Address(name=address.get("name") or "", line1=line1, city=address["city"], region=region,
                   postal_code=address["zipcode"], country=address["country"], phone=address.get("phone") or "")


def sla_key(order: dict) -> str | None:
    """The world's SLA key for the delivery promise of the order's shipping option; None for
    pickups and orders without a shipping option (validation quarantines them)."""
    max_days = order.get("shipping_max_days")
    if order.get("shipping_pickup_type") == "pickup" or max_days in (None, ""):
        return None
    days = int(max_days)
    return next(key for limit, key in SLA_BY_MAX_DAYS if days <= limit)


def payment_ref(order: dict) -> str | None:
    """The payment provider's transaction id; offline payments ("A convenir") have none."""
    if (order.get("gateway") or "").lower() in NO_PAYMENT_REFERENCE:
        return None
    return str(order["gateway_id"]) if order.get("gateway_id") not in (None, "") else None


def _line(product: dict) -> OrderLine:
    # Quantities arrive as numbers or as strings ("1") depending on the store's age.
    return OrderLine(external_line_id=str(product["id"]), sku=product.get("sku") or None,
                     quantity=int(product["quantity"]), unit_price=float(product["price"]),
                     weight_kg=round(float(product.get("weight") or 0.0), 4))


def parse_return(channel: str, metafield: dict) -> ReturnRequest | Malformed:
    """One return request metafield (see RETURN_NAMESPACE) as a ReturnRequest."""
    try:
        value = json.loads(metafield["value"])
        lines = tuple(ReturnLine(external_line_id=str(line["line_id"]), sku=line.get("sku"),
                                 quantity=int(line["quantity"]), reason=line.get("reason") or "UNKNOWN")
                      for line in value["lines"])
        return ReturnRequest(channel=channel, external_id=str(metafield["id"]),
                             order_external_id=str(metafield["owner_id"]),
                             requested_at=parse_datetime(metafield["created_at"]), lines=lines, raw=metafield)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Malformed(source=channel, stream="returns", external_id=str((metafield or {}).get("id") or ""),
                         reason=f"unreadable return request: {type(exc).__name__}: {exc}", raw=metafield)


def error_message(body: Any) -> str:
    """Tiendanube's three error shapes: {"code", "message", "description"} (current endpoints),
    {"field": ["can't be blank"]} (legacy validation) and {"error": "Problems parsing JSON"}."""
    if not isinstance(body, dict):
        return str(body)[:300]
    if "description" in body or "message" in body:
        words = [str(body[k]) for k in ("message", "description") if body.get(k)]
        fields = [f"{k}: {'; '.join(map(str, v))}" for k, v in body.items() if isinstance(v, list)]
        return " - ".join(words + fields)[:300]
    if "error" in body:
        return str(body["error"])[:300]
    return "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in body.items())[:300]
