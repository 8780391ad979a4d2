"""A local Stripe: PaymentIntents, Refunds and Balance on the real paths, auth, list paging,
Idempotency-Key replay and error envelopes, on the simulated clock. The Shopify sandbox seeds
the intents its orders were paid with through `create_payment_intent`."""
from __future__ import annotations

import base64
import bisect
import itertools
import random
import re
import threading
from datetime import datetime
from typing import Literal

import orjson
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults, with_faults
from connectors.sandbox.stripe_objects import (
    API_VERSION, REFUND_REASONS, IntentRecord, StripeError, fault_body, intent_view, list_page, money,
    new_id, refund_object, utc,
)

SANDBOX_API_KEY = "sk_test_sandbox"   # config.settings' default key, so the demo needs no setup
METADATA_FIELD = re.compile(r"^metadata\[(.+)\]$")
ROUTES = Map([
    Rule("/v1/payment_intents", endpoint="list_intents", methods=["GET"]),
    Rule("/v1/payment_intents/<intent>", endpoint="get_intent", methods=["GET"]),
    Rule("/v1/refunds", endpoint="list_refunds", methods=["GET"]),
    Rule("/v1/refunds", endpoint="create_refund", methods=["POST"]),
    Rule("/v1/refunds/<refund>", endpoint="get_refund", methods=["GET"]),
    Rule("/v1/balance", endpoint="balance", methods=["GET"]),
])


def _unix(moment: datetime) -> int:
    return int(utc(moment).timestamp())


