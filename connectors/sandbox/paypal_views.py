"""The JSON the PayPal sandbox serves: Orders v2 orders, Payments v2 captures and refunds and
the OAuth2 token, rendered from the records in connectors.sandbox.paypal_objects at a moment
of the simulated clock (shapes as in PayPal's specs, Orders v2.13 and Payments v2.5)."""
from __future__ import annotations

from datetime import datetime

from connectors.sandbox.paypal_objects import OrderRecord, RefundRecord, money, paypal_fee, stamp, utc

MERCHANT = {"email_address": "sb-merchant@business.example.com", "merchant_id": "C7CYMKZDG8D6E"}
DISPUTE_CATEGORIES = ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]
SCOPES = ("https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund "
          "https://uri.paypal.com/services/payments/realtimepayment https://api.paypal.com/v1/vault/credit-card "
          "https://uri.paypal.com/services/applications/webhooks openid")
DECLINE = {"avs_code": "Y", "cvv_code": "M", "response_code": "5120"}   # 5120: insufficient funds


def _link(href: str, rel: str, method: str = "GET") -> dict:
    return {"href": href, "rel": rel, "method": method}


def token_view(*, token: str, app_id: str, expires_in: int, nonce: str) -> dict:
    return {"scope": SCOPES, "access_token": token, "token_type": "Bearer", "app_id": app_id,
            "expires_in": expires_in, "nonce": nonce}


def order_view(rec: OrderRecord, now: datetime, base: str) -> dict:
    stage = rec.stage(now)
    status = {"approved": "APPROVED", "voided": "VOIDED"}.get(stage, "COMPLETED")
    unit: dict = {"reference_id": "default", "amount": money(rec.amount, rec.currency), "payee": dict(MERCHANT)}
    if rec.metadata:
        unit["custom_id"] = _custom_id(rec)
    payments: dict = {}
    if rec.capture_status(now):
        payments["captures"] = [capture_view(rec, now, base)]
    if rec.refunds:
        payments["refunds"] = [refund_view(r, rec, now, base) for r in rec.refunds]
    if payments:
        unit["payments"] = payments
    self_href = f"{base}/v2/checkout/orders/{rec.id}"
    links = [_link(self_href, "self")]
    if status == "APPROVED":   # the merchant still has to capture
        links += [_link(self_href, "update", "PATCH"), _link(f"{self_href}/capture", "capture", "POST")]
    return {
        "id": rec.id, "intent": "CAPTURE", "status": status, "payment_source": _payment_source(rec),
        "purchase_units": [unit], "payer": _payer(rec),
        "create_time": stamp(rec.created), "update_time": stamp(rec.updated(now)), "links": links,
    }


def capture_view(rec: OrderRecord, now: datetime, base: str, *, standalone: bool = False) -> dict:
    """A capture as listed in its order; `standalone` adds what GET /v2/payments/captures/{id}
    says besides (the related order id, the payee)."""
    status = rec.capture_status(now)
    href = f"{base}/v2/payments/captures/{rec.capture_id}"
    capture: dict = {"id": rec.capture_id, "status": status, "amount": money(rec.amount, rec.currency),
                     "final_capture": True, "disbursement_mode": "INSTANT",
                     "seller_protection": _protection(status)}
    if rec.metadata:
        capture["custom_id"] = _custom_id(rec)
    if status == "PENDING":
        capture["status_details"] = {"reason": "ECHECK"}
    if status == "DECLINED":
        capture["processor_response"] = dict(DECLINE)
    else:   # PayPal breaks down fees only for captures that moved money
        fee = paypal_fee(rec.amount, rec.currency)
        capture["seller_receivable_breakdown"] = {
            "gross_amount": money(rec.amount, rec.currency), "paypal_fee": money(fee, rec.currency),
            "net_amount": money(rec.amount - fee, rec.currency)}
    capture["links"] = [_link(href, "self")]
    if status in ("COMPLETED", "PARTIALLY_REFUNDED"):
        capture["links"].append(_link(f"{href}/refund", "refund", "POST"))
    capture["links"].append(_link(f"{base}/v2/checkout/orders/{rec.id}", "up"))
    capture["create_time"], capture["update_time"] = stamp(rec.captured_at()), stamp(rec.updated(now))
    if standalone:
        capture["supplementary_data"] = {"related_ids": {"order_id": rec.id}}
        capture["payee"] = dict(MERCHANT)
    return capture


def refund_view(ref: RefundRecord, rec: OrderRecord, now: datetime, base: str, *, full: bool = True) -> dict:
    """`full=False` is PayPal's default `Prefer: return=minimal` answer: id, status, links."""
    status = ref.status(now)
    links = [_link(f"{base}/v2/payments/refunds/{ref.id}", "self"),
             _link(f"{base}/v2/payments/captures/{ref.capture_id}", "up")]
    if not full:
        return {"id": ref.id, "status": status, "links": links}
    to_date = sum(r.amount for r in rec.refunds[: rec.refunds.index(ref) + 1])
    fee = round(ref.amount * 0.0349)   # the percentage part comes back; the fixed fee does not
    body: dict = {"id": ref.id, "amount": money(ref.amount, ref.currency), "status": status}
    if status == "PENDING":
        body["status_details"] = {"reason": "ECHECK"}
    if ref.custom_id:
        body["custom_id"] = ref.custom_id
    body["seller_payable_breakdown"] = {
        "gross_amount": money(ref.amount, ref.currency), "paypal_fee": money(fee, ref.currency),
        "net_amount": money(ref.amount - fee, ref.currency), "total_refunded_amount": money(to_date, ref.currency)}
    body["payer"] = dict(MERCHANT)
    cleared = ref.clears_at if ref.clears_at and utc(ref.clears_at) <= utc(now) else ref.created
    body.update(create_time=stamp(ref.created), update_time=stamp(cleared), links=links)
    return body


def _custom_id(rec: OrderRecord) -> str:
    """The shop's own reference, as checkouts put it in custom_id (max 127 characters)."""
    return ";".join(f"{k}={v}" for k, v in rec.metadata.items())[:127]


def _protection(status: str | None) -> dict:
    if status == "DECLINED":
        return {"status": "NOT_ELIGIBLE"}
    return {"status": "ELIGIBLE", "dispute_categories": list(DISPUTE_CATEGORIES)}


def _payer(rec: OrderRecord) -> dict:
    p = rec.payer
    return {"name": {"given_name": p["given_name"], "surname": p["surname"]}, "email_address": p["email"],
            "payer_id": p["payer_id"], "address": {"country_code": "US"}}


def _payment_source(rec: OrderRecord) -> dict:
    """Declined payments came from a card (PayPal wallet payments are not declined at capture)."""
    p = rec.payer
    if rec.variant == "declined":
        return {"card": {"name": f"{p['given_name']} {p['surname']}", "last_digits": p["card_last4"],
                         "brand": "VISA", "type": "CREDIT"}}
    return {"paypal": {"email_address": p["email"], "account_id": p["payer_id"], "account_status": "VERIFIED",
                       "name": {"given_name": p["given_name"], "surname": p["surname"]},
                       "address": {"country_code": "US"}}}
