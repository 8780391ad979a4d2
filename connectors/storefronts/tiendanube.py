"""Tiendanube / Nuvemshop storefront through its REST API v1 (TiendaNube/api-docs README.md,
resources/order.md, resources/store.md; tiendanube.github.io/api-documentation).

    {api_base}/orders  with api_base https://api.tiendanube.com/v1/{store_id} (Brazil: api.nuvemshop.com.br)
    Authentication: bearer {token}  (sic)    User-Agent: {app} ({contact})  (mandatory: 400 without it)

Rate limit: a leaky bucket per (store, app), 40 requests draining at 2/s, reported in
x-rate-limit-limit / -remaining / -reset (ms until the bucket is empty): we pace ourselves before
it overflows, and wait one request's drain after a 429. Lists page with `page`/`per_page` (max
200) and a `Link` header, which we follow as the docs ask; x-total-count tells how many match.

Fulfilment uses v1's `POST /orders/{id}/fulfill`. API 2025-03 moves it to fulfillment orders
(`PATCH /orders/{id}/fulfillment-orders/{fo_id}`); v1 stays supported with no sunset date, and
Cumplido ships each order as one parcel, which is what v1 models. Return requests: Tiendanube has
none, see tiendanube_parse.RETURN_NAMESPACE for the metafield convention we read instead; what the
store already refunded for them is read from the order's payment transactions
(`GET /orders/{id}/transactions`), one request per order with return requests in the page."""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import requests

from connectors.errors import PermanentApiError, TransientApiError
from connectors.http import ApiClient
from connectors.storefronts.one_by_one import PushOneByOne
from connectors.storefronts import tiendanube_parse as tn
from domain.records import ChannelOrder, FulfillmentPush, Malformed, ReturnRequest

log = logging.getLogger(__name__)
VENDOR = "tiendanube"
DEFAULT_DRAIN_PER_SECOND = 2.0
BUCKET_RESERVE = 3          # slots we keep free: a paced client never meets a 429
MAX_RESULTS = 10_000        # GET /orders refuses to page past this many results of one query
ONE_SECOND = timedelta(seconds=1)
MAX_REREADS = 2             # a window re-read when orders left it while we were paging
USER_AGENT = re.compile(r"\S.*\(\s*\S+(@|://)\S+\s*\)")
STATUS_HINTS = {
    400: "request refused: Tiendanube needs a User-Agent naming the app and a contact "
         "(CUMPLIDO_TIENDANUBE_USER_AGENT, e.g. 'Cumplido (ops@example.com)')",
    401: "access token rejected: check CUMPLIDO_TIENDANUBE_ACCESS_TOKEN and that the app is still "
         "installed in the store (reinstalling issues a new token)",
    402: "the store's plan or the app's subscription is unpaid: the API answers again once it is paid",
    403: "access denied: the app lacks a scope it needs (read_orders, write_orders)",
    404: "not found: check the channel's api_base (…/v1/{store_id}) and the order id",
}


def tiendanube_error_message(response: requests.Response) -> str:
    try:
        return tn.error_message(response.json())
    except ValueError:
        return response.text[:300] or response.reason