class StripeSandbox:
    name = "stripe"  # the gateway name storefront simulators record on their orders

    def __init__(self, *, clock: SimClock, seed: int, api_key: str = SANDBOX_API_KEY, faults: Faults | None = None):
        self.clock = clock
        self.api_key = api_key
        self.faults = faults or Faults(seed=seed)   # tune in place: the middleware holds this object
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._intents: dict[str, IntentRecord] = {}
        self._refunds: dict[str, dict] = {}
        self._saved: dict[str, tuple[tuple, int, bytes]] = {}   # Idempotency-Key -> first answer
        self._seq = itertools.count()
        self._request_ids = itertools.count(1)
        self.wsgi_app = with_faults(self._app, self.faults, error_body=fault_body)

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    # ---- seeding and ground truth (Python only, no HTTP) ----

    def create_payment_intent(
        self, *, amount_cents: int, currency: str, outcome: Literal["succeeded", "processing", "failed"],
        created_at: datetime, settle_at: datetime | None, metadata: dict[str, str],
    ) -> str:
        """A PaymentIntent as the shop's checkout left it; "processing" turns "succeeded" once the
        clock reaches settle_at, "failed" stays `requires_payment_method` with the decline."""
        if outcome not in ("succeeded", "processing", "failed"):
            raise ValueError(f"unknown outcome {outcome!r}")
        with self._lock:
            rec = IntentRecord(
                id=new_id(self._rng, "pi"), amount=int(amount_cents), currency=currency.lower(),
                outcome=outcome, created=_unix(created_at), settle_at=settle_at,
                metadata=dict(metadata), charge_id=new_id(self._rng, "ch"),
                payment_method_id=new_id(self._rng, "pm"), seq=next(self._seq),
            )
            self._intents[rec.id] = rec
            return rec.id

    def intent(self, pi_id: str) -> dict:
        with self._lock:
            return intent_view(self._intents[pi_id], self.clock.now())

    def refunds_for(self, payment_intent: str) -> list[dict]:
        """Every refund made against the intent, oldest first."""
        with self._lock:
            return [dict(self._refunds[r]) for r in self._intents[payment_intent].refund_ids]

    # ---- HTTP ----

    def _app(self, environ, start_response):
        request = Request(environ)
        try:
            self._authenticate(request)
            endpoint, args = ROUTES.bind_to_environ(environ).match()
            if request.method == "POST":
                status, body, replayed = self._idempotent(request, endpoint)
            else:
                status, body, replayed = 200, self._json(getattr(self, f"_{endpoint}")(request, **args)), False
        except HTTPException:
            status, body, replayed = 404, self._json(StripeError(
                404, f"Unrecognized request URL ({request.method}: {request.path}). Please see "
                     "https://stripe.com/docs or we can help at https://support.stripe.com/.").body), False
        except StripeError as exc:
            status, body, replayed = exc.status, self._json(exc.body), False
        headers = {"Request-Id": f"req_{next(self._request_ids):014d}", "Stripe-Version": API_VERSION}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(body, status=status, headers=headers, content_type="application/json")(environ, start_response)

    @staticmethod
    def _json(payload: dict) -> bytes:
        # orjson: a page lists 100 intents of ~3 KB, and the standard encoder took most of a page's time
        return orjson.dumps(payload)

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "basic":  # curl -u sk_...: sends the key as the user name
            try:
                credential = base64.b64decode(credential).decode().partition(":")[0]
            except ValueError:
                credential = ""
        elif scheme.lower() != "bearer":
            raise StripeError(401, "You did not provide an API key. You need to provide your API key in the "
                                   "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                                   "YOUR_SECRET_KEY').", remember=False)
        if credential != self.api_key:
            prefix = credential[:8] if credential.startswith(("sk_test_", "sk_live_")) else ""
            raise StripeError(401, f"Invalid API Key provided: {prefix}****{credential[-4:]}", remember=False)

    def _idempotent(self, request: Request, endpoint: str) -> tuple[int, bytes, bool]:
        """Stripe saves the first answer to a key and replays it; the same key with other
        parameters is refused. Requests rejected before executing are not saved."""
        key = request.headers.get("Idempotency-Key")
        fingerprint = (request.path, tuple(sorted(request.form.items(multi=True))))
        with self._lock:
            if key is not None and key in self._saved:
                saved_fingerprint, status, body = self._saved[key]
                if saved_fingerprint != fingerprint:
                    raise StripeError(400, "Keys for idempotent requests can only be used with the same "
                                           "parameters they were first used with. Try using a key other than "
                                           f"'{key}' if you meant to execute a different request.",
                                      type="idempotency_error", remember=False)
                return status, body, True
            try:
                status, body = 200, self._json(getattr(self, f"_{endpoint}")(request))
            except StripeError as exc:
                if not exc.remember:
                    raise
                status, body = exc.status, self._json(exc.body)
            if key is not None:
                self._saved[key] = (fingerprint, status, body)
            return status, body, False

    # ---- endpoints ----

    def _visible_intents(self) -> list[IntentRecord]:
        """Intents created up to now, newest first as Stripe lists them."""
        now = _unix(self.clock.now())
        return sorted((r for r in self._intents.values() if r.created <= now),
                      key=lambda r: (r.created, r.seq), reverse=True)

    def _list_intents(self, request: Request) -> dict:
        """A page of intents newest first, filtered by created[...]; bisecting a sorted index so
        paging through 100k intents costs a page's worth of work per request, as at Stripe."""
        args = request.args
        bounds = {op: self._int_arg(args, f"created[{op}]") for op in ("gt", "gte", "lt", "lte")}
        limit, after = self._limit(args), args.get("starting_after")
        with self._lock:
            now = self.clock.now()
            records, newest_first, position = self._listing()
            lo, hi = 0, len(records)          # newest_first holds -created, ascending
            if bounds["lte"] is not None:
                lo = max(lo, bisect.bisect_left(newest_first, -bounds["lte"]))
            if bounds["lt"] is not None:
                lo = max(lo, bisect.bisect_right(newest_first, -bounds["lt"]))
            if bounds["gte"] is not None:
                hi = min(hi, bisect.bisect_right(newest_first, -bounds["gte"]))
            if bounds["gt"] is not None:
                hi = min(hi, bisect.bisect_left(newest_first, -bounds["gt"]))
            start = lo
            if after is not None:
                index = position.get(after)
                if index is None or not lo <= index < hi:
                    raise StripeError(400, f"No such object: '{after}'", code="resource_missing",
                                      param="starting_after", remember=False)
                start = index + 1
            page = [intent_view(r, now) for r in records[start:min(start + limit, hi)]]
        return {"object": "list", "data": page, "has_more": start + limit < hi, "url": "/v1/payment_intents"}

    def _listing(self) -> tuple[list[IntentRecord], list[int], dict[str, int]]:
        """Visible intents newest first, their -created keys and id -> index; rebuilt only when
        an intent was added or the clock moved."""
        key = (len(self._intents), self.clock.now())
        if getattr(self, "_listing_key", None) != key:
            records = self._visible_intents()
            self._listing_cache = (records, [-r.created for r in records], {r.id: i for i, r in enumerate(records)})
            self._listing_key = key
        return self._listing_cache

    def _get_intent(self, request: Request, intent: str) -> dict:
        with self._lock:
            rec = self._intents.get(intent)
            if rec is None or rec.created > _unix(self.clock.now()):
                raise StripeError(404, f"No such payment_intent: '{intent}'", code="resource_missing", param="intent")
            return intent_view(rec, self.clock.now())

    def _list_refunds(self, request: Request) -> dict:
        wanted = request.args.get("payment_intent")
        with self._lock:
            refunds = [dict(r) for r in self._refunds.values() if wanted in (None, r["payment_intent"])]
        refunds.sort(key=lambda r: r["created"], reverse=True)
        return list_page(refunds, url="/v1/refunds", limit=self._limit(request.args),
                         starting_after=request.args.get("starting_after"))

    def _get_refund(self, request: Request, refund: str) -> dict:
        with self._lock:
            if refund not in self._refunds:
                raise StripeError(404, f"No such refund: '{refund}'", code="resource_missing", param="id")
            return dict(self._refunds[refund])

    def _balance(self, request: Request) -> dict:
        available: dict[str, int] = {}
        pending: dict[str, int] = {}
        with self._lock:
            now = self.clock.now()
            for rec in self._visible_intents():
                available[rec.currency] = available.get(rec.currency, 0) + rec.received(now) - rec.refunded
                if rec.status(now) == "processing":
                    pending[rec.currency] = pending.get(rec.currency, 0) + rec.amount
        as_list = lambda sums: [{"amount": v, "currency": c, "source_types": {"card": v}} for c, v in sums.items()]
        return {"object": "balance", "available": as_list(available) or [{"amount": 0, "currency": "usd"}],
                "livemode": False, "pending": as_list(pending) or [{"amount": 0, "currency": "usd"}]}

    def _create_refund(self, request: Request) -> dict:
        form = request.form
        rec = self._refundable_intent(form.get("payment_intent"))
        remaining = rec.amount - rec.refunded
        if remaining <= 0:
            raise StripeError(400, f"Charge {rec.charge_id} has already been refunded.",
                              code="charge_already_refunded")
        amount = remaining if form.get("amount") is None else self._positive_int(form.get("amount"), "amount")
        if amount > remaining:
            raise StripeError(400, f"Refund amount ({money(amount, rec.currency)}) is greater than unrefunded "
                                   f"amount on charge ({money(remaining, rec.currency)})",
                              code="amount_too_large", param="amount")
        reason = form.get("reason") or None
        if reason is not None and reason not in REFUND_REASONS:
            raise StripeError(400, f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}",
                              param="reason", remember=False)
        metadata = {m.group(1): v for k, v in form.items() if (m := METADATA_FIELD.match(k))}
        refund = refund_object(refund_id=new_id(self._rng, "re"), txn_id=new_id(self._rng, "txn"), rec=rec,
                               amount=amount, created=_unix(self.clock.now()), reason=reason, metadata=metadata)
        self._refunds[refund["id"]] = refund
        rec.refunded += amount
        rec.refund_ids.append(refund["id"])
        return dict(refund)

    def _refundable_intent(self, pi_id: str | None) -> IntentRecord:
        if not pi_id:
            raise StripeError(400, "One of the following params should be provided for this request: "
                                   "payment_intent or charge.", remember=False)
        rec = self._intents.get(pi_id)
        if rec is None or rec.created > _unix(self.clock.now()):
            raise StripeError(400, f"No such payment_intent: '{pi_id}'", code="resource_missing",
                              param="payment_intent", remember=False)
        if rec.status(self.clock.now()) != "succeeded":
            raise StripeError(400, f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                              code="charge_not_refundable", param="payment_intent")
        return rec

    # ---- parameter parsing, worded as Stripe words it ----

    @staticmethod
    def _int_arg(args, name: str) -> int | None:
        value = args.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise StripeError(400, f"Invalid integer: {value}", code="parameter_invalid_integer",
                              param=name, remember=False) from None

    def _positive_int(self, value: str, name: str) -> int:
        number = self._int_arg({name: value}, name)
        if number < 1:
            raise StripeError(400, "This value must be greater than or equal to 1.",
                              code="parameter_invalid_integer", param=name, remember=False)
        return number

    def _limit(self, args) -> int:
        limit = self._int_arg(args, "limit")
        if limit is None:
            return 10
        if not 1 <= limit <= 100:
            raise StripeError(400, "This value must be less than or equal to 100 and greater than or equal to 1.",
                              code="parameter_invalid_integer", param="limit", remember=False)
        return limit
