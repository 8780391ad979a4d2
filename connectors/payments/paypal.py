"""PayPal as Cumplido's payment gateway: Orders v2 read one by one, refunds made once against
the order's capture (Payments v2), all behind an OAuth2 client-credentials token.

PayPal references: Authentication (developer.paypal.com/api/rest/authentication/), Orders v2
"Show order details", Payments v2 "Refund captured payment", Idempotency
(developer.paypal.com/reference/guidelines/idempotency/), Rate limiting guidelines."""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from connectors.errors import PermanentApiError, TransientApiError
from connectors.http import ApiClient
from connectors.payments.paypal_parse import (
    paypal_error_message, payment_from_order, refund_from_body, refundable_capture, to_value,
)
from domain.records import Payment, Refund

log = logging.getLogger(__name__)
TOKEN_PATH = "/v1/oauth2/token"
EARLY_REFRESH = 300.0          # seconds before expires_in at which a cached token is renewed
CUSTOM_ID = re.compile(r"^[A-Za-z0-9\-_.,]{1,127}$")   # what PayPal echoes back in refund.custom_id


class PayPalGateway:
    name = "paypal"

    def __init__(self, *, api_base: str, client_id: str, client_secret: str, timeout: float = 20,
                 max_retries: int = 4, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic):
        self._api = ApiClient("paypal", api_base, headers={"Accept": "application/json"}, timeout=timeout,
                              max_retries=max_retries, error_message=paypal_error_message, sleep=sleep)
        self._credentials = (client_id, client_secret)
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_good_until = 0.0
        self.token_requests = 0   # counted for tests: PayPal rate-limits needless token calls

    @property
    def session(self) -> requests.Session:
        return self._api.session

    def fetch_payments(self, refs: Sequence[str], *, created_since: datetime | None,
                       created_until: datetime | None = None) -> list[Payment]:
        """Orders v2 has no batch read and no listing, so each order is read by id; the
        window is not needed. An id PayPal does not know (404) is left out."""
        wanted = list(dict.fromkeys(refs))
        payments = [payment_from_order(order) for ref in wanted if (order := self._order(ref)) is not None]
        log.info("paypal: read %d of %d orders (%d unknown)", len(payments), len(wanted), len(wanted) - len(payments))
        return payments

    def refund(self, *, payment_ref: str, amount: float, currency: str, idempotency_key: str) -> Refund:
        """PayPal keeps a PayPal-Request-Id for 45 days and answers a repeat with the first
        request's refund, so re-sending after a lost or cut answer never refunds twice."""
        capture_id = self._capture_to_refund(payment_ref)
        body: dict[str, Any] = {"amount": {"value": to_value(amount, currency), "currency_code": currency.upper()}}
        if CUSTOM_ID.match(idempotency_key):   # shows on PayPal's reports next to the refund
            body["custom_id"] = idempotency_key
        answer = self._call("POST", f"/v2/payments/captures/{quote(capture_id, safe='')}/refund", replay_safe=True,
                            json=body, headers={"PayPal-Request-Id": idempotency_key,
                                                "Prefer": "return=representation"})
        return refund_from_body(answer, asked=amount)

    def check(self) -> str:
        """A fresh token proves the credentials; no order is needed to read."""
        token = self._fetch_token()
        hours, rest = divmod(int(token.get("expires_in", 0)), 3600)
        return (f"paypal: token for {token.get('app_id', 'the app')} at {self._api.base_url}, valid "
                f"{hours}h{rest // 60:02d}m, {len(token.get('scope', '').split())} scopes")

    def close(self) -> None:
        self._api.close()

    # ---- orders ----

    def _order(self, ref: str) -> dict | None:
        try:
            return self._call("GET", f"/v2/checkout/orders/{quote(ref, safe='')}", replay_safe=True)
        except PermanentApiError as exc:
            if exc.status == 404:
                return None
            raise

    def _capture_to_refund(self, order_id: str) -> str:
        order = self._order(order_id)
        if order is None:
            raise PermanentApiError("paypal", f"order {order_id} not found: check the payment reference stored "
                                    "for this order (PayPal order id) and the PayPal account", status=404)
        capture = refundable_capture(order)
        if capture is None:
            statuses = [c.get("status") for u in order.get("purchase_units", [])
                        for c in (u.get("payments") or {}).get("captures", [])]
            raise PermanentApiError("paypal", f"order {order_id} has no completed capture to refund (order "
                                    f"{order.get('status')}, captures {statuses or 'none'})", status=422)
        return capture["id"]

    # ---- HTTP with the bearer token ----

    def _call(self, method: str, path: str, *, replay_safe: bool, headers: dict | None = None, **kwargs) -> dict:
        """A JSON answer; a cut-short body is asked for again only when repeating the
        request is safe (reads, and writes carrying a PayPal-Request-Id)."""
        attempts = self._api.max_retries + 1 if replay_safe else 1
        for _ in range(attempts):
            response = self._authorized(method, path, headers or {}, **kwargs)
            try:
                return response.json()
            except ValueError:
                self._api.retries += 1
        raise TransientApiError("paypal", f"{method} {path} returned a body that is not valid JSON "
                                f"({attempts} attempts); the next run will retry")

    def _authorized(self, method: str, path: str, headers: dict, **kwargs) -> requests.Response:
        """A token can die before its expires_in (revoked, rotated secret, PayPal's cache
        lost): on 401 fetch a new one and try once more."""
        for attempt in (1, 2):
            bearer = {**headers, "Authorization": f"Bearer {self._access_token()}"}
            try:
                return self._api.request(method, path, headers=bearer, **kwargs)
            except PermanentApiError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
                log.info("paypal: access token refused (%s), fetching a new one", _oauth_error(exc))
                self._token = None
        raise AssertionError("unreachable")

    def _access_token(self) -> str:
        """Reused until shortly before it expires: PayPal asks callers to cache tokens."""
        if self._token is None or self._monotonic() >= self._token_good_until:
            self._fetch_token()
        return self._token

    def _fetch_token(self) -> dict:
        started = self._monotonic()
        for _ in range(self._api.max_retries + 1):   # asking again for a token is harmless
            self.token_requests += 1
            try:
                response = self._api.request("POST", TOKEN_PATH, data={"grant_type": "client_credentials"},
                                             auth=self._credentials)
            except PermanentApiError as exc:
                raise self._credentials_refused(exc) from None
            try:
                token = response.json()
                self._token = token["access_token"]
            except (ValueError, KeyError, TypeError):
                self._api.retries += 1
                continue
            lifetime = float(token.get("expires_in", 0))
            self._token_good_until = started + max(0.0, lifetime - min(EARLY_REFRESH, lifetime / 10))
            return token
        raise TransientApiError("paypal", f"POST {TOKEN_PATH} kept answering without a readable access token")

    def _credentials_refused(self, exc: PermanentApiError) -> PermanentApiError:
        if exc.status != 401:
            return exc
        return PermanentApiError("paypal", f"PayPal refused the client credentials ({_oauth_error(exc)}): check "
                                 "CUMPLIDO_PAYPAL_CLIENT_ID and CUMPLIDO_PAYPAL_CLIENT_SECRET (or the world file's "
                                 f"references) and that they belong to the environment at {self._api.base_url} "
                                 "(sandbox and live apps have different credentials)", status=401)


def _oauth_error(exc: PermanentApiError) -> str:
    return exc.message.split(": ", 1)[-1]
