"""WooCommerce storefront through the WooCommerce REST API v3 (`wc/v3` on the WordPress REST API).

    {api_base}/wp-json/wc/v3/...      api_base is the site root, e.g. https://shop.example.com

Auth: the REST API key as HTTP Basic credentials over HTTPS, the documented way; `auth="query"`
sends consumer_key/consumer_secret as query parameters, for servers (PHP as CGI) that drop the
Authorization header. Plain HTTP would need OAuth 1.0a signatures, which this client does not make.

Orders: `GET /orders?modified_after&modified_before&dates_are_gmt=true&orderby=modified&order=asc`.
WordPress compares those dates strictly at whole seconds: we ask from a second before `since`
and keep [since, until). It pages by offset, and an order changed while we read leaves the
window and shifts the later ones up a place (page=2,3… would skip one), so we page by seeking:
orders modified after the newest one read, `exclude`-ing the ids read at that second, until
`X-WP-TotalPages` says nothing remains. Line items carry no weight: products are read 100 at a
time (`GET /products?include=`) in the store's unit (`/settings/products/woocommerce_weight_unit`).

Fulfillment (core WooCommerce has none): the tracking goes where the official Shipment Tracking
extension keeps it, through its endpoint (`POST /wp-json/wc-shipment-tracking/v3/orders/{id}/
shipment-trackings`) when installed, else into its `_wc_shipment_tracking_items` order meta;
then the order is set `completed` (its email shows the tracking) and a customer note added.
No idempotency keys exist: each step looks before it writes, a lost POST is looked for first.

Returns (core WooCommerce has none): returns plugins move the order to a custom status
(`return_status`, default `return-requested`); each such order modified in the window is one
ReturnRequest with all its lines, reason from its `_return_reason` meta, else OTHER.
Rate limits: hosts and the Store API limiter send RateLimit-Remaining/-Reset: at 0 we wait for
the reset. ApiClient retries 429/5xx honouring Retry-After."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.errors import PermanentApiError, TransientApiError
from connectors.http import ApiClient
from connectors.storefronts.one_by_one import PushOneByOne
from connectors.storefronts import woocommerce_parse as wc
from connectors.storefronts.woocommerce_parse import verify_woocommerce_webhook, woocommerce_webhook_signature
from domain.records import ChannelOrder, FulfillmentPush, Malformed, ReturnRequest

__all__ = ["WooCommerceStorefront", "verify_woocommerce_webhook", "woocommerce_webhook_signature"]
log = logging.getLogger(__name__)
VENDOR = "woocommerce"
API, TRACKING = "wp-json/wc/v3", "wp-json/wc-shipment-tracking/v3"
PAGE_SIZE = 100                                    # the REST API's maximum per_page
CLOSED = ("cancelled", "refunded", "failed", "trash", "checkout-draft")
TO_COMPLETE = ("pending", "processing", "on-hold")   # a plugin's own status (returns...) is left alone
MAX_RATE_WAIT = 120.0                              # a skewed clock must not park us for hours


# Pushes go one order at a time: `POST /orders/batch` could carry statuses and meta, but the
# Shipment Tracking extension's endpoint and the customer note are per order anyway.
class WooCommerceStorefront(PushOneByOne):
    def __init__(self, *, channel: str, api_base: str, consumer_key: str, consumer_secret: str, timeout: float = 20,
                 max_retries: int = 4, sleep: Callable[[float], None] = time.sleep, auth: str = "basic",
                 return_status: str = "return-requested", shipping_methods: Mapping[str, str] | None = None,
                 wall_clock: Callable[[], float] = time.time):
        if auth not in ("basic", "query"):
            raise ValueError("auth must be 'basic' (HTTP Basic, the default) or 'query' (keys as query parameters)")
        self.channel, self.return_status, self.max_retries = channel, return_status, max_retries
        self.shipping_methods = {**wc.DEFAULT_SHIPPING_METHODS, **(shipping_methods or {})}
        self._auth, self._sleep, self._clock = auth, sleep, wall_clock
        self._query_auth = {"consumer_key": consumer_key, "consumer_secret": consumer_secret} if auth == "query" else {}
        options = {"timeout": timeout, "error_message": self._error_message, "sleep": sleep,
                   "headers": {"Accept": "application/json"}}
        self._http = ApiClient(VENDOR, api_base, auth=(consumer_key, consumer_secret) if auth == "basic" else None,
                               max_retries=max_retries, **options)
        self._once = ApiClient(VENDOR, api_base, max_retries=0, **options)   # POSTs we must not repeat blindly
        self._once.session.close()
        self._once.session = self._http.session                           # same auth, hooks and pool
        self._http.session.hooks["response"].append(self._note_rate_limit)
        self.rate_limit_waits: list[float] = []            # seconds waited for RateLimit-Reset (tests, bench)
        self._resume_at, self._extension = 0.0, None
        self._weights: dict[int, float | None] = {}
        self._kg_per_unit: float | None = None
        host = urlsplit(api_base).hostname or ""
        if api_base.startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
            log.warning("%s: %s is plain HTTP; WooCommerce accepts API keys only over HTTPS", channel, host)

    @property
    def session(self) -> requests.Session:
        return self._http.session

    # --- the Storefront protocol ---------------------------------------------------------

    def pull_orders(self, *, since: datetime, until: datetime) -> Iterator[list[ChannelOrder | Malformed]]:
        self._weights, self._kg_per_unit = {}, None      # products can change between runs, not within one
        for number, orders in enumerate(self._modified_orders(since, until, status="any"), start=1):
            weights = self._product_weights(orders)
            records = [wc.parse_order(self.channel, o, weights=weights, shipping_methods=self.shipping_methods,
                                      return_status=self.return_status) for o in orders]
            log.info("%s: page %d, %d orders (%d unreadable)", self.channel, number, len(records),
                     sum(isinstance(r, Malformed) for r in records))
            yield records

    def pull_return_requests(self, *, since: datetime, until: datetime) -> Iterator[list[ReturnRequest | Malformed]]:
        for orders in self._modified_orders(since, until, status=self.return_status):
            log.info("%s: %d orders in status %s", self.channel, len(orders), self.return_status)
            yield [wc.parse_return_request(self.channel, o) for o in orders]

    def push_fulfillment(self, *, order_external_id: str, tracking_number: str, carrier_name: str,
                         tracking_url: str) -> FulfillmentPush:
        """Tracking, then `completed`, then the customer note; each only if not there yet."""
        if not str(order_external_id).isdigit():
            raise PermanentApiError(VENDOR, f"{order_external_id!r} is not a WooCommerce order id")
        oid = int(order_external_id)
        order = self._order(oid)
        if order.get("status") in CLOSED:
            raise PermanentApiError(VENDOR, f"order {oid} is {order['status']}: not marking it shipped")
        item, status, wrote = wc.find_tracking(wc.tracking_items(order), tracking_number), order.get("status"), False
        if item is None:
            shipped = datetime.fromtimestamp(self._clock(), timezone.utc).date()
            item = wc.tracking_item(carrier_name=carrier_name, tracking_number=tracking_number,
                                    tracking_url=tracking_url, shipped=shipped)
            item, status, wrote = (*self._add_tracking(oid, order, item), True)
        if status in TO_COMPLETE:
            self._json("PUT", f"{API}/orders/{oid}", body={"status": "completed"})
            wrote = True
        if not self._customer_note_about(oid, tracking_number):
            note = wc.shipped_note(carrier_name=carrier_name, tracking_number=tracking_number,
                                   tracking_url=tracking_url)
            self._post_once(f"{API}/orders/{oid}/notes", {"note": note, "customer_note": True},
                            look=lambda: self._customer_note_about(oid, tracking_number))
            wrote = True
        return FulfillmentPush(external_fulfillment_id=str(item.get("tracking_id") or tracking_number),
                               already_existed=not wrote)

    def check(self) -> str:
        _, headers = self._json("GET", f"{API}/orders", params={"per_page": 1})
        unit, extension = self._weight_unit(), self._tracking_extension()
        where = "Shipment Tracking extension installed" if extension else \
            "no Shipment Tracking extension (tracking goes to order meta)"
        return (f"WooCommerce store at {self._http.base_url}: {int(headers.get('X-WP-Total') or 0):,} orders, "
                f"weights in {unit}, {where}")

    def close(self) -> None:
        self._http.close()

    # --- reading ---------------------------------------------------------------------------

    def _modified_orders(self, since: datetime, until: datetime, *, status: str) -> Iterator[list[dict]]:
        """Orders modified in [since, until), oldest change first, paged by seeking (see above)."""
        since, until = wc.utc(since), wc.utc(until)
        params = {"status": status, "dates_are_gmt": "true", "orderby": "modified", "order": "asc",
                  "per_page": PAGE_SIZE, "modified_before": wc.wp_time(wc.ceil_second(until))}
        after, excluded, seen = since.replace(microsecond=0) - timedelta(seconds=1), set(), set()
        while True:
            query = {**params, "modified_after": wc.wp_time(after)}
            if excluded:
                query["exclude"] = ",".join(map(str, sorted(excluded)))
            page, headers = self._json("GET", f"{API}/orders", params=query)
            if not isinstance(page, list):
                raise PermanentApiError(VENDOR, f"GET orders answered {type(page).__name__}, not a list of orders")
            page = [o for o in page if isinstance(o, dict)]
            fresh = {(o.get("id"), wc.stamp(o)): o for o in page}
            fresh = {k: o for k, o in fresh.items() if k not in seen and (k[1] is None or since <= k[1] < until)}
            seen.update(fresh)
            if fresh:
                yield [fresh[k] for k in sorted(fresh, key=lambda k: (k[1] or since, str(k[0])))]
            pages = headers.get("X-WP-TotalPages")
            if not (int(pages) > 1 if pages and pages.isdigit() else len(page) >= PAGE_SIZE):
                return
            following = wc.next_seek(page, after, excluded)
            if following is None:
                raise TransientApiError(VENDOR, "paging orders made no progress (unreadable dates, or the store "
                                                "ignored `exclude`); the next run will retry")
            after, excluded = following

    def _product_weights(self, orders: list[dict]) -> dict[int, float | None]:
        ids = {str(li.get("product_id")) for o in orders for li in o.get("line_items") or [] if isinstance(li, dict)}
        wanted = sorted({int(i) for i in ids if i.isdigit()} - {0} - set(self._weights))
        if wanted and self._kg_per_unit is None:
            self._kg_per_unit = wc.KG_PER_UNIT[self._weight_unit()]
        for start in range(0, len(wanted), PAGE_SIZE):
            batch = wanted[start:start + PAGE_SIZE]
            products, _ = self._json("GET", f"{API}/products", params={"include": ",".join(map(str, batch)),
                                                                       "per_page": PAGE_SIZE})
            for product in products if isinstance(products, list) else []:
                self._weights[int(product["id"])] = wc.product_weight_kg(product, self._kg_per_unit)
            for product_id in batch:
                self._weights.setdefault(product_id, None)        # deleted since the order: no weight
        return self._weights

    def _weight_unit(self) -> str:
        setting, _ = self._json("GET", f"{API}/settings/products/woocommerce_weight_unit")
        unit = str((setting or {}).get("value") or "kg")
        if unit not in wc.KG_PER_UNIT:
            raise PermanentApiError(VENDOR, f"the store weighs products in {unit!r}; known units: "
                                            f"{', '.join(wc.KG_PER_UNIT)}")
        return unit

    def _order(self, oid: int) -> dict:
        return self._json("GET", f"{API}/orders/{oid}")[0]

    # --- writing ---------------------------------------------------------------------------

    def _tracking_extension(self) -> bool:
        """Whether the Shipment Tracking extension answers (its providers route is public)."""
        if self._extension is None:
            try:
                self._json("GET", f"{TRACKING}/shipment-trackings/providers")
                self._extension = True
            except PermanentApiError as exc:
                if exc.status != 404:
                    raise
                self._extension = False
        return self._extension

    def _add_tracking(self, oid: int, order: dict, item: dict) -> tuple[dict, str]:
        """(the tracking item as stored, the order's status afterwards)."""
        def look() -> dict | None:
            return wc.find_tracking(wc.tracking_items(self._order(oid)), item["tracking_number"])

        if self._tracking_extension():
            body = {k: item[k] for k in ("custom_tracking_provider", "custom_tracking_link", "tracking_number")}
            body["date_shipped"] = datetime.fromtimestamp(int(item["date_shipped"]), timezone.utc).strftime("%Y-%m-%d")
            return self._post_once(f"{TRACKING}/orders/{oid}/shipment-trackings", body, look=look), order["status"]
        # Without the extension: its meta (and the status) in one PUT, idempotent: the same value again.
        body: dict = {"meta_data": [{"key": wc.TRACKING_META, "value": wc.tracking_items(order) + [item]}]}
        if order["status"] in TO_COMPLETE:
            body["status"] = "completed"
        updated, _ = self._json("PUT", f"{API}/orders/{oid}", body=body)
        return item, updated.get("status", "completed")

    def _customer_note_about(self, oid: int, tracking_number: str) -> bool:
        notes, _ = self._json("GET", f"{API}/orders/{oid}/notes", params={"type": "customer"})
        return any(tracking_number in str(n.get("note", "")) for n in notes if isinstance(n, dict))

    def _post_once(self, path: str, body: dict, *, look: Callable[[], Any]) -> Any:
        """Send a POST once; after a failure, look whether it landed before sending it again."""
        for attempt in range(self.max_retries + 1):
            try:
                return self._json("POST", path, body=body, client=self._once)[0]
            except TransientApiError:
                self._sleep(min(30.0, 0.5 * 2 ** attempt))
                found = look()
                if found:
                    return found
        raise TransientApiError(VENDOR, f"POST {path} got no answer {self.max_retries + 1} times and created "
                                        "nothing; the next run will retry")

    # --- transport ---------------------------------------------------------------------------

    def _call(self, client: ApiClient, method: str, path: str, **kwargs: Any) -> requests.Response:
        wait = min(self._resume_at - self._clock(), MAX_RATE_WAIT)
        if wait > 0:
            self.rate_limit_waits.append(wait)
            self._sleep(wait)
        if self._query_auth:
            kwargs["params"] = {**(kwargs.get("params") or {}), **self._query_auth}
        return client.request(method, path, **kwargs)

    def _json(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
              client: ApiClient | None = None) -> tuple[Any, Mapping[str, str]]:
        """Body and headers. A GET cut short is read again; any other unreadable answer is transient."""
        for _ in range(self.max_retries + 1 if method == "GET" else 1):
            response = self._call(client or self._http, method, path, params=params, json=body)
            try:
                return response.json(), response.headers
            except ValueError:
                self._http.retries += 1
        raise TransientApiError(VENDOR, f"{method} {path}: unreadable answer ({len(response.content)} bytes, "
                                        "truncated?); the next run will retry")

    def _note_rate_limit(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        reset = response.headers.get("RateLimit-Reset", "")
        if response.headers.get("RateLimit-Remaining", "").strip() == "0" and reset.strip().isdigit():
            self._resume_at = max(self._resume_at, float(reset))
        return response

    def _error_message(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            body = None
        return wc.describe_error(body, status=response.status_code, basic_auth=self._auth == "basic",
                                 fallback=" ".join(response.text.split())[:200] or response.reason)
