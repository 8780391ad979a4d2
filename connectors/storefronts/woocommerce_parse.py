"""WooCommerce REST API v3 JSON into domain records, the Shipment Tracking extension's order
meta, error envelopes and webhook signatures. Pure functions: no HTTP here.

Fields as woocommerce/woocommerce-rest-api-docs (wp-api-v3/_orders.md) documents them: integer
ids, money as strings (a line's `price` a number), dates twice without an offset, `date_*` in
the site's timezone and `date_*_gmt` in GMT (only those are read here).

Cancellations and refunds: an order has no cancellation date, only `status` "cancelled"; its
`date_modified_gmt` (the status change, unless it was edited again later) stands in for it.
`refunds` lists the order's refunds ({id, reason, total}, total a negative string such as
"-10.00"); their sum is what was refunded in the store. A return request is the whole order
(see return_request), so every refund of the order counts against it.

Shipping method -> our SLA code. Orders record the zone's method instance (`method_id`,
`instance_id`, `method_title`); merchants run several Flat rate instances titled by speed. Looked
up as "method_id:instance_id" (a merchant's own mapping), then the title's slug ("Next Day" ->
next_day, "Flat rate" -> flat_rate), then method_id only for an untitled line. An unmapped
method comes back as its title's slug: the order is quarantined ("unknown shipping method"),
never shipped at a guessed speed."""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from domain.records import Address, ChannelOrder, Malformed, OrderLine, ReturnLine, ReturnRequest

KG_PER_UNIT = {"kg": 1.0, "g": 0.001, "lbs": 0.45359237, "oz": 0.028349523125}
DEFAULT_SHIPPING_METHODS: dict[str, str] = {
    "flat_rate": "standard", "free_shipping": "standard",          # WooCommerce's default titles
    "standard": "standard", "standard_shipping": "standard", "ground": "standard",
    "express": "express", "express_shipping": "express", "expedited": "express", "2_day": "express",
    "two_day": "express", "next_day": "next_day", "next_day_delivery": "next_day", "overnight": "next_day",
}
TRACKING_META = "_wc_shipment_tracking_items"     # the Shipment Tracking extension's order meta
RETURN_REASON_META = "_return_reason"              # set by returns plugins next to the custom status
DEFAULT_RETURN_REASON = "OTHER"
# Where gateways keep their own reference before (or without) writing transaction_id, e.g. a
# declined card: WooCommerce Stripe Gateway, WooCommerce PayPal Payments, Mercado Pago.
GATEWAY_REF_META = ("_stripe_intent_id", "_ppcp_paypal_order_id", "_mp_payment_id")
KEYS = "CUMPLIDO_WOOCOMMERCE_CONSUMER_KEY / CUMPLIDO_WOOCOMMERCE_CONSUMER_SECRET"


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def ceil_second(moment: datetime) -> datetime:
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)


def wp_time(moment: datetime) -> str:
    """A moment as WordPress compares it with dates_are_gmt=true: naive GMT, whole seconds."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S")


def parse_gmt(text: str) -> datetime:
    """A `*_gmt` date (naive, as WordPress writes them) as an aware UTC datetime."""
    return utc(datetime.fromisoformat(text))


def slug(text: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text or "").lower()).strip("_")


def meta(order: Mapping, key: str) -> Any:
    return next((m.get("value") for m in order.get("meta_data") or [] if isinstance(m, dict) and m.get("key") == key),
                None)


def shipping_code(lines: list[dict], table: Mapping[str, str]) -> str | None:
    if not lines:
        return None
    line = lines[0]
    method, _, legacy_instance = str(line.get("method_id") or "").partition(":")   # "flat_rate:25" before WC 3.4
    instance, title = str(line.get("instance_id") or legacy_instance or ""), slug(line.get("method_title"))
    for key in (f"{method}:{instance}" if instance else "", title or method):
        if key and key in table:
            return table[key]
    return title or method or None


def payment_ref(order: Mapping) -> str | None:
    """The gateway's reference of the payment: `transaction_id`, else the gateway's own meta."""
    ref = str(order.get("transaction_id") or "").strip()
    return ref or next((str(v) for v in (meta(order, key) for key in GATEWAY_REF_META) if v), None)


def _address(shipping: dict | None, billing: dict | None) -> Address | None:
    """None when WooCommerce has no shipping address (it sends the object with empty strings)."""
    if not shipping or not all(shipping.get(k) for k in ("address_1", "city", "postcode", "country")):
        return None
    line1 = shipping["address_1"] + (f", {shipping['address_2']}" if shipping.get("address_2") else "")
    name = " ".join(filter(None, (shipping.get("first_name"), shipping.get("last_name"))))
    return Address(name=name or shipping.get("company") or "", line1=line1, city=shipping["city"],
                   region=shipping.get("state") or "", postal_code=shipping["postcode"], country=shipping["country"],
                   phone=shipping.get("phone") or (billing or {}).get("phone") or "")


def _line(line: dict, weights: Mapping[int, float | None]) -> OrderLine:
    """Line items carry no weight: it is the product's. A variation's own weight is not read;
    its parent product's stands in (the usual case: variations inherit it when left empty)."""
    product = int(line.get("variation_id") or 0) or int(line.get("product_id") or 0)
    weight = weights.get(product) or weights.get(int(line.get("product_id") or 0)) or 0.0
    return OrderLine(external_line_id=str(line["id"]), sku=str(line.get("sku") or "").strip() or None,
                     quantity=int(line["quantity"]), unit_price=float(line["price"]), weight_kg=round(weight, 4))


