"""A local simulator of WooCommerce shops behind the REST API v3, one WSGI app serving every
world channel of kind `woocommerce` under /{shop_domain}:

    GET      /{shop}/wp-json/wc/v3/orders              paged by page/offset, modified_after/before, dates_are_gmt,
                                                       status, include/exclude; X-WP-Total(Pages), Link prev/next
    GET|PUT  /{shop}/wp-json/wc/v3/orders/{id}         GET|POST .../orders/{id}/notes
    GET      /{shop}/wp-json/wc/v3/products?include=   GET .../settings/products/woocommerce_weight_unit
    GET|POST /{shop}/wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings, GET .../providers:
             the official Shipment Tracking extension (`shipment_tracking=False`: 404 rest_no_route)

Auth as WC_REST_Authentication over HTTPS (see woocommerce_access; the sandbox listens on plain
HTTP but behaves as a site behind a TLS proxy). Orders arrive over simulated time, get paid at
the payment sandbox, settle, are completed with tracking, and after delivery some customers ask
for a return, recorded by moving the order to `return_status` (woocommerce_shop); a few customers
cancel within hours (`cancel_share`) and the merchant refunds some return requests in the store
(`store_refund_share`). Like WooCommerce, the API itself refuses no status change: a cancelled
order is not shipped because the client checks its status first. Dates are kept
in `site_timezone` and GMT, products weighed in `weight_unit`.

Faults: `faults` (429, 5xx, truncated bodies, in WordPress's envelopes), `duplicate_share` (a
stale page cache serves the previous row again), `shuffle_share` (rows out of order),
`rate_limit` per `rate_window` seconds (RateLimit-* headers, 429 beyond), `strip_authorization`
(PHP as CGI dropping the Authorization header), `key_permissions="read"` (a read-only key)."""
from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from config.world import World
from connectors.sandbox import woocommerce_api as api
from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults, with_faults
from connectors.sandbox.shopify import PaymentIssuer
from connectors.sandbox.shopify_orders import Shares, factory_for
from connectors.sandbox.woocommerce_access import ApiKey, RateLimiter, fault_body, refuse_anonymous
from connectors.sandbox.woocommerce_orders import (
    CORE_STATUSES, WEIGHT_PER_KG, SimOrder, order_snapshot, render_order, render_product, utc,
)
from connectors.sandbox.woocommerce_shop import ShopState, Simulation, meta_ids

ROUTES = Map([
    Rule("/<shop>/wp-json/wc/v3/orders", endpoint="orders", methods=["GET"]),
    Rule("/<shop>/wp-json/wc/v3/orders/<int:oid>", endpoint="order", methods=["GET", "POST", "PUT", "PATCH"]),
    Rule("/<shop>/wp-json/wc/v3/orders/<int:oid>/notes", endpoint="notes", methods=["GET", "POST"]),
    Rule("/<shop>/wp-json/wc/v3/products", endpoint="products", methods=["GET"]),
    Rule("/<shop>/wp-json/wc/v3/settings/<group>/<setting>", endpoint="setting", methods=["GET"]),
    Rule("/<shop>/wp-json/wc-shipment-tracking/v3/orders/<int:oid>/shipment-trackings", endpoint="trackings",
         methods=["GET", "POST"]),
    Rule("/<shop>/wp-json/wc-shipment-tracking/v3/shipment-trackings/providers", endpoint="providers",
         methods=["GET"]),
])


