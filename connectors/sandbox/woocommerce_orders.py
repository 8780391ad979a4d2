"""The simulated WooCommerce shops' orders and products: OrderFactory's orders (the Shopify
sandbox's generator, deterministic per shop and day) rendered into WooCommerce REST v3 JSON
as `GET /wp-json/wc/v3/orders` returns it (woocommerce/woocommerce-rest-api-docs,
source/includes/wp-api-v3/_orders.md and _products.md).

Each order is a `SimOrder`: the JSON fields that never change plus the state the API can
change (status, meta, notes, dates), rendered on every read. WooCommerce writes dates twice,
in the site's timezone and as GMT, always without an offset and with whole seconds."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

from connectors.sandbox.shopify_orders import DAMAGE_REASONS, OTHER_REASONS, LB_PER_KG, Shares, numeric_id

VARIANT_BASE = 44_000_000_000_000        # OrderFactory's variant ids are this + catalogue row
CORE_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                 "checkout-draft")
# The checkout's status after the gateway answered (WooCommerce Stripe Gateway: a declined card
# leaves the order pending payment, an asynchronous payment puts it on hold until it settles).
STATUS_AFTER_PAYMENT = {"succeeded": "processing", "processing": "on-hold", "failed": "pending"}
# payments.name -> (WooCommerce gateway id, title, meta key the gateway keeps its reference in)
GATEWAYS = {"stripe": ("stripe", "Credit Card (Stripe)", "_stripe_intent_id"),
            "paypal": ("ppcp-gateway", "PayPal", "_ppcp_paypal_order_id"),
            "mercadopago": ("woo-mercado-pago-custom", "Mercado Pago", "_mp_payment_id")}
SHIPPING_INSTANCES = {"standard": (1, "Flat rate"), "express": (2, "Express"), "next_day": (3, "Next Day")}
WEIGHT_PER_KG = {"kg": (1.0, 3), "g": (1000.0, 1), "lbs": (LB_PER_KG, 3), "oz": (35.27396195, 2)}
TRACKING_META = "_wc_shipment_tracking_items"
RETURN_REASON_META = "_return_reason"


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def ceil_second(moment: datetime) -> datetime:
    """WordPress keeps whole seconds; rounding up keeps a change out of a window already closed."""
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)


def wp_date(moment: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    """WordPress's date format: no offset, local time (tz given) or GMT."""
    if moment is None:
        return None
    return (moment.astimezone(tz) if tz else utc(moment)).strftime("%Y-%m-%dT%H:%M:%S")


def order_id(seq: int) -> int:
    return 1000 + 3 * seq          # orders share the posts' id sequence: gaps are normal


def product_id(row_index: int) -> int:
    return 10 + 2 * row_index


@dataclass
class SimOrder:
    seq: int
    data: dict                      # JSON fields that never change
    created: datetime
    modified: datetime
    status: str
    payment: dict                   # OrderFactory's plan: outcome, amount_cents, settle_at
    malformed: str | None
    weights: list[float]            # true kg per line, for the ground truth
    payment_ref: str                # what the payment sandbox returned
    paid: datetime | None = None
    completed: datetime | None = None
    meta: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    returned: dict | None = None    # {"at", "reason"} once the customer asked for a return
    cancel_at: datetime | None = None   # when the customer cancels, unless it shipped first
    refunds: list[dict] = field(default_factory=list)   # {"id", "at", "amount", "reason"}

    @property
    def id(self) -> int:
        return self.data["id"]

    def touch(self, now: datetime) -> None:
        self.modified = max(self.modified, ceil_second(now))

    def meta_value(self, key: str):
        return next((m["value"] for m in self.meta if m["key"] == key), None)

    def set_meta(self, key: str, value, next_id) -> None:
        """WC_Data::update_meta_data: replace the first entry with this key, else add one."""
        for entry in self.meta:
            if entry["key"] == key:
                entry["value"] = value
                return
        self.meta.append({"id": next_id(), "key": key, "value": value})

    def tracking_items(self) -> list[dict]:
        items = self.meta_value(TRACKING_META)
        return list(items) if isinstance(items, list) else []


