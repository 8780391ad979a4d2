"""What the simulated Tiendanube stores sell: the shared OrderFactory's orders (Shopify-shaped
dicts) rendered as Tiendanube Order resources, one store's state, and the return requests a
returns app records as order metafields.

Rendered orders follow the GET /orders example of TiendaNube/api-docs `resources/order.md`, plus
the fields the current docs add (`contact_*`, `products[].id/sku/name`, `gateway_id`,
`gateway_name`, `payment_details`). Keys starting with `_` are the sandbox's own and never leave it."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

from connectors.sandbox.shopify_cost import LeakyBucket
from connectors.sandbox.shopify_orders import NOTES, SHIPPING_PRICE
from domain.geography import STATES

STORE_TZ = timezone(timedelta(hours=-3))    # Buenos Aires: the store answers in its own time zone
# The store's shipping options (a custom shipping table): name and promise in weekdays, per SLA.
SHIPPING_TABLE = {"standard": ("Envío estándar", 3, 6), "express": ("Envío express", 2, 3),
                  "next_day": ("Envío en 24 h", 1, 1)}
PAYMENT_STATUS = {"succeeded": "paid", "processing": "pending", "failed": "pending"}
GATEWAY_NAMES = {"stripe": "Stripe", "paypal": "PayPal", "mercadopago": "Mercado Pago"}


def stamp(moment: datetime) -> str:
    """`2026-11-02T10:04:23-03:00`: whole seconds, in the store's time zone, as the docs show."""
    return moment.astimezone(STORE_TZ).isoformat(timespec="seconds")


def metafield_stamp(moment: datetime) -> str:
    """Metafields carry `2015-01-02 20:27:51` (resources/order.md, invoices example)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def ceil_second(moment: datetime) -> datetime:
    """Timestamps have whole seconds; rounding up keeps an update out of a window already read."""
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)


def touch(order: dict, at: datetime) -> None:
    order["_updated"] = max(order["_updated"], ceil_second(at))
    order["updated_at"] = stamp(order["_updated"])


def store_info(store_id: int, domain: str) -> dict:
    """GET /store, shaped as TiendaNube/api-docs resources/store.md shows it."""
    label = domain.split(".")[0].replace("-", " ").title()
    social = dict.fromkeys(("facebook", "twitter", "google_plus", "instagram", "pinterest", "blog"))
    return {"id": store_id, "name": {"es": label}, "description": {"es": ""}, "type": None,
            "email": f"owner@{domain}", "logo": None, "contact_email": f"contacto@{domain}", **social,
            "address": None, "phone": None, "business_id": None, "business_name": None, "business_address": None,
            "customer_accounts": "optional", "plan_name": "Evolución", "country": "US",
            "languages": {"es": {"currency": "USD", "active": True}}, "domains": [domain], "original_domain": domain,
            "main_language": "es", "main_currency": "USD", "admin_language": "es",
            "created_at": "2024-03-01T09:00:00-03:00"}


class StoreState:
    """One store: its orders (by creation), fulfilments, return metafields and rate-limit bucket."""

    def __init__(self, *, domain: str, index: int, bucket: LeakyBucket):
        self.domain = domain
        self.index = index
        self.store_id = 4_100_000 + index
        self.bucket = bucket
        self.orders: list[dict] = []
        self.by_id: dict[int, dict] = {}
        self.metafields: list[dict] = []
        self.next_seq = 1
        self.generated_through = None
        self.awaiting_delivery: dict[int, dict] = {}
        self.scheduled_returns: list[tuple[datetime, dict, dict]] = []
        self.fulfillment_log: list[dict] = []
        self.info = store_info(self.store_id, domain)

    def add(self, order: dict) -> None:
        self.orders.append(order)
        self.by_id[order["id"]] = order

    def fulfil(self, order: dict, *, number: str, url: str | None, notify: bool, at: datetime) -> None:
        """POST /orders/{id}/fulfill: the order ships with this tracking."""
        order.update(shipping_status="shipped", shipping_tracking_number=number, shipping_tracking_url=url,
                     shipped_at=stamp(ceil_second(at)), next_action="noop")
        touch(order, at)
        self.awaiting_delivery[order["id"]] = order
        self.fulfillment_log.append({"order_id": str(order["id"]), "number": order["number"], "tracking_number": number,
                                     "tracking_url": url, "notify_customer": notify, "at": ceil_second(at)})

    def record_return(self, order: dict, plan: dict, *, at: datetime) -> dict:
        """What the store's returns app writes when a customer asks to send something back."""
        products = order["products"]
        lines = [{"line_id": products[i]["id"], "sku": products[i]["sku"], "quantity": qty, "reason": reason,
                  "note": NOTES.get(reason)} for i, qty, reason in plan["lines"]]
        at = ceil_second(at)
        metafield = {"id": 7_700_000 + self.index * 100_000 + len(self.metafields) + 1, "namespace": "returns",
                     "key": "request", "value": json.dumps({"lines": lines}),
                     "description": "Return requested by the customer", "owner_resource": "Order",
                     "owner_id": order["id"], "created_at": metafield_stamp(at), "updated_at": metafield_stamp(at),
                     "deleted_at": None, "_at": at, "_refunded": 0.0}
        self.metafields.append(metafield)
        order["_returns"].append(metafield)
        return metafield


