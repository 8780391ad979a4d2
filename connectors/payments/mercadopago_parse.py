"""Mercado Pago's vocabulary, read into ours: payment and refund statuses, amounts, dates, the
`{message, error, status, cause[]}` error envelope, and the webhook `x-signature` check.

Kept apart from the HTTP client in connectors.payments.mercadopago so each reads on its own."""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import requests

from domain.records import Payment, PaymentStatus

# https://www.mercadopago.com.br/developers/en/reference/payments/_payments_id/get ("status").
PAYMENT_STATUS: dict[str, PaymentStatus] = {
    "approved": "succeeded",
    # The buyer may still pay (pending: ticket/Pix not paid yet), the card is being reviewed
    # (in_process), the charge is authorised but not captured (authorized), or a dispute is open
    # (in_mediation): none is money we can ship against yet, none is lost either.
    "pending": "pending", "in_process": "pending", "authorized": "pending", "in_mediation": "pending",
    # rejected and cancelled never took money. refunded and charged_back did, but gave it back
    # (refunded: by the seller or Mercado Pago; charged_back: the card issuer reversed it), so
    # an order still waiting for verification must not ship: for us the payment failed.
    "rejected": "failed", "cancelled": "failed", "refunded": "failed", "charged_back": "failed",
}
# https://www.mercadopago.com.br/developers/en/reference/chargebacks/_payments_id_refunds/post
REFUND_STATUS: dict[str, str] = {"approved": "succeeded", "in_process": "pending", "pending": "pending",
                                 "authorized": "pending", "rejected": "failed", "cancelled": "failed"}
ZERO_DECIMAL = frozenset({"CLP", "PYG", "JPY"})   # Mercado Pago rejects decimals in Chilean pesos
STATUS_HINTS = {
    401: "access token rejected: check CUMPLIDO_MERCADOPAGO_ACCESS_TOKEN (TEST-… for test users, "
         "APP_USR-… in production)",
    403: "the access token lacks permission for this payment (another collector's payment, or an "
         "application without the payments scope)",
    404: "not found: check the payment id and that the access token belongs to the collector",
}
CAUSE_HINTS = {
    2063: "the payment cannot be refunded in its state: not approved yet, rejected, or already refunded in full",
    4292: "refunds need an X-Idempotency-Key header",
    2024: "the payment is too old to be refunded through the API: refund it from the Mercado Pago account",
}
ALPHANUMERIC = re.compile(r"^[A-Za-z0-9]+$")


def mercadopago_error_message(response: requests.Response) -> str:
    """The envelope's message, its error code and each cause, the request id to quote to
    support, and for auth/not-found answers what to check. Never echoes the token."""
    try:
        body = response.json()
        message = body.get("message") or response.reason
    except (ValueError, AttributeError):
        return response.text[:300] or response.reason
    causes = [c for c in (body.get("cause") or [])[:3] if isinstance(c, dict)]
    extras = [str(body["error"])] if body.get("error") else []
    extras += [f"cause {c.get('code')}" + (f": {c['description']}" if c.get("description") not in (None, message)
                                           else "") for c in causes]
    if request_id := response.headers.get("X-Request-Id"):
        extras.append(f"request {request_id}")
    text = f"{message} ({'; '.join(extras)})" if extras else str(message)
    hint = next((CAUSE_HINTS[c.get("code")] for c in causes if c.get("code") in CAUSE_HINTS),
                STATUS_HINTS.get(response.status_code))
    return f"{text} — {hint}" if hint else text


def parse_payment(raw: dict) -> Payment:
    """Unknown statuses count as pending: an order is held, never shipped or rejected on a guess."""
    return Payment(payment_ref=str(raw["id"]), status=PAYMENT_STATUS.get(raw.get("status"), "pending"),
                   amount=float(raw["transaction_amount"]), currency=str(raw["currency_id"]).upper(), raw=raw)


def refund_status(raw: dict) -> str:
    return REFUND_STATUS.get(raw.get("status"), "pending")


def amount_field(amount: float, currency: str) -> float | int:
    """Major units, as Mercado Pago takes them: two decimals, none for zero-decimal currencies."""
    places = Decimal(1) if currency.upper() in ZERO_DECIMAL else Decimal("0.01")
    value = Decimal(str(amount)).quantize(places, ROUND_HALF_UP)
    return int(value) if places == 1 else float(value)


def search_date(moment: datetime) -> str:
    """`2026-11-24T10:00:00.000+00:00` (yyyy-MM-dd'T'HH:mm:ss.SSSZ, written with the colon as the
    docs' own examples are); a naive datetime is taken as UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).isoformat(timespec="milliseconds")


# ---- webhooks ----

def signature_manifest(*, data_id: str, x_request_id: str, ts: str) -> str:
    """`id:[data.id_url];request-id:[x-request-id_header];ts:[ts_header];`, leaving out the parts a
    notification did not carry, with an alphanumeric data.id in lower case, as the docs say
    (https://www.mercadopago.com.br/developers/en/docs/your-integrations/notifications/webhooks)."""
    parts = []
    if data_id:
        parts.append(f"id:{data_id.lower() if ALPHANUMERIC.match(data_id) else data_id};")
    if x_request_id:
        parts.append(f"request-id:{x_request_id};")
    parts.append(f"ts:{ts};")
    return "".join(parts)


def sign_manifest(manifest: str, secret: str) -> str:
    return hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()


def _signature_parts(x_signature: str) -> dict[str, str]:
    pairs = (part.split("=", 1) for part in (x_signature or "").split(","))
    return {kv[0].strip(): kv[1].strip() for kv in pairs if len(kv) == 2}


def _seconds(ts: str) -> float | None:
    """The docs call ts milliseconds while their example is seconds: accept both."""
    try:
        value = float(ts)
    except ValueError:
        return None
    return value / 1000 if value > 1e11 else value


def verify_mercadopago_webhook(*, x_signature: str, x_request_id: str, data_id: str, secret: str,
                               tolerance_s: int | None = None, now: datetime | float | None = None) -> bool:
    """True when `x-signature: ts=…,v1=…` is the HMAC-SHA256 (hex) of the notification's manifest
    under our webhook secret, and (with tolerance_s) ts lies within that many seconds of now.

    data_id is the `data.id` query parameter of the notification URL. The signature covers that
    id, the request id and ts, never the body: a handler believes nothing in the body and reads
    the payment itself (GET /v1/payments/{data.id}) before acting on it."""
    if not secret:
        raise ValueError("no Mercado Pago webhook secret configured: copy it from Your integrations > Webhooks")
    parts = _signature_parts(x_signature)
    ts, v1 = parts.get("ts"), parts.get("v1")
    if not ts or not v1:
        return False
    if tolerance_s is not None:
        sent = _seconds(ts)
        current = now.timestamp() if isinstance(now, datetime) else time.time() if now is None else float(now)
        if sent is None or abs(current - sent) > tolerance_s:
            return False
    expected = sign_manifest(signature_manifest(data_id=data_id, x_request_id=x_request_id, ts=ts), secret)
    return hmac.compare_digest(expected, v1.lower())