def render_order(order: SimOrder, *, base: str, tz: ZoneInfo) -> dict:
    """The order as WooCommerce REST v3 answers it."""
    body = dict(order.data)
    body.update(status=order.status,
                date_created=wp_date(order.created, tz), date_created_gmt=wp_date(order.created),
                date_modified=wp_date(order.modified, tz), date_modified_gmt=wp_date(order.modified),
                date_paid=wp_date(order.paid, tz), date_paid_gmt=wp_date(order.paid),
                date_completed=wp_date(order.completed, tz), date_completed_gmt=wp_date(order.completed),
                meta_data=[dict(m) for m in order.meta],
                # wp-api-v3/_orders.md "refunds": id, reason and total, negative as WooCommerce writes it
                refunds=[{"id": r["id"], "reason": r["reason"], "total": f"-{r['amount']:.2f}"}
                         for r in reversed(order.refunds)])
    links = {"self": [{"href": f"{base}/wp-json/wc/v3/orders/{order.id}"}],
             "collection": [{"href": f"{base}/wp-json/wc/v3/orders"}]}
    if body["customer_id"]:
        links["customer"] = [{"href": f"{base}/wp-json/wc/v3/customers/{body['customer_id']}"}]
    body["_links"] = links
    return body


def build_order(source: dict, *, seq: int, gateway: str, payment_ref: str) -> SimOrder:
    """One OrderFactory order (Shopify-shaped) as a WooCommerce order."""
    number = order_id(seq)
    plan, created = source["_payment"], source["createdAt"]
    gateway_id, gateway_title, ref_meta = GATEWAYS.get(gateway, (gateway, gateway.title(), f"_{gateway}_id"))
    status = STATUS_AFTER_PAYMENT[plan["outcome"]]
    address = _address(source.get("shippingAddress"))
    first, _, last = (source.get("customer") or {}).get("displayName", "").partition(" ")
    billing = {**(address or _address({"name": f"{first} {last}"})), "email": source["email"],
               "phone": (source.get("shippingAddress") or {}).get("phone") or ""}
    lines = [_line(line, seq, i) for i, line in enumerate(source["_lines"])]
    shipping = [_shipping_line(source["shippingLine"], seq)] if source.get("shippingLine") else []
    total = source["totalPriceSet"]["shopMoney"]["amount"]
    data = {
        "id": number, "parent_id": 0, "number": str(number),
        "order_key": "wc_order_" + hashlib.sha1(f"{number}-{seq}".encode()).hexdigest()[:13],
        "created_via": "checkout", "version": "9.4.2", "currency": "USD",
        "discount_total": "0.00", "discount_tax": "0.00",
        "shipping_total": shipping[0]["total"] if shipping else "0.00", "shipping_tax": "0.00",
        "cart_tax": "0.00", "total": total, "total_tax": "0.00", "prices_include_tax": False,
        "customer_id": 0 if seq % 3 else 100 + seq, "customer_ip_address": f"198.51.100.{seq % 250 + 1}",
        "customer_user_agent": "mozilla/5.0 (x11; linux x86_64; rv:132.0) gecko/20100101 firefox/132.0",
        "customer_note": "", "billing": billing, "shipping": address or _address(None),
        "payment_method": gateway_id, "payment_method_title": gateway_title,
        # The gateway writes its reference as the transaction id once money moved; a declined
        # card leaves only the gateway's own meta (the client reads both).
        "transaction_id": payment_ref if plan["outcome"] != "failed" else "",
        "cart_hash": hashlib.md5(f"cart-{number}".encode()).hexdigest(),
        "line_items": lines, "tax_lines": [], "shipping_lines": shipping, "fee_lines": [], "coupon_lines": [],
        "refunds": [],
    }
    order = SimOrder(seq=seq, data=data, created=created, modified=created, status=status, payment=plan,
                     malformed=source.get("_malformed"), weights=[line["_weight_kg"] for line in source["_lines"]],
                     payment_ref=payment_ref, paid=created if plan["outcome"] == "succeeded" else None)
    order.meta.append({"id": 20 * seq + 1, "key": "_order_attribution_source_type", "value": "typein"})
    if plan["outcome"] == "failed":
        order.meta.append({"id": 20 * seq + 2, "key": ref_meta, "value": payment_ref})
    return order


def _address(address: dict | None) -> dict:
    """WooCommerce always sends the shipping object; an order without one has empty strings."""
    address = address or {}
    first, _, last = (address.get("name") or "").partition(" ")
    return {"first_name": first, "last_name": last, "company": "", "address_1": address.get("address1") or "",
            "address_2": address.get("address2") or "", "city": address.get("city") or "",
            "state": address.get("provinceCode") or "", "postcode": address.get("zip") or "",
            "country": address.get("countryCodeV2") or "", "phone": address.get("phone") or ""}