def render_order(src: dict, *, store: StoreState, gateway: str, payment_id: str) -> dict:
    """A Tiendanube order from an OrderFactory order (same customer, lines, totals, malformations)."""
    seq, placed = src["_seq"], src["createdAt"]
    order_id = 1_400_000_000 + store.index * 10_000_000 + seq
    code = (src.get("shippingLine") or {}).get("code")
    products = [_product(line, order_id * 100 + i) for i, line in enumerate(src["_lines"])]
    subtotal = sum(float(p["price"]) * p["quantity"] for p in products)
    outcome = src["_payment"]["outcome"]
    address = _address(src.get("shippingAddress"), order_id, placed)
    order = {
        "id": order_id, "token": hashlib.sha1(f"{store.domain}:{order_id}".encode()).hexdigest(),
        "store_id": store.store_id, "number": 100 + seq, "contact_name": src["customer"]["displayName"],
        "contact_email": src["email"], "contact_phone": (address or {}).get("phone") or "",
        "products": products, "note": None, "owner_note": None, "coupon": [], "discount": "0.00",
        "subtotal": f"{subtotal:.2f}", "total": src["totalPriceSet"]["shopMoney"]["amount"],
        "total_usd": src["totalPriceSet"]["shopMoney"]["amount"], "currency": "USD",
        "language": "es", "gateway": gateway, "gateway_id": payment_id,
        "gateway_name": GATEWAY_NAMES.get(gateway, gateway.title()),
        "payment_details": {"method": "credit_card", "credit_card_company": "visa", "installments": 1},
        "weight": f"{sum(float(p['weight']) * p['quantity'] for p in products):.3f}",
        "shipping_pickup_type": "ship", "shipping_store_branch_name": None, "shipping_pickup_details": None,
        "shipping_address": address, **_billing(address), "extra": {},
        "shipping_tracking_number": None, "shipping_tracking_url": None,
        "status": "open", "payment_status": PAYMENT_STATUS[outcome], "shipping_status": "unpacked",
        "next_action": "waiting_packing" if outcome == "succeeded" else "waiting_manual_confirmation",
        "cancel_reason": None, "cancelled_at": None,
        "created_at": stamp(placed), "updated_at": stamp(placed), "shipped_at": None,
        "paid_at": stamp(placed) if outcome == "succeeded" else None,
        **_shipping(code, store),
        "_seq": seq, "_created": placed, "_updated": placed, "_malformed": src["_malformed"], "_outcome": outcome,
        "_settle_at": src["_payment"]["settle_at"], "_amount_cents": src["_payment"]["amount_cents"],
        "_sla": code, "_returns": [], "_refunds": [], "_cancelled": None,
    }
    return order


def _product(line: dict, line_id: int) -> dict:
    custom = line.get("variant") is None           # a custom line: no product, variant nor weight
    return {"id": line_id, "product_id": None if custom else 180_000_000 + int(line["sku"][-5:]),
            "variant_id": None if custom else 780_000_000 + int(line["sku"][-5:]), "name": line["name"],
            "price": line["originalUnitPriceSet"]["shopMoney"]["amount"], "quantity": line["quantity"],
            "sku": line["sku"], "weight": "0.00" if custom else f"{line['_weight_kg']:.2f}",
            "width": None, "height": None, "depth": None, "free_shipping": False, "issues": []}


