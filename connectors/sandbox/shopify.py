"""A local simulator of several Shopify shops behind the GraphQL Admin API, as one WSGI app.

    POST /{shop_domain}/admin/api/{version}/graphql.json   (X-Shopify-Access-Token)

Orders arrive over simulated time (generated lazily per shop and day from the seed); each
gets a payment intent at the payment sandbox; `fulfillmentCreate` ships them; after the
carrier says a parcel was delivered, some customers ask for a return. A few customers cancel
within hours, before anything shipped (`cancel_share`), and the merchant refunds some return
requests in Shopify as they arrive (`store_refund_share`; shopify_refunds). Answers carry Shopify's
cost extension and are THROTTLED when the shop's cost bucket runs dry; `faults` adds the
HTTP-level trouble (429, 5xx, truncated bodies). Bulk query operations and `ordersCount` are in
shopify_bulk; their result files are served here too, at /{shop_domain}/bulk/{n}.jsonl."""
from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Literal, Protocol

import numpy as np
import orjson
from graphql import DocumentNode, GraphQLError, default_field_resolver, execute, parse, validate
from werkzeug.wrappers import Request, Response

from config.world import World
from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults, with_faults
from connectors.sandbox.server import request_json
from connectors.sandbox.shopify_bulk import BulkKnobs, download
from connectors.sandbox.shopify_cost import (
    SINGLE_QUERY_MAX_COST, LeakyBucket, actual_cost, cost_extension, requested_cost,
)
from connectors.sandbox.shopify_graphql import admin_schema
from connectors.sandbox.shopify_orders import (
    MAX_LINES, Shares, charge, factory_for, gid, make_return, money, orders_through, return_plan, utc,
)
from connectors.sandbox.shopify_refunds import cancel, refund_return
from connectors.sandbox.shopify_state import ShopState, ceil_second, order_snapshot, return_snapshot
from connectors.sandbox.store_events import Timeline, cancel_at, refunded_in_store

PATH = re.compile(r"^/(?P<shop>[^/]+)/admin/api/(?P<version>\d{4}-\d{2}|unstable)/graphql\.json$")
BULK_FILE = re.compile(r"^/(?P<shop>[^/]+)/bulk/(?P<number>\d+)\.jsonl$")
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
RATE_DOCS = "https://shopify.dev/api/usage/rate-limits"
TRANSACTION_STATUS = {"succeeded": "SUCCESS", "processing": "PENDING", "failed": "FAILURE"}


@functools.lru_cache(maxsize=256)
def checked_document(query: str) -> tuple[DocumentNode | None, list[dict]]:
    """A query parsed and validated once: clients send the same few documents again and again
    (as Shopify caches them too), and graphql-core's parse + validate cost more than executing."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, [error.formatted]
    return document, [e.formatted for e in validate(admin_schema(), document)]


class PaymentIssuer(Protocol):
    """Where the sandbox shops charge their customers (the Stripe sandbox implements it)."""

    def create_payment_intent(
        self, *, amount_cents: int, currency: str, outcome: Literal["succeeded", "processing", "failed"],
        created_at: datetime, settle_at: datetime | None, metadata: dict[str, str],
    ) -> str:
        """Create the payment and return its id ("pi_...")."""


def _fault_body(status: int) -> dict:
    if status == 429:
        return {"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
                          "uninterrupted service."}
    return {"errors": "Internal Server Error"}


def _by_name(source, info, **_args):
    """A field without a resolver of its own: the source's value of that name (sandbox objects are
    dicts; graphql-core's default resolver checks for attributes and callables first)."""
    if type(source) is dict:
        return source.get(info.field_name)
    return default_field_resolver(source, info, **_args)


def _never(_value) -> bool:
    """Every resolver here answers at once: graphql-core need not check each value for an awaitable."""
    return False


def _json_body(request: Request) -> dict:
    """The request's JSON object, or {} when it sent none (as Request.get_json(silent=True) or {})."""
    body = request_json(request)
    return body if isinstance(body, dict) else {}


def _json(body: dict, status: int = 200, **headers: str) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json", headers=headers)


