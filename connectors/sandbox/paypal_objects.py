"""What the PayPal sandbox knows about orders, captures and refunds, PayPal's ids and money
strings, and its two error envelopes (REST and OAuth).

The JSON the sandbox serves is rendered from these records in connectors.sandbox.paypal_views."""
from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

ZERO_DECIMAL = frozenset({"HUF", "JPY", "TWD"})   # PayPal's currency codes without decimals
ORDERS_DOCS = "https://developer.paypal.com/docs/api/orders/v2/"
PAYMENTS_DOCS = "https://developer.paypal.com/docs/api/payments/v2/"
# The REST envelope's fixed name and message per status (Orders v2 / Payments v2 error_4xx/5xx).
ENVELOPES = {
    400: ("INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."),
    401: ("AUTHENTICATION_FAILURE", ("Authentication failed due to missing authorization header, or invalid "
                                     "authentication credentials.")),
    403: ("NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    409: ("RESOURCE_CONFLICT", "The server has detected a conflict while processing this request."),
    422: ("UNPROCESSABLE_ENTITY", ("The requested action could not be performed, semantically incorrect, or "
                                   "failed business validation.")),
    429: ("RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."),
    500: ("INTERNAL_SERVER_ERROR", "An internal server error occurred."),
    502: ("INTERNAL_SERVER_ERROR", "An internal server error occurred."),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable."),
}
NOT_FOUND = "Specified resource ID does not exist. Please check the resource ID and try again."


class PayPalError(Exception):
    """An answer in PayPal's REST envelope; the debug id is added when it is sent."""

    def __init__(self, status: int, issue: str | None = None, description: str | None = None, *,
                 field: str | None = None, location: str = "body", docs: str = PAYMENTS_DOCS):
        super().__init__(issue or ENVELOPES[status][0])
        self.status, self.issue, self.description = status, issue, description
        self.field, self.location, self.docs = field, location, docs

    def body(self, debug_id: str) -> dict:
        name, message = ENVELOPES[self.status]
        body: dict = {"name": name, "message": message, "debug_id": debug_id}
        if self.issue:
            detail = {"field": self.field, "location": self.location if self.field else None,
                      "issue": self.issue, "description": self.description}
            body["details"] = [{k: v for k, v in detail.items() if v is not None}]
        anchor = self.issue or name
        body["links"] = [{"href": f"{self.docs}#error-{anchor}", "rel": "information_link", "method": "GET"}]
        return body


class OAuthError(Exception):
    """The identity service answers in OAuth's own envelope, not the REST one."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self, debug_id: str) -> dict:
        return {"error": self.error, "error_description": self.description}


def not_found(docs: str = PAYMENTS_DOCS) -> PayPalError:
    return PayPalError(404, "INVALID_RESOURCE_ID", NOT_FOUND, docs=docs)


def fault_body(status: int, debug_id: str) -> dict:
    """What PayPal says when it throttles or fails, for the shared fault middleware."""
    return PayPalError(status if status in ENVELOPES else 500).body(debug_id)


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def stamp(moment: datetime) -> str:
    """PayPal's date_time: RFC 3339, seconds, Z."""
    return utc(moment).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def transaction_id(rng: random.Random) -> str:
    """Order, capture and refund ids: 17 upper-case letters and digits (5O190127TN364715T)."""
    return "".join(rng.choices(string.digits + string.ascii_uppercase, k=17))


def payer_id(rng: random.Random) -> str:
    return "".join(rng.choices("23456789ABCDEFGHJKLMNPQRSTUVWXYZ", k=13))


def exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL else 2


def money(minor: int, currency: str) -> dict:
    value = str(minor) if exponent(currency) == 0 else f"{minor // 100}.{minor % 100:02d}"
    return {"currency_code": currency.upper(), "value": value}


def paypal_fee(minor: int, currency: str) -> int:
    """PayPal Checkout's US rate, 3.49% plus a fixed fee, in minor units."""
    return round(minor * 0.0349) + (49 if exponent(currency) else 40)


@dataclass
class RefundRecord:
    id: str
    order_id: str
    capture_id: str
    amount: int                   # minor units
    currency: str
    created: datetime
    clears_at: datetime | None    # eCheck-funded payments refund PENDING until then
    custom_id: str | None
    request_id: str | None

    def status(self, now: datetime) -> str:
        return "PENDING" if self.clears_at is not None and utc(now) < utc(self.clears_at) else "COMPLETED"


@dataclass
class OrderRecord:
    """One Orders v2 order paid by capture; its stage is read off the clock."""

    id: str
    capture_id: str
    amount: int
    currency: str
    outcome: str                  # succeeded | processing | failed
    variant: str                  # processing: pending_capture | approved; failed: declined | voided
    created: datetime
    settle_at: datetime | None
    metadata: dict[str, str]
    payer: dict
    seq: int
    refunds: list[RefundRecord] = field(default_factory=list)

    def settled(self, now: datetime) -> bool:
        return self.settle_at is not None and utc(now) >= utc(self.settle_at)

    def stage(self, now: datetime) -> str:
        """approved (no capture yet) | pending (capture PENDING) | completed | declined | voided."""
        if self.outcome == "succeeded" or (self.outcome == "processing" and self.settled(now)):
            return "completed"
        if self.outcome == "processing":
            return "pending" if self.variant == "pending_capture" else "approved"
        return self.variant

    def captured_at(self) -> datetime:
        """A capture taken when the payer's approval came through is as old as that moment."""
        return utc(self.settle_at) if self.variant == "approved" and self.settle_at else utc(self.created)

    def refunded(self) -> int:
        return sum(r.amount for r in self.refunds)

    def capture_status(self, now: datetime) -> str | None:
        stage = self.stage(now)
        if stage == "completed":
            refunded = self.refunded()
            return "COMPLETED" if not refunded else "REFUNDED" if refunded >= self.amount else "PARTIALLY_REFUNDED"
        return {"pending": "PENDING", "declined": "DECLINED"}.get(stage)

    def updated(self, now: datetime) -> datetime:
        moments = [utc(self.created)] + [utc(r.created) for r in self.refunds]
        if self.settled(now):
            moments.append(utc(self.settle_at))
        moments += [utc(r.clears_at) for r in self.refunds if r.clears_at and utc(r.clears_at) <= utc(now)]
        return max(moments)


VALUE = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")   # money.value in PayPal's specs


def refund_amount(rec: OrderRecord, amount: object, now: datetime) -> int:
    """The minor units a refund request asks for, checked as Payments v2 checks it (the
    issues are those of captures.refund's 400 and 422 answers); no amount means the rest."""
    status = rec.capture_status(now)
    if status is None:
        raise not_found()
    if status == "PENDING":
        raise PayPalError(422, "PENDING_CAPTURE", "Cannot initiate a refund as the capture is pending. Capture is "
                          "typically pending when the payer has funded the transaction using e-check/bank funded.")
    if status == "DECLINED":
        raise PayPalError(422, "REFUND_NOT_ALLOWED", "Capture cannot be refunded.")
    remaining = rec.amount - rec.refunded()
    if remaining <= 0:
        raise PayPalError(422, "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded")
    if amount is None:
        return remaining
    minor = _minor(amount, rec.currency)
    if minor > remaining:
        raise PayPalError(422, "REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the "
                          "capture amount that has not yet been refunded.")
    return minor


def _minor(amount: object, currency: str) -> int:
    if not isinstance(amount, dict) or not amount.get("value") or not amount.get("currency_code"):
        missing = "value" if isinstance(amount, dict) and amount.get("currency_code") else "currency_code"
        raise PayPalError(400, "MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.",
                          field=f"/amount/{missing}")
    if not isinstance(amount["value"], str) or not VALUE.match(amount["value"]):
        raise PayPalError(400, "INVALID_PARAMETER_SYNTAX", "The value of a field does not conform to the "
                          "expected format.", field="/amount/value")
    if amount["currency_code"] != currency:
        raise PayPalError(422, "REFUND_CAPTURE_CURRENCY_MISMATCH", "Refund must be in the same currency as the "
                          "capture", field="/amount/currency_code")
    value = Decimal(amount["value"])
    places = -value.as_tuple().exponent
    if places > 0 and exponent(currency) == 0:
        raise PayPalError(422, "DECIMALS_NOT_SUPPORTED", "Currency does not support decimals.", field="/amount/value")
    if places > exponent(currency):
        raise PayPalError(422, "DECIMAL_PRECISION", "If the currency supports decimals, only two decimal place "
                          "precision is supported.", field="/amount/value")
    if value <= 0:
        raise PayPalError(422, "CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero. If the currency supports "
                          "decimals, only two decimal place precision is supported.", field="/amount/value")
    return int(value.scaleb(exponent(currency)))