def _address(address: dict | None, order_id: int, placed: datetime) -> dict | None:
    if not address:
        return None
    number, _, street = address["address1"].partition(" ")
    return {"address": street, "number": number, "floor": address.get("address2"), "locality": None,
            "city": address["city"], "province": STATES[address["provinceCode"]][0], "zipcode": address["zip"],
            "country": address["countryCodeV2"], "phone": address.get("phone") or "", "name": address["name"],
            "id": order_id + 3_000_000_000, "default": False, "created_at": stamp(placed),
            "updated_at": stamp(placed)}


def _billing(address: dict | None) -> dict:
    """Checkout copies the shipping address into the billing fields unless told otherwise."""
    address = address or {}
    return {f"billing_{key}": address.get(source) for key, source in (
        ("name", "name"), ("phone", "phone"), ("address", "address"), ("number", "number"), ("floor", "floor"),
        ("locality", "locality"), ("zipcode", "zipcode"), ("city", "city"), ("province", "province"),
        ("country", "country"))}


def _shipping(code: str | None, store: StoreState) -> dict:
    if code not in SHIPPING_TABLE:                  # no shipping option recorded (an import, an app)
        return {"shipping": "not-provided", "shipping_option": "No informado", "shipping_option_code": None,
                "shipping_option_reference": None, "shipping_min_days": None, "shipping_max_days": None,
                "shipping_cost_owner": "0.00", "shipping_cost_customer": "0.00"}
    name, min_days, max_days = SHIPPING_TABLE[code]
    cost = f"{SHIPPING_PRICE.get(code, 9.95):.2f}"
    return {"shipping": "table", "shipping_option": name,
            "shipping_option_code": f"table_{store.store_id}{list(SHIPPING_TABLE).index(code) + 1}",
            "shipping_option_reference": None, "shipping_min_days": min_days, "shipping_max_days": max_days,
            "shipping_cost_owner": cost, "shipping_cost_customer": cost}


def public(order: dict, fields: list[str] | None = None) -> dict:
    """The order as the API shows it: no sandbox keys, trimmed to `fields` when asked."""
    shown = {k: v for k, v in order.items() if not k.startswith("_")}
    return {k: shown[k] for k in fields if k in shown} if fields else shown


def order_snapshot(order: dict) -> dict:
    """Ground truth for tests: the order as the store holds it, in plain values."""
    address = order.get("shipping_address") or {}
    return {
        "id": str(order["id"]), "number": order["number"], "created_at": order["_created"],
        "updated_at": order["_updated"], "malformed": order["_malformed"], "email": order["contact_email"],
        "shipping_method": order["_sla"] if order["shipping_max_days"] is not None else None,
        "total": order["total"], "currency": order["currency"], "payment_ref": order["gateway_id"],
        "payment_outcome": order["_outcome"], "payment_status": order["payment_status"],
        "payment_amount_cents": order["_amount_cents"], "ship_to_province": address.get("province"),
        "lines": [{"id": str(p["id"]), "sku": p["sku"], "quantity": p["quantity"], "unit_price": float(p["price"]),
                   "weight_kg": float(p["weight"])} for p in order["products"]],
        "shipping_status": order["shipping_status"], "tracking_number": order["shipping_tracking_number"],
        "return_ids": [str(m["id"]) for m in order["_returns"]],
        "status": order["status"], "cancelled_at": order["_cancelled"],
        "refunded": round(sum(amount for _, amount in order["_refunds"]), 2),
    }


def return_snapshot(metafield: dict) -> dict:
    value = json.loads(metafield["value"])
    return {"id": str(metafield["id"]), "order_id": str(metafield["owner_id"]), "created_at": metafield["_at"],
            "lines": [{"line_id": str(line["line_id"]), "sku": line["sku"], "quantity": line["quantity"],
                       "reason": line["reason"]} for line in value["lines"]], "refunded": metafield["_refunded"]}
