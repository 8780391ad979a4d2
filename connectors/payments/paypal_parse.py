"""PayPal's JSON read into Cumplido's records: money strings, order and capture statuses,
refunds, and PayPal's two error envelopes turned into messages a person can act on.

Kept apart from the HTTP client in connectors.payments.paypal so each reads on its own."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import requests

from domain.records import Payment, PaymentStatus, Refund

# PayPal's currency-codes reference: these take no decimals (DECIMALS_NOT_SUPPORTED otherwise).
ZERO_DECIMAL = frozenset({"HUF", "JPY", "TWD"})
SETTLED_CAPTURE = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})
# Captures that moved no money (Orders v2 capture.status): not cleared yet, or refused.
CAPTURE_STATUS: dict[str, PaymentStatus] = {"PENDING": "pending", "DECLINED": "failed", "FAILED": "failed"}
# Orders v2 order.status, read only when no capture exists yet (or the intent was AUTHORIZE).
ORDER_STATUS: dict[str, PaymentStatus] = {
    "CREATED": "pending", "SAVED": "pending", "APPROVED": "pending", "PAYER_ACTION_REQUIRED": "pending",
    "COMPLETED": "pending",   # completed without a capture: authorized, not captured yet
    "VOIDED": "failed",
}
AUTHORIZATION_FAILED = frozenset({"DENIED", "VOIDED"})
REFUND_STATUS: dict[str, PaymentStatus] = {"COMPLETED": "succeeded", "PENDING": "pending",
                                           "FAILED": "failed", "CANCELLED": "failed"}
# What to check, for the issues a refund most often meets (Payments v2 captures.refund errors).
HINTS = {
    "CAPTURE_FULLY_REFUNDED": "nothing is left to refund on this payment",
    "REFUND_AMOUNT_EXCEEDED": "refund at most the captured amount minus earlier refunds",
    "PENDING_CAPTURE": "wait until the payment clears, then refund",
    "REFUND_CAPTURE_CURRENCY_MISMATCH": "refund in the currency the payment was captured in",
    "REFUND_TIME_LIMIT_EXCEEDED": "PayPal allows refunds for 180 days; refund the customer another way",
    "INVALID_RESOURCE_ID": "check the PayPal order or capture id",
    "PERMISSION_DENIED": "the REST app lacks this permission; enable it in the PayPal developer dashboard",
}


def _exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL else 2


def to_value(amount: float, currency: str) -> str:
    """A major-unit amount as PayPal's money.value string: "12.30", or "5000" for JPY."""
    step = Decimal(1).scaleb(-_exponent(currency))
    return str(Decimal(str(amount)).quantize(step, ROUND_HALF_UP))


def from_money(money: dict) -> float:
    return float(Decimal(money["value"]))


def paypal_error_message(response: requests.Response) -> str:
    """PayPal's words from either envelope: the REST one ({name, message, details[{issue,
    description}], debug_id}) or the OAuth one ({error, error_description}); the debug id
    (body or Paypal-Debug-Id header) is what PayPal support asks for."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason
    if not isinstance(body, dict):
        return str(body)[:300]
    if "error" in body and "name" not in body:
        return f"{body['error']}: {body.get('error_description') or response.reason}"
    name = body.get("name") or response.reason
    debug_id = body.get("debug_id") or response.headers.get("Paypal-Debug-Id")
    tail = f"{name}, debug_id {debug_id}" if debug_id else name
    details = [_detail(d) for d in body.get("details") or [] if isinstance(d, dict)]
    if details:   # the issues say what went wrong; name and message are the envelope's boilerplate
        return f"{'; '.join(details)} ({tail})"
    return f"{body.get('message') or response.reason} ({tail})"


def _detail(detail: dict) -> str:
    issue = detail.get("issue", "UNKNOWN_ISSUE")
    where = f" at {detail['field']}" if detail.get("field") else ""
    text = f"{issue}{where}: {detail['description'].rstrip('.')}" if detail.get("description") else issue + where
    return f"{text} ({HINTS[issue]})" if issue in HINTS else text


def _captures(order: dict) -> Iterator[dict]:
    for unit in order.get("purchase_units") or []:
        yield from (unit.get("payments") or {}).get("captures") or []


def _authorizations(order: dict) -> Iterator[dict]:
    for unit in order.get("purchase_units") or []:
        yield from (unit.get("payments") or {}).get("authorizations") or []


def refundable_capture(order: dict) -> dict | None:
    """The capture a refund goes against: the first settled one."""
    return next((c for c in _captures(order) if c.get("status") in SETTLED_CAPTURE), None)


def order_status(order: dict) -> PaymentStatus:
    """A settled capture means paid, even if refunded since (refunds are the returns flow's
    business, not payment verification's); otherwise the captures, then the order, decide."""
    captures = list(_captures(order))
    if any(c.get("status") in SETTLED_CAPTURE for c in captures):
        return "succeeded"
    if any(c.get("status") == "PENDING" for c in captures):
        return "pending"
    if captures:   # every capture DECLINED or FAILED; a status PayPal adds later waits rather than fails
        return "failed" if all(CAPTURE_STATUS.get(c.get("status")) == "failed" for c in captures) else "pending"
    auths = list(_authorizations(order))
    if auths and all(a.get("status") in AUTHORIZATION_FAILED for a in auths):
        return "failed"
    return ORDER_STATUS.get(order.get("status", ""), "pending")


def order_amount(order: dict, status: PaymentStatus) -> tuple[float, str]:
    """What was captured when paid (several captures add up), else what the order asks for."""
    units = order.get("purchase_units") or []
    if status == "succeeded":
        settled = [c["amount"] for c in _captures(order) if c.get("status") in SETTLED_CAPTURE]
        return sum(from_money(m) for m in settled), settled[0]["currency_code"].upper()
    asked = [u["amount"] for u in units if u.get("amount")]
    currency = asked[0]["currency_code"].upper() if asked else ""
    return sum(from_money(m) for m in asked), currency


def payment_from_order(order: dict) -> Payment:
    status = order_status(order)
    amount, currency = order_amount(order, status)
    return Payment(payment_ref=order["id"], status=status, amount=amount, currency=currency, raw=order)


def refund_from_body(body: dict, *, asked: float) -> Refund:
    """With `Prefer: return=representation` the refund carries its amount; a minimal answer
    (id, status, links) does not, and then it is the amount asked for."""
    try:
        amount = from_money(body["amount"]) if body.get("amount") else asked
    except (KeyError, InvalidOperation):
        amount = asked
    return Refund(gateway_refund_id=body["id"], status=REFUND_STATUS.get(body.get("status", ""), "pending"),
                  amount=amount, raw=body)
