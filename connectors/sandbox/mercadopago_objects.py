"""Mercado Pago's JSON objects and error envelope as the sandbox serves them, shaped after the
official SDK's test fixtures (mercadopago/sdk-java, src/test/java/com/mercadopago/resources/mocks/
response/{payment/payment_base.json, refund/refund_base.json, user/user_base.json,
payment/payment_card_token_error.json}).

Kept apart from the HTTP plumbing in connectors.sandbox.mercadopago so each reads on its own."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

MP_TIME = timezone(timedelta(hours=-4))   # the API writes its dates at UTC-4, with milliseconds
ZERO_DECIMAL = frozenset({"CLP", "PYG", "JPY"})
FEE_RATE = 0.0499
RELEASE_DAYS = 14
COLLECTOR_ID = 823549964
# Mercado Pago's test cards are told what to do by the cardholder name.
CARDHOLDER = {"succeeded": "APRO", "processing": "CONT", "failed": "FUND"}


class MercadoPagoError(Exception):
    """An answer in Mercado Pago's envelope. `remember=False`: rejected before doing anything, so
    never saved as the answer to an X-Idempotency-Key."""

    def __init__(self, status: int, message: str, *, error: str = "bad_request",
                 causes: tuple[tuple[int, str], ...] = (), remember: bool = False):
        super().__init__(message)
        self.status, self.remember = status, remember
        self.body = {"message": message, "error": error, "status": status,
                     "cause": [{"code": code, "description": text, "data": None} for code, text in causes]}


def not_found(message: str = "Payment not found", code: int = 2000) -> MercadoPagoError:
    return MercadoPagoError(404, message, error="not_found", causes=((code, message),))


def fault_body(status: int) -> dict:
    """What Mercado Pago says when it throttles or fails, for the shared fault middleware."""
    if status == 429:
        return MercadoPagoError(429, "Too Many Requests", error="too_many_requests").body
    return MercadoPagoError(status, "Internal server error", error="internal_server_error").body


def mp_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return utc(moment).astimezone(MP_TIME).isoformat(timespec="milliseconds")


def utc(moment: datetime) -> datetime:
    """The sandboxes' callers mix naive-UTC and aware datetimes; compare them as aware UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def major(cents: int, currency: str) -> float | int:
    return cents if currency in ZERO_DECIMAL else round(cents / 100, 2)


def minor(amount: float, currency: str) -> int:
    return int(round(amount if currency in ZERO_DECIMAL else amount * 100))


@dataclass
class PaymentRecord:
    """What the sandbox knows about a payment; its status is read off the clock."""

    id: int
    cents: int
    currency: str                 # upper case, as currency_id
    outcome: str                  # succeeded | processing | failed
    created: datetime
    settle_at: datetime | None
    metadata: dict[str, str]
    seq: int
    refunded_cents: int = 0
    refunds: list[dict] = field(default_factory=list)

    def approved_at(self, now: datetime) -> datetime | None:
        if self.outcome == "succeeded":
            return self.created
        if self.outcome == "processing" and self.settle_at is not None and utc(now) >= utc(self.settle_at):
            return max(utc(self.settle_at), self.created)
        return None

    def status(self, now: datetime) -> tuple[str, str]:
        """(status, status_detail) as Mercado Pago reports them."""
        if self.approved_at(now) is not None:
            if self.refunded_cents >= self.cents:
                return "refunded", "refunded"
            return "approved", "partially_refunded" if self.refunded_cents else "accredited"
        if self.outcome == "failed":
            return "rejected", "cc_rejected_insufficient_amount"
        return "in_process", "pending_contingency"

    def last_updated(self, now: datetime) -> datetime:
        moments = [self.created, self.approved_at(now)] + [r["_at"] for r in self.refunds]
        return max(m for m in moments if m is not None)