class WooCommerceSandbox:
    def __init__(
        self, *, clock: SimClock, world: World, seed: int, start: datetime, orders_per_day: float,
        payments: PaymentIssuer, deliveries: Callable[[str], datetime | None],
        malformed_share: float = 0.01, return_share: float = 0.15, damaged_share: float = 0.35,
        mismatch_share: float = 0.02, pending_share: float = 0.08, failed_share: float = 0.04,
        cancel_share: float = 0.02, store_refund_share: float = 0.2,
        consumer_key: str = "ck_sandbox", consumer_secret: str = "cs_sandbox", key_permissions: str = "read_write",
        strip_authorization: bool = False, shipment_tracking: bool = True, return_status: str = "return-requested",
        weight_unit: str = "kg", site_timezone: str = "America/New_York", faults: Faults | None = None,
        duplicate_share: float = 0.0, shuffle_share: float = 0.0, rate_limit: int | None = None,
        rate_window: float = 10.0, monotonic: Callable[[], float] = time.monotonic,
    ):
        if weight_unit not in WEIGHT_PER_KG:
            raise ValueError(f"weight_unit must be one of {', '.join(WEIGHT_PER_KG)}")
        self.clock, self.world, self.orders_per_day = clock, world, orders_per_day
        shares = Shares(malformed_share, return_share, damaged_share, mismatch_share, pending_share, failed_share,
                        cancel_share, store_refund_share)
        self.sim = Simulation(seed=seed, start=utc(start), shares=shares, payments=payments, deliveries=deliveries,
                              return_status=return_status,
                              factory=factory_for(world, shares=shares, orders_per_day=orders_per_day))
        self.api_key = ApiKey(consumer_key, consumer_secret, key_permissions, strip_authorization)
        self.limiter = RateLimiter(rate_limit, rate_window, monotonic)
        self.shipment_tracking, self.return_status = shipment_tracking, return_status
        self.weight_unit, self.tz, self.statuses = weight_unit, ZoneInfo(site_timezone), (*CORE_STATUSES, return_status)
        self.duplicate_share, self.shuffle_share = duplicate_share, shuffle_share
        self.injected = {"stale_rows": 0, "shuffled_pages": 0}     # list-endpoint faults served (tests)
        self.shops: dict[str, ShopState] = {}
        for channel in world.channels:
            if channel.kind == "woocommerce" and channel.shop_domain not in self.shops:
                self.shops[channel.shop_domain] = ShopState(channel.shop_domain, len(self.shops))
        self.faults = faults or Faults(seed=seed)
        self._rng = random.Random(seed)                  # duplicate and shuffled pages
        self._lock = threading.RLock()
        self.wsgi_app = with_faults(self._serve, self.faults, error_body=fault_body)

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    # --- ground truth for tests (no HTTP) --------------------------------------------------

    def orders_as_of(self, shop_domain: str, moment: datetime) -> list[dict]:
        """Every order placed at or before `moment`, in its current state."""
        with self._lock:
            shop = self._caught_up(shop_domain, utc(moment))
            return [order_snapshot(o, return_status=self.return_status) for o in shop.orders
                    if o.created <= utc(moment)]

    def returns_as_of(self, shop_domain: str, moment: datetime) -> list[dict]:
        """Orders whose customer had asked for a return by `moment`, with every line."""
        return [{"order_id": o["id"], "requested_at": o["return"]["at"], "reason": o["return"]["reason"],
                 "lines": o["lines"]} for o in self.orders_as_of(shop_domain, moment)
                if o["return"] and o["return"]["at"] <= utc(moment)]

    def _caught_up(self, shop_domain: str, moment: datetime) -> ShopState:
        shop = self.shops[shop_domain]
        shop.catch_up(self.sim, through=moment, now=utc(self.clock.now()))
        return shop

    # --- HTTP ------------------------------------------------------------------------------

    def _serve(self, environ, start_response):
        request, headers = Request(environ), []
        try:
            headers = self.limiter.admit()
            user = self.api_key.user(request)
            endpoint, args = ROUTES.bind_to_environ(environ).match()
            shop = self.shops.get(args.pop("shop"))
            if shop is None or (endpoint in ("trackings", "providers") and not self.shipment_tracking):
                raise api.not_found()
            if user is None and endpoint != "providers":
                raise refuse_anonymous(endpoint, request.method)
            with self._lock:
                now = utc(self.clock.now())
                self._caught_up(shop.domain, now)
                base = f"{request.host_url.rstrip('/')}/{shop.domain}"
                status, body, extra = getattr(self, f"_{endpoint}")(request, shop, now, base, **args)
            headers += extra
        except HTTPException:
            status, body = 404, api.not_found().body
        except api.WooError as error:
            status, body, headers = error.status, error.body, headers + list(error.headers.items())
        response = Response(json.dumps(body), status=status, content_type="application/json; charset=UTF-8")
        for name, value in headers:
            response.headers.add(name, value)
        return response(environ, start_response)

    @staticmethod
    def _visible(shop: ShopState, oid: int, now: datetime, *, status: int = 404) -> SimOrder:
        order = shop.visible(oid, now)
        if order is None:
            raise api.WooError(status, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return order

    def _orders(self, request, shop, now, base):
        visible = [o for o in shop.orders if o.created <= now]
        found = api.query_orders(visible, request.args, statuses=self.statuses, tz=self.tz)
        start, page, headers = api.page_of(found, request.args, url=f"{base}/wp-json/wc/v3/orders")
        if page and self._rng.random() < self.duplicate_share:
            page = [api.stale_row(visible, found, start, request.args)] + page
            self.injected["stale_rows"] += page[0] is not None
        if len(page) > 1 and self._rng.random() < self.shuffle_share:
            page = self._rng.sample(page, len(page))
            self.injected["shuffled_pages"] += 1
        return 200, [render_order(o, base=base, tz=self.tz) for o in page if o is not None], headers

    def _order(self, request, shop, now, base, oid):
        if request.method == "GET":
            return 200, render_order(self._visible(shop, oid, now), base=base, tz=self.tz), []
        order = self._visible(shop, oid, now, status=400)
        api.update_order(order, request.get_json(silent=True), statuses=self.statuses, now=now,
                         next_meta_id=meta_ids(order))
        shop.await_delivery(order)
        return 200, render_order(order, base=base, tz=self.tz), []

    def _notes(self, request, shop, now, base, oid):
        order = self._visible(shop, oid, now)
        if request.method == "POST":
            note = api.add_note(order, request.get_json(silent=True), now=now, note_id=shop.next_note)
            shop.next_note += 1
            return 201, api.render_note(order, note, base=base, tz=self.tz), []
        kind = api.enum_arg(request.args, "type", "any", ("any", "customer", "internal"))
        notes = [n for n in reversed(order.notes) if kind == "any" or n["customer_note"] == (kind == "customer")]
        return 200, [api.render_note(order, n, base=base, tz=self.tz) for n in notes], []

    def _products(self, request, shop, now, base):
        rows, include = self.sim.factory().catalog, api.id_list(request.args, "include")
        created = self.sim.start - timedelta(days=90)
        products = [render_product(r, i, unit=self.weight_unit, base=base, created=created, tz=self.tz)
                    for i, r in enumerate(rows)]
        products = [p for p in products if not include or p["id"] in include]
        _, page, headers = api.page_of(products, request.args, url=f"{base}/wp-json/wc/v3/products")
        return 200, page, headers

    def _setting(self, request, shop, now, base, group, setting):
        return 200, api.setting_option(group, setting, value=self.weight_unit, base=base), []

    def _trackings(self, request, shop, now, base, oid):
        order = self._visible(shop, oid, now)
        if request.method == "POST":
            item = api.add_tracking(order, request.get_json(silent=True), now=now, next_meta_id=meta_ids(order))
            shop.await_delivery(order)
            return 201, api.render_tracking(order, item, base=base), []
        return 200, [api.render_tracking(order, item, base=base) for item in order.tracking_items()], []

    def _providers(self, request, shop, now, base):
        return 200, api.PROVIDERS, []
