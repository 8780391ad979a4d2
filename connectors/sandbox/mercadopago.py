"""A local Mercado Pago: payments, the payment search, refunds and /users/me on the real paths,
Bearer auth, limit/offset paging, X-Idempotency-Key (mandatory on refunds, replayed) and the
`{message, error, status, cause[]}` envelope, on the simulated clock. The storefront sandboxes
seed the payments their orders were paid with through `create_payment_intent`."""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
from datetime import datetime, timedelta
from typing import Literal

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults, with_faults
from connectors.sandbox.mercadopago_objects import (
    MercadoPagoError, PaymentRecord, fault_body, minor, not_found, payment_view, public, refund_object,
    user_object, utc,
)
from connectors.sandbox.mercadopago_search import SearchKnobs, search

SANDBOX_ACCESS_TOKEN = "TEST-sandbox"   # config.settings' default, so the demo needs no setup
SANDBOX_WEBHOOK_SECRET = "mp-webhook-sandbox-secret"
NOT_VALID_NOW = "The action requested is not valid for the current payment state"
ROUTES = Map([
    Rule("/v1/payments/search", endpoint="search", methods=["GET"]),
    Rule("/v1/payments/<payment_id>", endpoint="payment", methods=["GET"]),
    Rule("/v1/payments/<payment_id>/refunds", endpoint="refunds", methods=["GET"]),
    Rule("/v1/payments/<payment_id>/refunds", endpoint="create_refund", methods=["POST"]),
    Rule("/v1/payments/<payment_id>/refunds/<refund_id>", endpoint="refund", methods=["GET"]),
    Rule("/users/me", endpoint="me", methods=["GET"]),
])


