"""Mercado Pago as Cumplido's payment gateway: payments read through the payment search, refunds
created once under our X-Idempotency-Key.

    GET  {api_base}/v1/payments/search?range=date_created&begin_date=…&sort=date_created&criteria=asc
    GET  {api_base}/v1/payments/{id}
    POST {api_base}/v1/payments/{id}/refunds      X-Idempotency-Key: <our refund key>
    GET  {api_base}/users/me                       Authorization: Bearer <access token>

Mercado Pago publishes no rate-limit headers: 429s (and 5xx) are retried by ApiClient, honouring
Retry-After when one is sent. Webhook signatures are checked by `verify_mercadopago_webhook`."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import requests

from connectors.errors import PermanentApiError, TransientApiError
from connectors.http import ApiClient
from connectors.payments.mercadopago_parse import (
    amount_field, mercadopago_error_message, parse_payment, refund_status, search_date,
    verify_mercadopago_webhook,
)
from domain.records import Payment, Refund

__all__ = ["MercadoPagoGateway", "verify_mercadopago_webhook"]
log = logging.getLogger(__name__)
VENDOR = "mercadopago"
PAGE_SIZE = 100


class MercadoPagoGateway:
    name = VENDOR

    def __init__(self, *, api_base: str, access_token: str, timeout: float = 20, max_retries: int = 4,
                 sleep: Callable[[float], None] = time.sleep):
        self.max_retries = max_retries
        self._api = ApiClient(VENDOR, api_base, headers={"Authorization": f"Bearer {access_token}",
                                                         "Accept": "application/json"},
                              timeout=timeout, max_retries=max_retries, error_message=mercadopago_error_message,
                              sleep=sleep)

    @property
    def session(self) -> requests.Session:
        return self._api.session

    # ---- the PaymentGateway protocol ----

    def fetch_payments(self, refs: Sequence[str], *, created_since: datetime | None,
                       created_until: datetime | None = None) -> list[Payment]:
        """One search from created_since serves most refs; the rest (paid before the window, or not
        yet in the search index, which trails the payment itself) are read one by one, as are all
        refs when created_since is None (scattered in time). The search ends at Mercado Pago's
        own NOW, not created_until: our clock's skew against theirs cannot hide payments. Refs Mercado
        Pago does not know, and refs that are not Mercado Pago ids at all, are left out."""
        unique = list(dict.fromkeys(str(r) for r in refs))
        wanted = [r for r in unique if r.isdigit()]
        if len(wanted) < len(unique):
            log.info("mercadopago: %d reference(s) are not Mercado Pago payment ids", len(unique) - len(wanted))
        wanted_set, found = set(wanted), {}
        if wanted and created_since is not None:
            for raw in self._payments_created_since(created_since):
                if str(raw.get("id")) in wanted_set:
                    found[str(raw["id"])] = raw   # duplicates across pages collapse here
        missing = [r for r in wanted if r not in found]
        for ref in missing:
            raw = self._payment(ref)
            if raw is not None:
                found[ref] = raw
        payments = [parse_payment(found[r]) for r in wanted if r in found]
        reversed_ = sum(p.raw.get("status") in ("refunded", "charged_back") for p in payments)
        log.info("mercadopago: %d of %d payments found (%d read one by one, %d refunded or charged back)",
                 len(payments), len(wanted), len(missing), reversed_)
        return payments

    def refund(self, *, payment_ref: str, amount: float, currency: str, idempotency_key: str) -> Refund:
        """Mercado Pago answers a repeated X-Idempotency-Key with the refund it already made, so
        a retry after a lost or cut answer (ours or ApiClient's) never refunds twice."""
        path = f"/v1/payments/{self._payment_id(payment_ref)}/refunds"
        asked = amount_field(amount, currency)
        body = self._post_idempotent(path, json={"amount": asked}, key=idempotency_key)
        if str(body.get("payment_id")) != str(payment_ref) or abs(float(body.get("amount", 0)) - asked) > 0.005:
            raise PermanentApiError(VENDOR, f"X-Idempotency-Key {idempotency_key!r} already made refund "
                                    f"{body.get('id')} of {body.get('amount')} on payment {body.get('payment_id')}, "
                                    f"not {asked} on {payment_ref}: a key must name one refund only")
        return Refund(gateway_refund_id=str(body["id"]), status=refund_status(body),
                      amount=float(body["amount"]), raw=body)

    def check(self) -> str:
        user = self._api.json("GET", "/users/me")
        test = ", test user" if "test_user" in (user.get("tags") or []) else ""
        return (f"mercadopago: {user.get('nickname', '?')} (user {user.get('id')}, site {user.get('site_id', '?')}"
                f"{test}) at {self._api.base_url}")

    def close(self) -> None:
        self._api.close()

    # ---- reading ----

    def _payments_created_since(self, since: datetime) -> Iterator[dict]:
        """Oldest first by offset. New payments land at the end of an ascending search, so offsets
        already read do not shift; the last page is the first one that comes back short or empty.
        end_date is Mercado Pago's own NOW, so our clock's skew against theirs cannot hide payments."""
        params: dict[str, Any] = {"sort": "date_created", "criteria": "asc", "range": "date_created",
                                  "begin_date": search_date(since), "end_date": "NOW",
                                  "limit": PAGE_SIZE, "offset": 0}
        while True:
            page = self._api.json("GET", "/v1/payments/search", params=params)
            results, total = page.get("results") or [], int((page.get("paging") or {}).get("total", 0))
            yield from results
            params["offset"] += PAGE_SIZE
            if not results or params["offset"] >= total:
                return

    def _payment(self, ref: str) -> dict | None:
        return self._api.json_or_none(f"/v1/payments/{ref}")

    # ---- writing ----

    def _post_idempotent(self, path: str, *, json: dict, key: str) -> dict:
        """ApiClient already repeats a POST answered 429/5xx; an answer that arrives cut short is
        asked for again here, which the key makes safe (the second answer is the saved first one)."""
        for _ in range(self.max_retries + 1):
            response = self._api.request("POST", path, json=json, headers={"X-Idempotency-Key": key})
            try:
                return response.json()
            except ValueError:
                self._api.retries += 1
        raise TransientApiError(VENDOR, f"POST {path} kept answering with a cut or non-JSON body "
                                f"({self.max_retries + 1} attempts); the next run repeats it under the same key")

    @staticmethod
    def _payment_id(ref: str) -> str:
        if not str(ref).isdigit():
            raise PermanentApiError(VENDOR, f"{ref!r} is not a Mercado Pago payment id (they are numbers): "
                                    "the order was paid through another gateway", status=400)
        return str(ref)