class ShopifySandbox:
    def __init__(
        self, *, clock: SimClock, world: World, seed: int, start: datetime, orders_per_day: float,
        payments: PaymentIssuer, deliveries: Callable[[str], datetime | None],
        malformed_share: float = 0.01, return_share: float = 0.15, damaged_share: float = 0.35,
        mismatch_share: float = 0.02, pending_share: float = 0.08, failed_share: float = 0.04,
        cancel_share: float = 0.02, store_refund_share: float = 0.2,
        access_token: str = "shpat_sandbox", faults: Faults | None = None,
        bucket_size: float = 2000.0, restore_rate: float = 100.0,
        monotonic: Callable[[], float] = time.monotonic, max_lines: int = MAX_LINES, bulk: BulkKnobs | None = None,
        last_order_day: date | None = None,
    ):
        self.clock = clock
        self.world = world
        self.seed = seed
        self.start = utc(start)
        self.orders_per_day = orders_per_day
        self.payments = payments
        self.deliveries = deliveries
        self.shares = Shares(malformed_share, return_share, damaged_share, mismatch_share, pending_share, failed_share,
                             cancel_share, store_refund_share)
        self.access_token = access_token
        self.faults = faults or Faults(seed=seed)
        self.bulk = bulk or BulkKnobs()
        self.last_order_day = last_order_day      # no orders placed after it (the bench's peak day)
        self.shops: dict[str, ShopState] = {}
        self._cancels: dict[str, Timeline] = {}                # shop -> customers' cancellations to come
        self._returns_seen: dict[str, datetime] = {}           # shop -> the moment returns were last decided
        for channel in world.channels:
            if channel.shop_domain not in self.shops:
                bucket = LeakyBucket(size=bucket_size, restore_rate=restore_rate, monotonic=monotonic)
                self.shops[channel.shop_domain] = ShopState(domain=channel.shop_domain, index=len(self.shops),
                                                            bucket=bucket)
                self._cancels[channel.shop_domain] = Timeline()
        self._lock = threading.RLock()
        # Result files are served under a lock of their own: one shop's download never waits
        # for another shop's export, which runs under the simulation's lock (as at Shopify,
        # where the files sit in cloud storage, apart from the API).
        self._files_lock = threading.Lock()
        self._orders_factory = factory_for(world, shares=self.shares, orders_per_day=orders_per_day,
                                           max_lines=max_lines)
        self.wsgi_app = with_faults(self._serve, self.faults, error_body=_fault_body)

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    # --- ground truth for tests (no HTTP) --------------------------------------------------

    def placed_times(self, shop_domain: str, moment: datetime) -> list[datetime]:
        """When each order placed at or before `moment` was placed (cheap ground truth)."""
        with self._lock:
            shop = self._caught_up(shop_domain, utc(moment))
            return [o["createdAt"] for o in shop.orders if o["createdAt"] <= utc(moment)]

    def orders_as_of(self, shop_domain: str, moment: datetime) -> list[dict]:
        """Every order placed at or before `moment`, in its current state."""
        with self._lock:
            shop = self._caught_up(shop_domain, utc(moment))
            return [order_snapshot(o) for o in shop.orders if o["createdAt"] <= utc(moment)]

    def fulfillments(self, shop_domain: str) -> list[dict]:
        with self._lock:
            return [dict(f) for f in self.shops[shop_domain].fulfillment_log]

    def returns_as_of(self, shop_domain: str, moment: datetime) -> list[dict]:
        """Return requests that exist at `moment` (returns appear as simulated time passes)."""
        with self._lock:
            shop = self._caught_up(shop_domain, utc(moment))
            return [return_snapshot(r) for o in shop.orders for r in o["_returns"] if r["createdAt"] <= utc(moment)]

    # --- the simulation --------------------------------------------------------------------

    def _caught_up(self, shop_domain: str, moment: datetime) -> ShopState:
        shop = self.shops[shop_domain]
        self._generate_through(shop, max(moment, utc(self.clock.now())).date())
        for at, order in self._cancels[shop_domain].due(utc(self.clock.now())):
            cancel(order, at=ceil_second(at))          # unless it shipped first
        self._request_returns(shop, utc(self.clock.now()))
        return shop

    def _generate_through(self, shop: ShopState, last_day: date) -> None:
        if self.last_order_day is not None:
            last_day = min(last_day, self.last_order_day)
        for order in orders_through(self._orders_factory(), shop, last_day=last_day, seed=self.seed, start=self.start):
            self._charge(shop, order)
            shop.add(order)
            self._cancels[shop.domain].add(cancel_at(seed=self.seed, shop_index=shop.index, seq=order["_seq"],
                                                     placed_at=order["createdAt"], share=self.shares.cancel), order)

    def _charge(self, shop: ShopState, order: dict) -> None:
        plan = order["_payment"]
        payment_id = charge(self.payments, order, metadata={
            "shop": shop.domain, "shopify_order_id": order["id"], "shopify_order_name": order["name"]})
        order["_transactions"].append({
            "__typename": "OrderTransaction", "id": gid("OrderTransaction", 8_800_000_000_000 + shop.index * 10**9
                                                        + order["_seq"]),
            "gateway": getattr(self.payments, "name", "stripe"), "authorizationCode": payment_id, "kind": "SALE",
            "status": TRANSACTION_STATUS[plan["outcome"]], "amountSet": money(plan["amount_cents"] / 100),
            "createdAt": order["createdAt"], "processedAt": order["createdAt"]})

    def _request_returns(self, shop: ShopState, now: datetime) -> None:
        """Decide returns for parcels delivered by now; open those whose moment has come. Deliveries
        and due returns change only when the clock moves, so one look per simulated moment."""
        if self._returns_seen.get(shop.domain) == now:
            return
        self._returns_seen[shop.domain] = now
        for order_id, order in list(shop.awaiting_delivery.items()):
            numbers = [t["number"] for t in order["_fulfillments"][0]["_tracking"] if t["number"]]
            delivered = self.deliveries(numbers[0]) if numbers else None
            if delivered is None or utc(delivered) > now:
                continue
            del shop.awaiting_delivery[order_id]
            plan = return_plan(np.random.default_rng([self.seed, shop.index, order["_seq"], 7]), order, self.shares)
            if plan:
                shop.scheduled_returns.append((utc(delivered) + plan["delay"], order, plan))
        due = [entry for entry in shop.scheduled_returns if entry[0] <= now]
        shop.scheduled_returns = [entry for entry in shop.scheduled_returns if entry[0] > now]
        for at, order, plan in sorted(due, key=lambda entry: entry[0]):
            ret = make_return(order, plan, at=ceil_second(at))
            order["_returns"].append(ret)
            order["updatedAt"] = max(order["updatedAt"], ret["createdAt"])
            shop.objects[ret["id"]] = (ret, order)
            if refunded_in_store(seed=self.seed, shop_index=shop.index, seq=order["_seq"],
                                 share=self.shares.store_refund):
                refund_return(shop, order, ret, at=ret["createdAt"], gateway=getattr(self.payments, "name", "stripe"))

    # --- HTTP ------------------------------------------------------------------------------

    def _serve(self, environ, start_response):
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request: Request) -> Response:
        bulk_file = BULK_FILE.match(request.path)
        if bulk_file and bulk_file["shop"] in self.shops and request.method == "GET":
            with self._files_lock:
                return download(self.shops[bulk_file["shop"]], bulk_file["number"], request, self.bulk)
        match = PATH.match(request.path)
        if not match or match["shop"] not in self.shops:
            return _json({"errors": "Not Found"}, 404)
        if request.method != "POST":
            return _json({"errors": "Method Not Allowed"}, 405)
        if request.headers.get("X-Shopify-Access-Token") != self.access_token:
            return _json({"errors": INVALID_TOKEN}, 401)
        if request.mimetype == "application/graphql":
            payload = {"query": request.get_data(as_text=True)}
        else:
            payload = _json_body(request)
        if not isinstance(payload.get("query"), str):
            return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400)
        body = self._graphql(self.shops[match["shop"]], payload, base_url=request.host_url)
        return _json(body, 200, **{"X-Shopify-API-Version": match["version"]})

    def _graphql(self, shop: ShopState, payload: dict, *, base_url: str) -> dict:
        variables, operation = payload.get("variables") or {}, payload.get("operationName")
        document, errors = checked_document(payload["query"])
        if errors:
            return {"errors": errors}
        requested = requested_cost(document, operation, variables)
        refused = self._over_budget(shop, requested)
        if refused:
            return refused
        with self._lock:
            now = utc(self.clock.now())
            self._caught_up(shop.domain, now)
            result = execute(admin_schema(), document, variable_values=variables, operation_name=operation,
                             context_value={"shop": shop, "now": now, "bulk": self.bulk, "base_url": base_url},
                             field_resolver=_by_name, is_awaitable=_never)
        actual = actual_cost(result.data, requested)
        shop.bucket.refund(requested - actual)
        body: dict = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        body["extensions"] = cost_extension(requested, actual, shop.bucket)
        return body

    @staticmethod
    def _over_budget(shop: ShopState, requested: int) -> dict | None:
        """Shopify's answer when a query costs too much, alone or for what the bucket holds now."""
        if requested > SINGLE_QUERY_MAX_COST:
            message = (f"Query cost is {requested}, which exceeds the single query max cost limit "
                       f"({SINGLE_QUERY_MAX_COST}).")
            return {"errors": [{"message": message, "extensions": {
                "code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": SINGLE_QUERY_MAX_COST,
                "documentation": RATE_DOCS}}], "extensions": cost_extension(requested, None, shop.bucket)}
        if not shop.bucket.take(requested):
            throttled = {"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": RATE_DOCS}}
            return {"errors": [throttled], "extensions": cost_extension(requested, None, shop.bucket)}
        return None