# Pushes go one order at a time: v1 fulfils orders one by one (`POST /orders/{id}/fulfill`), and
# the 2 requests/s bucket paces them whatever we do.
class TiendanubeStorefront(PushOneByOne):
    def __init__(self, *, channel: str, api_base: str, access_token: str, user_agent: str,
                 timeout: float = 20, max_retries: int = 4, sleep: Callable[[float], None] = time.sleep,
                 max_results: int = MAX_RESULTS):
        if not USER_AGENT.fullmatch(user_agent or ""):
            raise ValueError("tiendanube: the User-Agent must name the app and a contact email or URL, "
                             "e.g. 'Cumplido (ops@example.com)' (CUMPLIDO_TIENDANUBE_USER_AGENT)")
        self.channel = channel
        self.max_retries = max_retries
        self.max_results = max_results
        self._sleep = sleep
        headers = {"Authentication": f"bearer {access_token}", "User-Agent": user_agent,
                   "Accept": "application/json"}
        self._http = ApiClient(VENDOR, api_base, headers=headers, timeout=timeout, max_retries=max_retries,
                               error_message=tiendanube_error_message, sleep=sleep)
        self._http.session.hooks["response"].append(self._read_bucket)
        self._once = ApiClient(VENDOR, api_base, timeout=timeout, max_retries=0,
                               error_message=tiendanube_error_message, sleep=sleep)
        self._once.session.close()
        self._once.session = self._http.session  # same headers and hooks, no automatic retry
        self.session = self._http.session       # tests attach contract checks to it
        self.throttle_waits: list[float] = []   # seconds we paced ourselves (tests, bench)

    # --- the Storefront protocol ---------------------------------------------------------

    def pull_orders(self, *, since: datetime, until: datetime) -> Iterator[list[ChannelOrder | Malformed]]:
        since, until = tn.aware(since), tn.aware(until)
        params = {"fields": tn.ORDER_FIELDS}
        for page, items in enumerate(self._window("orders", params, "updated_at", since, until), start=1):
            records = [tn.parse_order(self.channel, item) for item in items]
            # The date filters include both ends: keep [since, until) so windows never overlap.
            records = [r for r in records if isinstance(r, Malformed) or r.updated_at < until]
            log.info("%s: page %d, %d orders (%d unreadable)", self.channel, page, len(records),
                     sum(isinstance(r, Malformed) for r in records))
            yield records

    def pull_return_requests(self, *, since: datetime, until: datetime) -> Iterator[list[ReturnRequest | Malformed]]:
        since, until = tn.aware(since), tn.aware(until)
        params = {"namespace": tn.RETURN_NAMESPACE, "key": tn.RETURN_KEY}
        for items in self._window("metafields/orders", params, "updated_at", since, until):
            found = self._with_store_refunds([tn.parse_return(self.channel, item) for item in items])
            log.info("%s: %d return requests", self.channel, len(found))
            yield found

    def push_fulfillment(self, *, order_external_id: str, tracking_number: str, carrier_name: str,
                         tracking_url: str) -> FulfillmentPush:
        """Idempotent without an idempotency key (Tiendanube has none): read the order first, and
        again whenever the answer to our POST is lost. v1's fulfil takes no carrier name: the
        tracking URL tells the customer who carries the parcel."""
        pushed = FulfillmentPush(f"{order_external_id}:{tracking_number}", already_existed=False)
        body = {"shipping_tracking_number": tracking_number, "shipping_tracking_url": tracking_url,
                "notify_customer": True}
        for attempt in range(self.max_retries + 1):
            if self._already_shipped(order_external_id, tracking_number):
                return FulfillmentPush(pushed.external_fulfillment_id, already_existed=attempt == 0)
            try:
                if self._send_once("POST", f"orders/{order_external_id}/fulfill", json=body).get(
                        "shipping_tracking_number") == tracking_number:
                    return pushed
            except TransientApiError:
                self._sleep(min(30.0, 0.5 * 2 ** attempt))   # lost, or refused for now: look again
        if self._already_shipped(order_external_id, tracking_number):
            return pushed
        raise TransientApiError(VENDOR, f"fulfil of order {order_external_id} got no readable answer "
                                        f"after {self.max_retries + 1} attempts; the next run will retry")

    def check(self) -> str:
        _, store = self._read("store", params={"fields": "id,name,original_domain,main_language"})
        names = store.get("name") or {}
        name = names.get(store.get("main_language")) or next(iter(names.values()), "?")
        return f"Tiendanube store {name} (id {store['id']}, {store.get('original_domain')}), API v1"

    def _with_store_refunds(self, found: list[ReturnRequest | Malformed]) -> list[ReturnRequest | Malformed]:
        """Each request with what the store refunded since it was made (tn.return_refunds)."""
        by_order: dict[str, list[ReturnRequest]] = {}
        for request in found:
            if isinstance(request, ReturnRequest):
                by_order.setdefault(request.order_external_id, []).append(request)
        refunded: dict[str, float] = {}
        for order_id, asked in by_order.items():
            try:
                _, transactions = self._read(f"orders/{order_id}/transactions")
            except PermanentApiError as exc:
                if exc.status != 404:        # an order deleted since: nothing to refund anyway
                    raise
                transactions = []
            refunded.update(tn.return_refunds(asked, transactions))
        return [replace(r, refunded_amount=refunded[r.external_id]) if isinstance(r, ReturnRequest) else r
                for r in found]

    # --- fulfilment helpers --------------------------------------------------------------

    def _already_shipped(self, order_id: str, tracking_number: str) -> bool:
        _, order = self._read(f"orders/{order_id}", params={"fields": tn.FULFILLMENT_FIELDS})
        if order.get("status") == "cancelled":
            raise PermanentApiError(VENDOR, f"order {order_id} is cancelled in the store; nothing to fulfil")
        if order.get("shipping_status") not in tn.SHIPPED:
            return False
        if order.get("shipping_tracking_number") == tracking_number:
            return True
        raise PermanentApiError(VENDOR, f"order {order_id} was already fulfilled with another tracking number "
                                        f"({order.get('shipping_tracking_number')!r})")

    def _send_once(self, method: str, path: str, **kwargs: Any) -> dict:
        """A side effect goes out once per call: ApiClient repeats requests on a 5xx, which for
        /fulfill could mail the customer twice. The caller reads the order before trying again."""
        try:
            return self._call(method, path, client=self._once, **kwargs).json()
        except ValueError:
            raise TransientApiError(VENDOR, f"{method} {path}: unreadable answer") from None

    # --- paging --------------------------------------------------------------------------

    def _window(self, path: str, params: dict, field: str, since: datetime, until: datetime) -> Iterator[list[dict]]:
        """Every item of [since, until], one list per page, each item once. Windows matching
        more than the API pages through are halved; a window whose count shrank while we paged
        (items updated meanwhile moved out and shifted the pages) is read again for what the
        shift hid."""
        seen: set[Any] = set()
        for _ in range(MAX_REREADS + 1):
            shrank = False
            for items, total_moved in self._pages(path, {**params, f"{field}_min": tn.iso(since),
                                                           f"{field}_max": tn.iso(until)}, since, until, field):
                shrank = shrank or total_moved
                fresh = [i for i in items if _key(i) is None or _key(i) not in seen]
                seen.update(_key(i) for i in fresh)
                if fresh:
                    yield fresh
            if not shrank:
                return
            log.info("%s: %s changed while paging; reading the window again", self.channel, path)

    def _pages(self, path: str, params: dict, since: datetime, until: datetime, field: str,
               ) -> Iterator[tuple[list[dict], bool]]:
        """(items, shrank) per page, following the Link header from page 1."""
        response, items = self._page(path, {**params, "per_page": tn.PER_PAGE, "page": 1})
        first_total = _total(response)
        if first_total is not None and first_total > self.max_results and until - since > ONE_SECOND:
            middle = since + (until - since) / 2
            for start, end in ((since, middle), (middle, until)):
                yield from self._pages(path, {**params, f"{field}_min": tn.iso(start), f"{field}_max": tn.iso(end)},
                                       start, end, field)
            return
        while True:
            yield items, (_total(response) or 0) < (first_total or 0)
            next_url = response.links.get("next", {}).get("url")
            if not next_url:
                return
            try:
                response, items = self._page(next_url, None)
            except PermanentApiError as exc:
                if exc.status == 404:       # past the last page: the collection shrank meanwhile
                    return
                raise

    # --- transport: truncated bodies, rate-limit pacing, errors --------------------------------

    def _read(self, target: str, **kwargs: Any) -> tuple[requests.Response, Any]:
        """A GET and its JSON body; a body cut short is asked again (reading is idempotent)."""
        for _ in range(self.max_retries + 1):
            response = self._call("GET", target, **kwargs)
            try:
                return response, response.json()
            except ValueError:
                continue
        raise TransientApiError(VENDOR, f"GET {target}: unreadable answers ({self.max_retries + 1} attempts, "
                                        "truncated?); the next run will retry")

    def _page(self, target: str, params: dict | None) -> tuple[requests.Response, list[dict]]:
        response, body = self._read(target, params=params)
        if not isinstance(body, list):
            raise PermanentApiError(VENDOR, f"GET {target}: expected a JSON list, got {type(body).__name__}")
        return response, body

    def _call(self, method: str, path: str, client: ApiClient | None = None, **kwargs: Any) -> requests.Response:
        try:
            return (client or self._http).request(method, path, **kwargs)
        except PermanentApiError as exc:
            hint = STATUS_HINTS.get(exc.status or 0)
            raise PermanentApiError(VENDOR, f"{hint} ({exc.message})" if hint else exc.message,
                                    status=exc.status) from None

    def _read_bucket(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        """Runs on every response, retries included. A 429 gets the Retry-After Tiendanube leaves
        out (one request's drain) so ApiClient waits the right time; otherwise, when the bucket
        is nearly full, we wait here for room before the next request goes out."""
        try:
            limit = float(response.headers["x-rate-limit-limit"])
            remaining = float(response.headers["x-rate-limit-remaining"])
            reset_ms = float(response.headers["x-rate-limit-reset"])
        except (KeyError, ValueError):
            return response
        queued = max(0.0, limit - remaining)
        drain = queued / (reset_ms / 1000.0) if reset_ms > 0 and queued else DEFAULT_DRAIN_PER_SECOND
        if response.status_code == 429:
            response.headers.setdefault("Retry-After", f"{1.0 / drain:.3f}")
        elif remaining < BUCKET_RESERVE:
            seconds = (BUCKET_RESERVE - remaining) / drain
            self.throttle_waits.append(seconds)
            log.debug("%s: waiting %.2fs for the rate-limit bucket", self.channel, seconds)
            self._sleep(seconds)
        return response

    def close(self) -> None:
        self._http.close()


def _total(response: requests.Response) -> int | None:
    try:
        return int(response.headers["x-total-count"])
    except (KeyError, ValueError):
        return None


def _key(item: Any) -> Any:
    return item.get("id") if isinstance(item, dict) else None
