"""A local simulator of the world's Tiendanube / Nuvemshop stores behind the REST API v1, as one
WSGI app (routes and envelopes in sandbox.tiendanube_http):

    GET  /{shop_domain}/store                 GET /{shop_domain}/orders[/{id}]
    POST /{shop_domain}/orders/{id}/fulfill   GET /{shop_domain}/metafields/orders

Orders arrive over simulated time (the shared OrderFactory, per store and day from the seed),
each paid at the payment sandbox (`gateway`/`gateway_id`); processing payments turn `paid` when
they settle; `fulfill` ships them; after the carrier delivers, some customers ask for a return,
which the store's returns app records as an order metafield (Tiendanube has no returns API).
A few customers cancel within hours, before the order ships (`cancel_share`: status cancelled,
`cancelled_at`, and `fulfill` answers 422), and the merchant refunds some return requests in the
store as they arrive (`store_refund_share`: a refund event on the order's payment transaction,
`GET /orders/{id}/transactions`; tiendanube_payments).
Every answer carries the leaky-bucket headers (40 requests, 2/s); `faults` adds 429/5xx/truncated
bodies, `duplicate_share` re-serves a record across page boundaries as offset paging does when
orders arrive mid-read, `shuffle_share` answers a page out of order."""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import date, datetime

import numpy as np
from werkzeug.wrappers import Request

from config.world import World
from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults, with_faults
from connectors.sandbox.shopify import PaymentIssuer
from connectors.sandbox.shopify_cost import LeakyBucket
from connectors.sandbox.shopify_orders import Shares, charge, factory_for, orders_through, return_plan, utc
from connectors.sandbox.tiendanube_http import TiendanubeApi, error_body
from connectors.sandbox.store_events import Timeline, cancel_at, refunded_in_store
from connectors.sandbox.tiendanube_orders import (
    StoreState, order_snapshot, render_order, return_snapshot, stamp, touch,
)
from connectors.sandbox.tiendanube_payments import cancel, refund

SANDBOX_ACCESS_TOKEN = "tn_sandbox"     # = config.settings default, so the demo runs unconfigured
DAY_SALT = 31                           # other orders than a Shopify shop at the same index and seed


