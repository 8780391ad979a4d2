"""Stripe's JSON objects and error envelopes as the sandbox serves them (API 2023-08-16).

Kept apart from the HTTP plumbing in connectors.sandbox.stripe so each reads on its own.
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone

API_VERSION = "2023-08-16"
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf",
                          "ugx", "vnd", "vuv", "xaf", "xof", "xpf"})
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


class StripeError(Exception):
    """An answer in Stripe's error envelope. `remember=False` for requests Stripe rejects before
    executing them: those never become the saved result of an Idempotency-Key."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None, remember: bool = True):
        super().__init__(message)
        self.status, self.remember = status, remember
        self.body = {"error": {k: v for k, v in {
            "type": type, "code": code, "param": param, "message": message,
            "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}" if code else None,
        }.items() if v is not None}}


def fault_body(status: int) -> dict:
    """What Stripe says when it throttles or fails, for the shared fault middleware."""
    if status == 429:
        return StripeError(429, "Too many requests hit the API too quickly. We recommend an exponential "
                                "backoff of your requests.", code="rate_limit").body
    return StripeError(status, "An unknown error occurred", type="api_error").body


def utc(moment: datetime) -> datetime:
    """The sandboxes' callers mix naive-UTC and aware datetimes; compare them as aware UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def new_id(rng: random.Random, prefix: str) -> str:
    return f"{prefix}_3O" + "".join(rng.choices(string.ascii_letters + string.digits, k=22))


def money(amount: int, currency: str) -> str:
    """How Stripe's messages print an amount: `$25.00`."""
    major = amount if currency in ZERO_DECIMAL else amount / 100
    shown = f"{major:,.0f}" if currency in ZERO_DECIMAL else f"{major:,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{shown}" if symbol else f"{shown} {currency.upper()}"


@dataclass
class IntentRecord:
    """What the sandbox knows about a PaymentIntent; its status is read off the clock."""

    id: str
    amount: int
    currency: str
    outcome: str                  # succeeded | processing | failed
    created: int                  # unix seconds
    settle_at: datetime | None
    metadata: dict[str, str]
    charge_id: str
    payment_method_id: str
    seq: int
    refunded: int = 0
    refund_ids: list[str] = field(default_factory=list)

    def status(self, now: datetime) -> str:
        if self.outcome == "processing" and self.settle_at is not None and utc(now) >= utc(self.settle_at):
            return "succeeded"
        return "requires_payment_method" if self.outcome == "failed" else self.outcome

    def received(self, now: datetime) -> int:
        return self.amount if self.status(now) == "succeeded" else 0


def intent_view(rec: IntentRecord, now: datetime) -> dict:
    status = rec.status(now)
    failed = status == "requires_payment_method"
    return {
        "id": rec.id, "object": "payment_intent", "amount": rec.amount, "amount_capturable": 0,
        "amount_received": rec.received(now), "application": None, "application_fee_amount": None,
        "automatic_payment_methods": None, "canceled_at": None, "cancellation_reason": None,
        "capture_method": "automatic", "client_secret": f"{rec.id}_secret_sandbox",
        "confirmation_method": "automatic", "created": rec.created, "currency": rec.currency,
        "customer": None, "description": None, "invoice": None,
        "last_payment_error": _card_declined(rec) if failed else None,
        "latest_charge": rec.charge_id, "livemode": False, "metadata": dict(rec.metadata),
        "next_action": None, "on_behalf_of": None,
        "payment_method": None if failed else rec.payment_method_id,
        "payment_method_types": ["card"], "processing": None, "receipt_email": None, "review": None,
        "setup_future_usage": None, "shipping": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": status, "transfer_data": None,
        "transfer_group": None,
    }


def _card_declined(rec: IntentRecord) -> dict:
    return {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
            "charge": rec.charge_id, "message": "Your card has insufficient funds.",
            "doc_url": "https://stripe.com/docs/error-codes/card-declined"}


def refund_object(*, refund_id: str, txn_id: str, rec: IntentRecord, amount: int, created: int,
                  reason: str | None, metadata: dict[str, str]) -> dict:
    return {
        "id": refund_id, "object": "refund", "amount": amount, "balance_transaction": txn_id,
        "charge": rec.charge_id, "created": created, "currency": rec.currency, "metadata": metadata,
        "payment_intent": rec.id, "reason": reason, "receipt_number": None,
        "source_transfer_reversal": None, "status": "succeeded", "transfer_reversal": None,
    }


def list_page(items: list[dict], *, url: str, limit: int, starting_after: str | None) -> dict:
    """One page of a Stripe list (items already newest first)."""
    start = 0
    if starting_after is not None:
        ids = [item["id"] for item in items]
        if starting_after not in ids:
            raise StripeError(400, f"No such object: '{starting_after}'", code="resource_missing",
                              param="starting_after", remember=False)
        start = ids.index(starting_after) + 1
    page = items[start:start + limit]
    return {"object": "list", "data": page, "has_more": start + limit < len(items), "url": url}