def _line(line: dict, seq: int, index: int) -> dict:
    price = float(line["originalUnitPriceSet"]["shopMoney"]["amount"])
    subtotal = f"{price * line['quantity']:.2f}"
    variant = line.get("variant")     # None for a custom item whose product was deleted
    return {"id": 100_000 + 10 * seq + index, "name": line["name"],
            "product_id": product_id(int(numeric_id(variant["id"])) - VARIANT_BASE) if variant else 0,
            "variation_id": 0, "quantity": line["quantity"], "tax_class": "", "subtotal": subtotal,
            "subtotal_tax": "0.00", "total": subtotal, "total_tax": "0.00", "taxes": [], "meta_data": [],
            "sku": line.get("sku") or "", "price": price}


def _shipping_line(line: dict, seq: int) -> dict:
    instance, title = SHIPPING_INSTANCES.get(line["code"], (9, line["code"].replace("_", " ").title()))
    return {"id": 100_000 + 10 * seq + 9, "method_title": title, "method_id": "flat_rate",
            "instance_id": str(instance), "total": line["originalPriceSet"]["shopMoney"]["amount"],
            "total_tax": "0.00", "taxes": [], "meta_data": []}


def render_product(row: dict, index: int, *, unit: str, base: str, created: datetime, tz: ZoneInfo) -> dict:
    """A simple product, its weight written in the store's weight unit as merchants type it."""
    factor, digits = WEIGHT_PER_KG[unit]
    pid, price = product_id(index), f"{row['unit_price']:.2f}"
    return {
        "id": pid, "name": row["title"], "slug": row["title"].lower().replace(" ", "-"),
        "permalink": f"{base}/product/{row['title'].lower().replace(' ', '-')}/",
        "date_created": wp_date(created, tz), "date_created_gmt": wp_date(created),
        "date_modified": wp_date(created, tz), "date_modified_gmt": wp_date(created),
        "type": "simple", "status": "publish", "featured": False, "catalog_visibility": "visible",
        "description": "", "short_description": "", "sku": row["sku"], "price": price, "regular_price": price,
        "sale_price": "", "on_sale": False, "purchasable": True, "total_sales": 0, "virtual": False,
        "downloadable": False, "tax_status": "taxable", "tax_class": "", "manage_stock": False,
        "stock_quantity": None, "stock_status": "instock", "backorders": "no",
        "weight": f"{round(float(row['weight_kg']) * factor, digits):g}",
        "dimensions": {"length": "", "width": "", "height": ""}, "shipping_required": True,
        "shipping_class": "", "shipping_class_id": 0, "parent_id": 0, "categories": [], "tags": [],
        "images": [], "attributes": [], "variations": [], "meta_data": [],
        "_links": {"self": [{"href": f"{base}/wp-json/wc/v3/products/{pid}"}],
                   "collection": [{"href": f"{base}/wp-json/wc/v3/products"}]},
    }


def return_plan(rng: np.random.Generator, shares: Shares) -> dict | None:
    """Whether the customer sends the order back after delivery, when, and why."""
    if rng.random() >= shares.returns:
        return None
    damaged = rng.random() < shares.damaged
    return {"delay": timedelta(days=float(rng.uniform(1, 3))),
            "reason": str(rng.choice(DAMAGE_REASONS if damaged else OTHER_REASONS))}


def tracking_id(provider: str, number: str) -> str:
    return hashlib.md5(f"{provider}-{number}".encode()).hexdigest()


def order_snapshot(order: SimOrder, *, return_status: str) -> dict:
    data, line = order.data, (order.data["shipping_lines"] or [{}])[0]
    code = next((c for c, (i, _) in SHIPPING_INSTANCES.items() if str(i) == line.get("instance_id")), None)
    return {
        "id": order.id, "number": data["number"], "status": order.status, "created_at": order.created,
        "modified_at": order.modified, "malformed": order.malformed, "email": data["billing"]["email"],
        "shipping_method": code, "total": data["total"], "currency": data["currency"],
        "payment_ref": order.payment_ref,
        "payment_outcome": order.payment["outcome"], "ship_to_region": data["shipping"]["state"] or None,
        "lines": [{"id": li["id"], "sku": li["sku"] or None, "product_id": li["product_id"],
                   "quantity": li["quantity"], "unit_price": li["price"], "weight_kg": kg}
                  for li, kg in zip(data["line_items"], order.weights)],
        "tracking_numbers": [t["tracking_number"] for t in order.tracking_items()],
        "customer_notes": [n["note"] for n in order.notes if n["customer_note"]],
        "return_requested": order.status == return_status, "return": dict(order.returned or {}) or None,
        "refunded": round(sum(r["amount"] for r in order.refunds), 2),
    }