class TiendanubeSandbox:
    def __init__(
        self, *, clock: SimClock, world: World, seed: int, start: datetime, orders_per_day: float,
        payments: PaymentIssuer, deliveries: Callable[[str], datetime | None],
        malformed_share: float = 0.01, return_share: float = 0.15, damaged_share: float = 0.35,
        mismatch_share: float = 0.02, pending_share: float = 0.08, failed_share: float = 0.04,
        cancel_share: float = 0.02, store_refund_share: float = 0.2,
        access_token: str = SANDBOX_ACCESS_TOKEN, faults: Faults | None = None,
        bucket_size: float = 40.0, drain_per_second: float = 2.0, duplicate_share: float = 0.0,
        shuffle_share: float = 0.0, max_results: int = 10_000, monotonic: Callable[[], float] = time.monotonic,
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
        self.stores: dict[str, StoreState] = {}
        self._cancels: dict[str, Timeline] = {}         # store -> customers' cancellations to come
        for channel in (c for c in world.channels if c.kind == "tiendanube"):
            if channel.shop_domain not in self.stores:
                bucket = LeakyBucket(size=bucket_size, restore_rate=drain_per_second, monotonic=monotonic)
                self.stores[channel.shop_domain] = StoreState(domain=channel.shop_domain, index=len(self.stores),
                                                              bucket=bucket)
                self._cancels[channel.shop_domain] = Timeline()
        self._lock = threading.RLock()
        self._orders_factory = factory_for(world, shares=self.shares, orders_per_day=orders_per_day)
        self.api = TiendanubeApi(self, duplicate_share=duplicate_share, shuffle_share=shuffle_share,
                                 max_results=max_results, rng=random.Random(seed))
        self.wsgi_app = with_faults(self._serve, self.faults, error_body=error_body)

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    # --- ground truth for tests (no HTTP) --------------------------------------------------

    def orders_as_of(self, shop_domain: str, moment: datetime) -> list[dict]:
        """Every order placed at or before `moment`, in its current state."""
        with self._lock:
            store = self.caught_up(shop_domain)
            self._generate_through(store, utc(moment).date())
            return [order_snapshot(o) for o in store.orders if o["_created"] <= utc(moment)]

    def fulfillments(self, shop_domain: str) -> list[dict]:
        with self._lock:
            return [dict(f) for f in self.stores[shop_domain].fulfillment_log]

    def returns_as_of(self, shop_domain: str, moment: datetime) -> list[dict]:
        """Return requests recorded by `moment` (they appear as simulated time passes)."""
        with self._lock:
            store = self.caught_up(shop_domain)
            return [return_snapshot(m) for m in store.metafields if m["_at"] <= utc(moment)]

    # --- the simulation --------------------------------------------------------------------

    def caught_up(self, shop_domain: str) -> StoreState:
        """The store as of the clock's now: orders generated, payments settled, returns asked."""
        store, now = self.stores[shop_domain], utc(self.clock.now())
        self._generate_through(store, now.date())
        for at, order in self._cancels[shop_domain].due(now):
            cancel(order, at=at)                    # unless it shipped first
        self._settle_payments(store, now)
        self._request_returns(store, now)
        return store

    def _generate_through(self, store: StoreState, last_day: date) -> None:
        placed = orders_through(self._orders_factory(), store, last_day=last_day, seed=self.seed, start=self.start,
                                salt=DAY_SALT)
        for src in placed:
            store.add(self._charged(store, src))
            self._cancels[store.domain].add(cancel_at(seed=self.seed, shop_index=store.index, seq=src["_seq"],
                                                      placed_at=src["createdAt"], share=self.shares.cancel),
                                            store.orders[-1])

    def _charged(self, store: StoreState, src: dict) -> dict:
        payment_id = charge(self.payments, src, metadata={
            "store": store.domain, "tiendanube_order_number": str(100 + src["_seq"])})
        return render_order(src, store=store, gateway=getattr(self.payments, "name", "stripe"), payment_id=payment_id)

    @staticmethod
    def _settle_payments(store: StoreState, now: datetime) -> None:
        for order in store.orders:
            settle_at = order["_settle_at"]
            cancelled_first = order["_cancelled"] is not None and order["_cancelled"] < (settle_at or now)
            if order["_outcome"] == "processing" and order["payment_status"] == "pending" and settle_at <= now \
                    and not cancelled_first:
                order.update(payment_status="paid", paid_at=stamp(settle_at), next_action="waiting_packing")
                touch(order, settle_at)

    def _request_returns(self, store: StoreState, now: datetime) -> None:
        """Decide returns for parcels delivered by now; record those whose moment has come."""
        for order_id, order in list(store.awaiting_delivery.items()):
            delivered = self.deliveries(order["shipping_tracking_number"])
            if delivered is None or utc(delivered) > now:
                continue
            del store.awaiting_delivery[order_id]
            rng = np.random.default_rng([self.seed, store.index, order["_seq"], 7])
            plan = return_plan(rng, {"_fulfillments": [{"_lines": order["products"]}]}, self.shares)
            if plan:
                store.scheduled_returns.append((utc(delivered) + plan["delay"], order, plan))
        due = sorted((entry for entry in store.scheduled_returns if entry[0] <= now), key=lambda entry: entry[0])
        store.scheduled_returns = [entry for entry in store.scheduled_returns if entry[0] > now]
        for at, order, plan in due:
            metafield = store.record_return(order, plan, at=at)
            if refunded_in_store(seed=self.seed, shop_index=store.index, seq=order["_seq"],
                                 share=self.shares.store_refund):
                amount = sum(float(order["products"][i]["price"]) * qty for i, qty, _ in plan["lines"])
                refund(order, amount, at=at)
                metafield["_refunded"] = round(amount, 2)

    # --- HTTP ------------------------------------------------------------------------------

    def _serve(self, environ, start_response):
        with self._lock:
            response = self.api.handle(Request(environ))
        return response(environ, start_response)
