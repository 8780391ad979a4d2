"""Stripe as Cumplido's payment gateway: PaymentIntents read, Refunds created once."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

import requests

from connectors.http import ApiClient
from domain.records import Payment, PaymentStatus, Refund

API_VERSION = "2023-08-16"     # pinned: the shapes parsed here are this version's
PAGE_SIZE = 100                # Stripe's maximum
LISTERS = 4                    # slices of a window listed at once, and
READERS = 8                    # intents read one by one at once (Stripe allows 100 reads/s in live mode)
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf",
                          "ugx", "vnd", "vuv", "xaf", "xof", "xpf"})
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
INTENT_STATUS: dict[str, PaymentStatus] = {
    "succeeded": "succeeded",
    "processing": "pending", "requires_action": "pending", "requires_confirmation": "pending",
    "requires_capture": "pending",
    "requires_payment_method": "failed", "canceled": "failed",
}
REFUND_STATUS = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending",
                 "failed": "failed", "canceled": "failed"}


def stripe_error_message(response: requests.Response) -> str:
    """Stripe's own words from its error envelope, with the code and the request id to quote."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return response.text[:300] or response.reason
    extras = [f"{k}: {error[k]}" for k in ("code", "decline_code", "param") if error.get(k)]
    request_id = response.headers.get("Request-Id")
    if request_id:
        extras.append(f"request {request_id}")
    message = error.get("message") or error.get("type") or response.reason
    return f"{message} ({', '.join(extras)})" if extras else message


def _exponent(currency: str) -> int:
    currency = currency.lower()
    return 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2


def to_major(amount: int, currency: str) -> float:
    return float(Decimal(amount).scaleb(-_exponent(currency)))


def to_minor(amount: float, currency: str) -> int:
    return int((Decimal(str(amount)).scaleb(_exponent(currency))).quantize(Decimal(1), ROUND_HALF_UP))


class StripeGateway:
    name = "stripe"

    def __init__(self, *, api_base: str, api_key: str, timeout: float = 20, max_retries: int = 4,
                 sleep: Callable[[float], None] = time.sleep):
        self._api = ApiClient(
            "stripe", api_base, headers={"Authorization": f"Bearer {api_key}", "Stripe-Version": API_VERSION},
            timeout=timeout, max_retries=max_retries, error_message=stripe_error_message, sleep=sleep,
        )

    @property
    def session(self) -> requests.Session:
        return self._api.session

    def fetch_payments(self, refs: Sequence[str], *, created_since: datetime | None,
                       created_until: datetime | None = None) -> list[Payment]:
        """Listing the window [created_since, created_until] serves most refs (a bounded window is
        listed in LISTERS slices at once); the rest (paid outside the window, or not yet visible in
        it) are read one by one, several at a time, as are all refs when created_since is None
        (refs scattered in time, e.g. holds re-checked: a window would list every intent between
        them). Refs Stripe does not know are left out."""
        wanted = list(dict.fromkeys(refs))
        wanted_set = set(wanted)
        found: dict[str, dict] = {}
        if wanted and created_since is not None:
            for page in self._pages_created_between(created_since, created_until):
                found.update((intent["id"], intent) for intent in page if intent["id"] in wanted_set)
        missing = [r for r in wanted if r not in found]
        with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="stripe-read") as pool:
            found.update((ref, intent) for ref, intent in zip(missing, pool.map(self._intent, missing)) if intent)
        return [self._payment(found[r]) for r in wanted if r in found]

    def refund(self, *, payment_ref: str, amount: float, currency: str, idempotency_key: str) -> Refund:
        """Stripe keeps the first answer to an Idempotency-Key for 24 h, so a retry after a lost
        response (ours or ApiClient's) returns the same refund instead of refunding again."""
        form = {"payment_intent": payment_ref, "amount": to_minor(amount, currency),
                "reason": "requested_by_customer", "metadata[cumplido_key]": idempotency_key}
        body = self._api.json("POST", "/v1/refunds", data=form, headers={"Idempotency-Key": idempotency_key})
        return Refund(gateway_refund_id=body["id"], status=REFUND_STATUS.get(body.get("status"), "pending"),
                      amount=to_major(body["amount"], body["currency"]), raw=body)

    def check(self) -> str:
        balance = self._api.json("GET", "/v1/balance")
        mode = "live" if balance.get("livemode") else "test"
        available = ", ".join(f"{to_major(b['amount'], b['currency']):,.2f} {b['currency'].upper()}"
                              for b in balance.get("available", [])) or "nothing"
        return f"stripe: {mode} mode at {self._api.base_url}; available balance {available}"

    def close(self) -> None:
        self._api.close()

    # ---- reading ----

    def _pages_created_between(self, since: datetime, until: datetime | None) -> Iterator[list[dict]]:
        """Every page of intents created in [since, until] (no upper bound when until is None),
        a bounded window split into LISTERS equal slices listed at the same time."""
        start = int(_aware(since).timestamp())
        if until is None:
            yield from self._pages({"created[gte]": start})
            return
        end = int(_aware(until).timestamp()) + 1
        cuts = sorted({start + (end - start) * i // LISTERS for i in range(LISTERS)} | {end})
        slices = [{"created[gte]": lo, "created[lt]": hi} for lo, hi in zip(cuts, cuts[1:])]
        with ThreadPoolExecutor(max_workers=len(slices), thread_name_prefix="stripe-list") as pool:
            for pages in pool.map(lambda bounds: list(self._pages(bounds)), slices):
                yield from pages

    def _pages(self, bounds: dict[str, int]) -> Iterator[list[dict]]:
        params: dict[str, Any] = {**bounds, "limit": PAGE_SIZE}
        while True:
            page = self._api.json("GET", "/v1/payment_intents", params=params)
            yield page["data"]
            if not page.get("has_more") or not page["data"]:
                return
            params["starting_after"] = page["data"][-1]["id"]

    def _intent(self, ref: str) -> dict | None:
        return self._api.json_or_none(f"/v1/payment_intents/{quote(ref, safe='')}")

    @staticmethod
    def _payment(intent: dict) -> Payment:
        status = INTENT_STATUS.get(intent["status"], "pending")
        cents = intent.get("amount_received") if status == "succeeded" else intent["amount"]
        return Payment(payment_ref=intent["id"], status=status, amount=to_major(cents, intent["currency"]),
                       currency=intent["currency"].upper(), raw=intent)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
