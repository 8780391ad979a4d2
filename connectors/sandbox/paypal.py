"""A local PayPal: the OAuth2 token service, Orders v2 (show order), Payments v2 (show capture,
refund a capture, show refund) on the real paths, with bearer tokens that expire on the
simulated clock, PayPal-Request-Id replay, Prefer handling and PayPal's error envelopes.
The storefront sandboxes seed the orders their checkouts were paid with through
`create_payment_intent`."""
from __future__ import annotations

import base64
import binascii
import itertools
import json
import random
import string
import threading
from datetime import datetime, timedelta
from typing import Literal

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults, with_faults
from connectors.sandbox.paypal_objects import (
    ORDERS_DOCS, PAYMENTS_DOCS, OAuthError, OrderRecord, PayPalError, RefundRecord, fault_body, not_found, payer_id,
    refund_amount, transaction_id, utc,
)
from connectors.sandbox.paypal_views import capture_view, order_view, refund_view, token_view

SANDBOX_CLIENT_ID = "paypal_sandbox_client"       # config.settings' defaults, so the demo needs no setup
SANDBOX_CLIENT_SECRET = "paypal_sandbox_secret"
TOKEN_LIFETIME = timedelta(seconds=32400)         # PayPal's tokens live nine hours
VARIANTS = {"processing": ("pending_capture", "approved"), "failed": ("declined", "voided")}
ROUTES = Map([
    Rule("/v1/oauth2/token", endpoint="token", methods=["POST"]),
    Rule("/v2/checkout/orders/<order_id>", endpoint="get_order", methods=["GET"]),
    Rule("/v2/payments/captures/<capture_id>", endpoint="get_capture", methods=["GET"]),
    Rule("/v2/payments/captures/<capture_id>/refund", endpoint="refund", methods=["POST"]),
    Rule("/v2/payments/refunds/<refund_id>", endpoint="get_refund", methods=["GET"]),
])
GIVEN = ("Ana", "Ben", "Carla", "Dmitri", "Eun-ji", "Farah", "Gus", "Hana", "Ivan", "Jo")
SURNAMES = ("Alvarez", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jones")


class PayPalSandbox:
    name = "paypal"  # the gateway name storefront simulators record on their orders

    def __init__(self, *, clock: SimClock, seed: int, client_id: str = SANDBOX_CLIENT_ID,
                 client_secret: str = SANDBOX_CLIENT_SECRET, faults: Faults | None = None,
                 token_lifetime: timedelta = TOKEN_LIFETIME, echeck_refund_clearing: timedelta = timedelta(days=3)):
        self.clock = clock
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime, self.echeck_refund_clearing = token_lifetime, echeck_refund_clearing
        self.faults = faults or Faults(seed=seed)   # tune in place: the middleware holds this object
        self.app_id = f"APP-{transaction_id(random.Random(f'{seed}:app'))}"
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._orders: dict[str, OrderRecord] = {}
        self._by_capture: dict[str, str] = {}
        self._refunds: dict[str, RefundRecord] = {}
        self._request_ids: dict[str, str] = {}      # PayPal-Request-Id -> refund id
        self._tokens: dict[str, datetime] = {}      # access token -> expiry on the clock
        self._current_token: str | None = None
        self._seq = itertools.count()
        self._debug_ids = itertools.count(random.Random(seed).randint(0x1000000000000, 0xeffffffffffff))
        self.wsgi_app = with_faults(self._app, self.faults,
                                    error_body=lambda status: fault_body(status, self._debug_id()))

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    # ---- seeding and ground truth (Python only, no HTTP) ----

    def create_payment_intent(
        self, *, amount_cents: int, currency: str, outcome: Literal["succeeded", "processing", "failed"],
        created_at: datetime, settle_at: datetime | None, metadata: dict[str, str], variant: str | None = None,
    ) -> str:
        """An order as the shop's PayPal checkout left it, returning the order id. "succeeded"
        is captured; "processing" is either captured PENDING (eCheck) or approved and not yet
        captured, and completes once the clock reaches settle_at; "failed" is a card capture
        DECLINED or a VOIDED order. `variant` picks one, else the seed does."""
        if outcome not in ("succeeded", "processing", "failed"):
            raise ValueError(f"unknown outcome {outcome!r}")
        with self._lock:
            choices = VARIANTS.get(outcome, ("captured",))
            if variant is not None and variant not in choices:
                raise ValueError(f"variant {variant!r} is not one of {choices} for outcome {outcome!r}")
            rec = OrderRecord(
                id=transaction_id(self._rng), capture_id=transaction_id(self._rng), amount=int(amount_cents),
                currency=currency.upper(), outcome=outcome, variant=variant or self._rng.choice(choices),
                created=utc(created_at), settle_at=utc(settle_at) if settle_at else None, metadata=dict(metadata),
                payer=self._new_payer(), seq=next(self._seq))
            self._orders[rec.id] = rec
            self._by_capture[rec.capture_id] = rec.id
            return rec.id

    def order(self, order_id: str) -> dict:
        with self._lock:
            return order_view(self._orders[order_id], self.clock.now(), "https://api-m.sandbox.paypal.com")

    def refunds_for(self, order_id: str) -> list[dict]:
        """Every refund made against the order's capture, oldest first, as PayPal shows it."""
        with self._lock:
            rec = self._orders[order_id]
            return [refund_view(r, rec, self.clock.now(), "https://api-m.sandbox.paypal.com") for r in rec.refunds]

    def revoke_tokens(self) -> None:
        """Invalidate every access token before its time, as a rotated secret does."""
        with self._lock:
            self._tokens.clear()
            self._current_token = None

    def _new_payer(self) -> dict:
        given, surname = self._rng.choice(GIVEN), self._rng.choice(SURNAMES)
        return {"given_name": given, "surname": surname, "payer_id": payer_id(self._rng),
                "email": f"{given.lower()}.{surname.lower()}.{self._rng.randint(100, 999)}@personal.example.com",
                "card_last4": f"{self._rng.randint(0, 9999):04d}"}

    def _debug_id(self) -> str:
        return f"{next(self._debug_ids):013x}"

    # ---- HTTP ----

    def _app(self, environ, start_response):
        request = Request(environ)
        debug_id = self._debug_id()
        try:
            endpoint, args = ROUTES.bind_to_environ(environ).match()
            if endpoint != "token":
                self._authenticate(request)
            status, body = getattr(self, f"_{endpoint}")(request, **args)
        except HTTPException:
            status, body = 404, PayPalError(404).body(debug_id)
        except (PayPalError, OAuthError) as exc:
            status, body = exc.status, exc.body(debug_id)
        headers = {"Paypal-Debug-Id": debug_id}
        return Response(json.dumps(body), status=status, headers=headers,
                        content_type="application/json")(environ, start_response)

    def _base(self, request: Request) -> str:
        return request.host_url.rstrip("/")

    def _token(self, request: Request) -> tuple[int, dict]:
        """Client credentials in Basic auth; while a token lives, PayPal hands out the same one
        with what remains of its lifetime."""
        if self._basic_credentials(request) != (self.client_id, self.client_secret):
            raise OAuthError(401, "invalid_client", "Client Authentication failed")
        grant = request.form.get("grant_type")
        if grant != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "Grant Type is NULL" if not grant
                             else f"Grant Type {grant} is not supported")
        with self._lock:
            now = utc(self.clock.now())
            if self._current_token is None or self._tokens.get(self._current_token, now) <= now:
                self._current_token = "A21AA" + "".join(self._rng.choices(string.ascii_letters + string.digits + "-_",
                                                                          k=92))
                self._tokens[self._current_token] = now + self.token_lifetime
            expires_in = int((self._tokens[self._current_token] - now).total_seconds())
            nonce = now.strftime("%Y-%m-%dT%H:%M:%SZ") + "".join(self._rng.choices(string.ascii_letters, k=43))
            return 200, token_view(token=self._current_token, app_id=self.app_id, expires_in=expires_in, nonce=nonce)

    @staticmethod
    def _basic_credentials(request: Request) -> tuple[str, str] | None:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user, password

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise PayPalError(401)
        with self._lock:
            expires = self._tokens.get(token)
            if expires is None:
                raise OAuthError(401, "invalid_token", "Token signature verification failed")
            if expires <= utc(self.clock.now()):
                raise OAuthError(401, "invalid_token", "Access Token not found in cache")

    # ---- endpoints ----

    def _visible_order(self, order_id: str | None, docs: str = PAYMENTS_DOCS) -> OrderRecord:
        rec = self._orders.get(order_id or "")
        if rec is None or rec.created > utc(self.clock.now()):
            raise not_found(docs)
        return rec

    def _get_order(self, request: Request, order_id: str) -> tuple[int, dict]:
        with self._lock:
            rec = self._visible_order(order_id, ORDERS_DOCS)
            return 200, order_view(rec, self.clock.now(), self._base(request))

    def _get_capture(self, request: Request, capture_id: str) -> tuple[int, dict]:
        with self._lock:
            rec = self._visible_order(self._by_capture.get(capture_id))
            if rec.capture_status(self.clock.now()) is None:   # approved or voided: nothing captured yet
                raise not_found()
            return 200, capture_view(rec, self.clock.now(), self._base(request), standalone=True)

    def _get_refund(self, request: Request, refund_id: str) -> tuple[int, dict]:
        with self._lock:
            ref = self._refunds.get(refund_id)
            if ref is None:
                raise not_found()
            return 200, refund_view(ref, self._orders[ref.order_id], self.clock.now(), self._base(request))

    def _refund(self, request: Request, capture_id: str) -> tuple[int, dict]:
        """A repeated PayPal-Request-Id gets the first request's refund, in its latest state;
        requests refused (4xx) are not remembered, as nothing was done."""
        key = request.headers.get("PayPal-Request-Id")
        full = "return=representation" in request.headers.get("Prefer", "")
        with self._lock:
            now = self.clock.now()
            if key and key in self._request_ids:
                ref = self._refunds[self._request_ids[key]]
                return 201, refund_view(ref, self._orders[ref.order_id], now, self._base(request), full=full)
            rec = self._visible_order(self._by_capture.get(capture_id))
            body = self._json_body(request)
            amount = refund_amount(rec, body.get("amount"), now)
            custom_id = body.get("custom_id")
            ref = RefundRecord(id=transaction_id(self._rng), order_id=rec.id, capture_id=rec.capture_id,
                               amount=amount, currency=rec.currency, created=utc(now),
                               clears_at=utc(now) + self.echeck_refund_clearing
                               if rec.variant == "pending_capture" else None,
                               custom_id=custom_id if isinstance(custom_id, str) else None, request_id=key)
            rec.refunds.append(ref)
            self._refunds[ref.id] = ref
            if key:
                self._request_ids[key] = ref.id
            return 201, refund_view(ref, rec, now, self._base(request), full=full)

    @staticmethod
    def _json_body(request: Request) -> dict:
        if not request.get_data():
            return {}   # "For a full refund, include an empty payload"
        try:
            body = json.loads(request.get_data())
        except ValueError:
            raise PayPalError(400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.") from None
        if not isinstance(body, dict):
            raise PayPalError(400, "INVALID_PARAMETER_SYNTAX", "The value of a field does not conform to the "
                                   "expected format.", field="/")
        return body