def payment_view(rec: PaymentRecord, now: datetime) -> dict:
    status, detail = rec.status(now)
    approved = rec.approved_at(now)
    amount = major(rec.cents, rec.currency)
    fee = round(amount * FEE_RATE, 2) if approved else 0
    return {
        "id": rec.id, "date_created": mp_time(rec.created), "date_approved": mp_time(approved),
        "date_last_updated": mp_time(rec.last_updated(now)), "date_of_expiration": None,
        "money_release_date": mp_time(approved + timedelta(days=RELEASE_DAYS)) if approved else None,
        "operation_type": "regular_payment",
        "issuer_id": "24", "payment_method_id": "master", "payment_type_id": "credit_card",
        "status": status, "status_detail": detail, "currency_id": rec.currency,
        "description": rec.metadata.get("description", "Cumplido order"), "live_mode": False,
        "sponsor_id": None, "authorization_code": f"{rec.id % 1_000_000:06d}" if approved else None,
        "money_release_schema": None, "taxes_amount": 0, "counter_currency": None, "shipping_amount": 0,
        "pos_id": None, "store_id": None, "integrator_id": None, "platform_id": None, "corporation_id": None,
        "collector_id": COLLECTOR_ID, "payer": _payer(rec), "marketplace_owner": None,
        "metadata": dict(rec.metadata), "additional_info": {"available_balance": None, "nsu_processadora": None,
                                                            "authentication_code": None},
        "order": {}, "external_reference": rec.metadata.get("external_reference")
        or rec.metadata.get("shopify_order_id"),
        "transaction_amount": amount, "transaction_amount_refunded": major(rec.refunded_cents, rec.currency),
        "coupon_amount": 0, "differential_pricing_id": None, "deduction_schema": None, "installments": 1,
        "transaction_details": {"payment_method_reference_id": None, "acquirer_reference": None,
                                "net_received_amount": round(amount - fee, 2) if approved else 0,
                                "total_paid_amount": amount, "overpaid_amount": 0, "external_resource_url": None,
                                "installment_amount": amount, "financial_institution": None,
                                "payable_deferral_period": None},
        "fee_details": [{"type": "mercadopago_fee", "amount": fee, "fee_payer": "collector"}] if approved else [],
        "charges_details": [], "captured": True, "binary_mode": False, "call_for_authorize_id": None,
        "statement_descriptor": "CUMPLIDO", "card": _card(rec), "notification_url": None,
        "refunds": [public(r) for r in rec.refunds], "processing_mode": "aggregator",
        "merchant_account_id": None, "merchant_number": None, "acquirer_reconciliation": [],
        "point_of_interaction": {},
    }


def _payer(rec: PaymentRecord) -> dict:
    return {"type": None, "id": str(100_000_000 + rec.seq), "operator_id": None,
            "email": f"test_user_{80_000_000 + rec.seq}@testuser.com",
            "identification": {"type": "CPF", "number": "19119119100"},
            "phone": {"area_code": None, "number": None, "extension": None},
            "first_name": None, "last_name": None, "entity_type": None}


def _card(rec: PaymentRecord) -> dict:
    created = mp_time(rec.created)
    return {"id": None, "first_six_digits": "503143", "last_four_digits": "6351", "expiration_month": 11,
            "expiration_year": 2030, "date_created": created, "date_last_updated": created,
            "cardholder": {"name": CARDHOLDER[rec.outcome], "identification": {"number": "19119119100", "type": "CPF"}}}


def refund_object(*, refund_id: int, rec: PaymentRecord, cents: int, at: datetime, status: str) -> dict:
    """Kept with a private `_at` (the moment as a datetime); `public` drops it for the wire."""
    return {"id": refund_id, "payment_id": rec.id, "amount": major(cents, rec.currency), "metadata": {},
            "source": {"id": str(COLLECTOR_ID), "name": "Cumplido Sandbox", "type": "collector"},
            "date_created": mp_time(at), "unique_sequence_number": None, "refund_mode": "standard",
            "adjustment_amount": 0, "status": status, "reason": None, "labels": [], "partition_details": [],
            "_at": utc(at), "_cents": cents}


def public(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def user_object(*, registered: datetime) -> dict:
    return {"id": COLLECTOR_ID, "nickname": "TETE7689213", "registration_date": mp_time(registered),
            "first_name": "Cumplido", "last_name": "Sandbox", "gender": "", "country_id": "BR",
            "email": "test_user_3851037@testuser.com", "identification": {"number": "15635614680", "type": "CPF"},
            "phone": {"area_code": "01", "extension": "", "number": "1111-1111", "verified": False},
            "user_type": "normal", "tags": ["normal", "test_user", "messages_as_seller"], "logo": None,
            "points": 100, "site_id": "MLB", "permalink": "http://perfil.mercadolivre.com.br/TETE7689213",
            "status": {"site_status": "active", "mercadopago_account_type": "personal",
                       "mercadopago_tc_accepted": True}, "context": {}}