class MercadoPagoSandbox:
    name = "mercadopago"  # the gateway name storefront simulators record on their orders

    def __init__(self, *, clock: SimClock, seed: int, access_token: str = SANDBOX_ACCESS_TOKEN,
                 faults: Faults | None = None, index_lag: timedelta = timedelta(0), duplicate_share: float = 0.0,
                 shuffle_pages: bool = False, refund_status: str = "approved",
                 webhook_secret: str = SANDBOX_WEBHOOK_SECRET):
        self.clock = clock
        self.access_token = access_token
        self.faults = faults or Faults(seed=seed)   # tune in place: the middleware holds this object
        self.knobs = SearchKnobs(index_lag=index_lag, duplicate_share=duplicate_share, shuffle_pages=shuffle_pages)
        self.refund_status = refund_status
        self.webhook_secret = webhook_secret
        # One stream per kind of id, so no id depends on how many other things happened in between.
        self._rng = random.Random(seed)
        self._refund_rng = random.Random(f"{seed}:refunds")
        self._wire = random.Random(f"{seed}:wire")     # request ids, search faults, notifications
        self._lock = threading.RLock()
        self._payments: dict[int, PaymentRecord] = {}
        self._saved: dict[str, bytes] = {}   # X-Idempotency-Key -> the refund it made
        self._next_payment = 1_300_000_000 + self._rng.randrange(100_000_000)
        self._next_refund = 1_240_000_000 + self._refund_rng.randrange(100_000_000)
        self._started = utc(clock.now())
        self.wsgi_app = with_faults(self._app, self.faults, error_body=fault_body)

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    # ---- seeding and ground truth (Python only, no HTTP) ----

    def create_payment_intent(
        self, *, amount_cents: int, currency: str, outcome: Literal["succeeded", "processing", "failed"],
        created_at: datetime, settle_at: datetime | None, metadata: dict[str, str],
    ) -> str:
        """A card payment as the checkout left it: "succeeded" is approved, "processing" stays
        in_process until the clock reaches settle_at, "failed" is rejected for insufficient funds."""
        if outcome not in ("succeeded", "processing", "failed"):
            raise ValueError(f"unknown outcome {outcome!r}")
        with self._lock:
            self._next_payment += self._rng.randint(1, 40)   # ids grow, with others' payments in between
            rec = PaymentRecord(id=self._next_payment, cents=int(amount_cents), currency=currency.upper(),
                                outcome=outcome, created=utc(created_at),
                                settle_at=utc(settle_at) if settle_at else None, metadata=dict(metadata),
                                seq=len(self._payments))
            self._payments[rec.id] = rec
            return str(rec.id)

    def payment(self, payment_id: str) -> dict:
        with self._lock:
            return payment_view(self._payments[int(payment_id)], self.clock.now())

    def refunds_for(self, payment_id: str) -> list[dict]:
        """Every refund made against the payment, oldest first."""
        with self._lock:
            return [public(r) for r in self._payments[int(payment_id)].refunds]

    def signed_notification(self, payment_id: str, *, action: str = "payment.updated") -> dict:
        """The webhook Mercado Pago would send about the payment: query, headers and body, signed
        with the webhook secret as the notifications docs describe."""
        ts = str(int(utc(self.clock.now()).timestamp() * 1000))
        request_id = f"{self._wire.getrandbits(128):032x}"
        manifest = f"id:{payment_id};request-id:{request_id};ts:{ts};"   # payment ids are digits: no lower-casing
        v1 = hmac.new(self.webhook_secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
        return {"query": {"data.id": str(payment_id), "type": "payment"},
                "headers": {"x-signature": f"ts={ts},v1={v1}", "x-request-id": request_id},
                "body": {"id": self._wire.randrange(10**11), "live_mode": False, "type": "payment",
                         "date_created": utc(self.clock.now()).isoformat(), "user_id": 823549964,
                         "api_version": "v1", "action": action, "data": {"id": str(payment_id)}}}

    # ---- HTTP ----

    def _app(self, environ, start_response):
        request = Request(environ)
        status = 200
        try:
            endpoint, args = ROUTES.bind_to_environ(environ).match()
            self._authenticate(request)
            if endpoint == "create_refund":
                status, body = self._idempotent(request, **args)
            else:
                body = self._json(getattr(self, f"_{endpoint}")(request, **args))
        except MethodNotAllowed:
            status, body = 405, self._json(MercadoPagoError(405, "Method not allowed",
                                                            error="method_not_allowed").body)
        except HTTPException:
            status, body = 404, self._json(not_found(f"Resource {request.path} not found.", 404).body)
        except MercadoPagoError as exc:
            status, body = exc.status, self._json(exc.body)
        headers = {"X-Request-Id": f"{self._wire.getrandbits(128):032x}"}
        return Response(body, status=status, headers=headers,
                        content_type="application/json;charset=UTF-8")(environ, start_response)

    @staticmethod
    def _json(payload) -> bytes:
        return json.dumps(payload).encode()

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise MercadoPagoError(401, "Must provide your access_token to proceed", error="unauthorized",
                                   causes=((5, "Must provide your access_token to proceed"),))
        if token != self.access_token:
            raise MercadoPagoError(401, "invalid access token", error="unauthorized",
                                   causes=((401, "Invalid token"),))

    def _idempotent(self, request: Request, payment_id: str) -> tuple[int, bytes]:
        """Refunds demand X-Idempotency-Key; the first successful answer to a key is saved and
        given again to every later request with it, whatever its body: Mercado Pago documents the
        key as "repeat safely", not what a reused key with another amount gets, so the client checks."""
        key = request.headers.get("X-Idempotency-Key")
        if not key:
            raise MercadoPagoError(400, "Header X-Idempotency-Key can't be null",
                                   causes=((4292, "Header X-Idempotency-Key can't be null"),))
        with self._lock:
            if key not in self._saved:
                self._saved[key] = self._json(self._create_refund(request, payment_id))
            return 201, self._saved[key]

    # ---- endpoints ----

    def _record(self, payment_id: str) -> PaymentRecord:
        rec = self._payments.get(int(payment_id)) if payment_id.isdigit() else None
        if rec is None or rec.created > utc(self.clock.now()):
            raise not_found()
        return rec

    def _search(self, request: Request) -> dict:
        with self._lock:
            return search(list(self._payments.values()), request.args, now=self.clock.now(), rng=self._wire,
                          knobs=self.knobs)

    def _payment(self, request: Request, payment_id: str) -> dict:
        with self._lock:
            return payment_view(self._record(payment_id), self.clock.now())

    def _refunds(self, request: Request, payment_id: str) -> list[dict]:
        with self._lock:
            return [public(r) for r in self._record(payment_id).refunds]

    def _refund(self, request: Request, payment_id: str, refund_id: str) -> dict:
        with self._lock:
            for refund in self._record(payment_id).refunds:
                if str(refund["id"]) == refund_id:
                    return public(refund)
        raise not_found("Refund not found", 2032)

    def _me(self, request: Request) -> dict:
        return user_object(registered=self._started - timedelta(days=400))

    def _create_refund(self, request: Request, payment_id: str) -> dict:
        rec = self._record(payment_id)
        now = self.clock.now()
        if rec.status(now)[0] != "approved":   # not paid yet, rejected, or refunded in full already
            raise MercadoPagoError(400, NOT_VALID_NOW, causes=((2063, NOT_VALID_NOW),))
        remaining = rec.cents - rec.refunded_cents
        cents = remaining if (amount := self._amount(request)) is None else minor(amount, rec.currency)
        if cents > remaining:
            # The wording of this answer is not documented; 2063 is the documented code for a
            # refund the payment's state does not allow.
            raise MercadoPagoError(400, "Invalid refund amount: it exceeds the available amount of the payment",
                                   causes=((2063, NOT_VALID_NOW),))
        self._next_refund += self._refund_rng.randint(1, 40)
        refund = refund_object(refund_id=self._next_refund, rec=rec, cents=cents, at=now, status=self.refund_status)
        rec.refunds.append(refund)
        rec.refunded_cents += cents
        return public(refund)

    @staticmethod
    def _amount(request: Request) -> float | None:
        """No body, or no `amount`, refunds what is left (a total refund), as documented."""
        body = request.get_json(silent=True) if request.get_data() else {}
        if body is None or not isinstance(body, dict):
            raise MercadoPagoError(400, "Params Error", causes=((1, "Params Error"),))
        amount = body.get("amount")
        if amount is None:
            return None
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise MercadoPagoError(400, "amount attribute must be numeric",
                                   causes=((4041, "amount attribute must be numeric"),))
        if amount <= 0:
            raise MercadoPagoError(400, "amount attribute must be positive",
                                   causes=((4040, "amount attribute must be positive"),))
        return float(amount)