def parse_order(channel: str, order: dict, *, weights: Mapping[int, float | None], shipping_methods: Mapping[str, str],
                return_status: str) -> ChannelOrder | Malformed:
    """A ChannelOrder with None where WooCommerce sent nothing usable (validation decides later),
    or Malformed when not even the order's identity, dates or total can be read."""
    try:
        billing = order.get("billing") or {}
        name = " ".join(filter(None, (billing.get("first_name"), billing.get("last_name")))) or None
        ship_to = _address(order.get("shipping"), billing)
        return ChannelOrder(
            channel=channel, external_id=str(order["id"]), order_number=str(order.get("number") or order["id"]),
            placed_at=parse_gmt(order["date_created_gmt"]), updated_at=parse_gmt(order["date_modified_gmt"]),
            customer_name=name or (ship_to.name if ship_to else None), customer_email=billing.get("email") or None,
            ship_to=ship_to, shipping_method=shipping_code(order.get("shipping_lines") or [], shipping_methods),
            currency=order["currency"], total_amount=float(order["total"]), payment_ref=payment_ref(order),
            lines=tuple(_line(line, weights) for line in order["line_items"]),
            returns=(return_request(channel, order),) if order.get("status") == return_status else (), raw=order,
            cancelled_at=parse_gmt(order["date_modified_gmt"]) if order.get("status") == "cancelled" else None,
            refunded_amount=refunded(order),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Malformed(source=channel, stream="orders", external_id=str((order or {}).get("id") or ""),
                         reason=f"unreadable order: {type(exc).__name__}: {exc}", raw=order)


def return_request(channel: str, order: dict) -> ReturnRequest:
    """One request per order in the return status, for every line (WooCommerce core records no
    per-line returns); requested_at is the order's last change, the status change itself."""
    reason = slug(meta(order, RETURN_REASON_META)).upper() or DEFAULT_RETURN_REASON
    lines = tuple(ReturnLine(external_line_id=str(li["id"]), sku=str(li.get("sku") or "").strip() or None,
                             quantity=int(li["quantity"]), reason=reason)
                  for li in order["line_items"] if int(li["quantity"]) > 0)
    return ReturnRequest(channel=channel, external_id=f"{order['id']}-return", order_external_id=str(order["id"]),
                         requested_at=parse_gmt(order["date_modified_gmt"]), lines=lines, raw=order,
                         refunded_amount=refunded(order))


def refunded(order: Mapping) -> float:
    """What the store refunded: the `refunds` totals (negative strings) summed; an order set
    `refunded` without refund records (an import) counts as refunded in full."""
    amount = round(sum(abs(float(r.get("total") or 0)) for r in order.get("refunds") or [] if isinstance(r, dict)), 2)
    return float(order["total"]) if amount == 0 and order.get("status") == "refunded" else amount


def parse_return_request(channel: str, order: dict) -> ReturnRequest | Malformed:
    try:
        return return_request(channel, order)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Malformed(source=channel, stream="returns", external_id=f"{(order or {}).get('id', '')}-return",
                         reason=f"unreadable return request: {type(exc).__name__}: {exc}", raw=order)


def product_weight_kg(product: dict, kg_per_unit: float) -> float | None:
    """A product's `weight` (a string in the store's unit, "" when unknown) in kg."""
    try:
        return round(float(product.get("weight") or "") * kg_per_unit, 4)
    except ValueError:
        return None


# --- the Shipment Tracking extension's order meta --------------------------------------------

def tracking_items(order: Mapping) -> list[dict]:
    items = meta(order, TRACKING_META)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def find_tracking(items: list[dict], number: str) -> dict | None:
    return next((i for i in items if str(i.get("tracking_number", "")).strip() == number), None)


def tracking_item(*, carrier_name: str, tracking_number: str, tracking_url: str, shipped: date) -> dict:
    """An item as the extension stores it: our carrier as a custom provider with its own link,
    the shipping date as a Unix timestamp, a tracking_id derived from the number (stable, so a
    repeated push writes the same item)."""
    return {"tracking_provider": "", "custom_tracking_provider": carrier_name, "custom_tracking_link": tracking_url,
            "tracking_number": tracking_number,
            "date_shipped": str(int(datetime.combine(shipped, datetime.min.time(), timezone.utc).timestamp())),
            "tracking_id": hashlib.md5(f"{carrier_name}-{tracking_number}".encode()).hexdigest()}


def shipped_note(*, carrier_name: str, tracking_number: str, tracking_url: str) -> str:
    return f"Your order is on its way with {carrier_name}. Tracking number: {tracking_number} ({tracking_url})"


# --- paging by seeking -------------------------------------------------------------------------

def stamp(order: Mapping) -> datetime | None:
    try:
        return parse_gmt(order["date_modified_gmt"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def next_seek(page: list[dict], after: datetime, excluded: set) -> tuple[datetime, set] | None:
    """Where the next request starts: modified_after one second before the newest change read
    (WordPress compares strictly, at whole seconds) excluding the ids read at that second.
    None when the page gives no way forward (no readable dates, or nothing new)."""
    stamps = [(stamp(o), o.get("id")) for o in page]
    newest = max((s for s, _ in stamps if s is not None), default=None)
    if newest is None:
        return None
    at_newest = {oid for s, oid in stamps if s == newest and oid is not None}
    boundary = newest - timedelta(seconds=1)
    following = (boundary, (excluded | at_newest) if boundary == after else at_newest)
    return None if following == (after, excluded) else following


# --- errors ------------------------------------------------------------------------------------

def describe_error(body: Any, *, status: int, fallback: str, basic_auth: bool) -> str:
    """WordPress's {"code", "message", "data": {"params"}} in its own words, and what to check."""
    if not isinstance(body, dict):
        return fallback
    code = str(body.get("code") or "")
    message = html.unescape(re.sub(r"<[^>]+>", "", str(body.get("message") or ""))) or fallback
    params = (body.get("data") or {}).get("params") if isinstance(body.get("data"), dict) else None
    text = f"{message} [{code}]" + (f": {'; '.join(map(str, params.values()))}" if isinstance(params, dict) else "")
    if "write permissions" in message:
        hint = "the REST API key is read-only: give it Read/Write (WooCommerce > Settings > Advanced > REST API)"
    elif code == "woocommerce_rest_authentication_error":
        hint = f"consumer key/secret rejected: check {KEYS}"
    elif status == 401:
        hint = f"the consumer key was not accepted: check {KEYS}" + (
            "; if they are right, the server may drop the Authorization header: use auth='query'" if basic_auth else "")
    elif code == "rest_no_route":
        hint = "no such route: check the channel's api_base (the site root) and that pretty permalinks are on"
    else:
        hint = "no such order in this store" if code == "woocommerce_rest_shop_order_invalid_id" else ""
    return f"{text}; {hint}" if hint else text


# --- webhooks ------------------------------------------------------------------------------------

WP_SPECIALCHARS = re.compile(r"&(?:lt|gt|amp|quot|#0*(?:39|34|60|62|38)|#[xX]0*(?:27|22|26));")


def wp_specialchars_decode(text: str) -> str:
    """WordPress's wp_specialchars_decode(text, ENT_QUOTES): only these entities, in one pass."""
    return WP_SPECIALCHARS.sub(lambda m: html.unescape(m[0]), text)


def woocommerce_webhook_signature(body: bytes, secret: str) -> str:
    """X-WC-Webhook-Signature as WC_Webhook::generate_signature makes it: base64 of the raw
    HMAC-SHA256 of the delivered body, keyed with the secret after wp_specialchars_decode."""
    key = wp_specialchars_decode(secret)
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify_woocommerce_webhook(body: bytes, signature: str, secret: str) -> bool:
    """True when `signature` (the X-WC-Webhook-Signature header) signs the raw body under
    `secret`; compared in constant time, before anything in the body is believed."""
    if not secret:
        # An empty key is a misconfiguration, and anyone could compute its HMAC.
        raise ValueError("no WooCommerce webhook secret configured")
    if not signature:
        return False
    expected = woocommerce_webhook_signature(body, secret).encode("ascii")
    return hmac.compare_digest(expected, signature.strip().encode("utf-8"))
