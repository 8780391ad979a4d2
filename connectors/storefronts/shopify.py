"""Shopify storefront through the GraphQL Admin API (REST Admin is legacy).

    POST {api_base}/admin/api/{api_version}/graphql.json   X-Shopify-Access-Token: ...

Shopify rate-limits by calculated query cost: every answer reports the cost bucket in
`extensions.cost.throttleStatus`; we wait for the bucket before a query we know it cannot
afford, and a THROTTLED answer is waited out and retried. HTTP 429/5xx are retried by
ApiClient; a truncated body is re-asked (reads) or looked up (the fulfillment mutation).
Reading return dates needs API version 2025-10 or later (`Return.createdAt`).

A window of `bulk_threshold` orders or more (ordersCount) is read by one bulk query operation
instead of pages (shopify_bulk: the bucket would take minutes per 10k orders); fulfillments go out
in batches, one look-up and one aliased mutation document per 50 orders (shopify_push)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import orjson
import requests

from connectors.errors import PermanentApiError, TransientApiError
from connectors.http import ApiClient
from connectors.storefronts import shopify_bulk as bulk
from connectors.storefronts import shopify_parse as gql
from connectors.storefronts.shopify_push import FULFILLABLE, BatchPush, fulfillment_with
from domain.records import ChannelOrder, FulfillmentNotice, FulfillmentPush, Malformed, PushResult, ReturnRequest

log = logging.getLogger(__name__)
VENDOR = "shopify"
MAX_THROTTLED = 6
BULK_THRESHOLD = 2000         # orders in a window from which a bulk query beats paging
STATUS_HINTS = {
    401: "access token rejected: check CUMPLIDO_SHOPIFY_ACCESS_TOKEN and the app's "
         "read_orders/write_fulfillments scopes",
    403: "access denied: the app lacks a scope it needs (read_orders, read_returns, write_fulfillments)",
    402: "the shop is frozen (unpaid Shopify plan); the API answers again once it is reactivated",
    404: "shop not found: check the channel's shop_domain / api_base and the API version",
    423: "the shop is locked by Shopify; contact the merchant",
}


def shopify_error_message(response: requests.Response) -> str:
    try:
        return gql.graphql_messages(response.json().get("errors", response.text))[:300]
    except (ValueError, AttributeError):
        return response.text[:300] or response.reason


class ShopifyStorefront:
    def __init__(self, *, channel: str, api_base: str, access_token: str, api_version: str,
                 timeout: float = 20, max_retries: int = 4, sleep: Callable[[float], None] = time.sleep,
                 bulk_threshold: int | None = BULK_THRESHOLD, bulk_poll_seconds: float = 0.5,
                 bulk_max_wait_seconds: float = 1800.0):
        self.channel = channel
        self.api_version = api_version
        self.max_retries = max_retries
        self.bulk_threshold = bulk_threshold       # None: always page
        self._sleep = sleep
        self._path = f"admin/api/{api_version}/graphql.json"
        self._http = ApiClient(VENDOR, api_base, headers={"X-Shopify-Access-Token": access_token,
                                                          "Accept": "application/json"},
                               timeout=timeout, max_retries=max_retries, error_message=shopify_error_message,
                               sleep=sleep)
        self._bucket: dict[str, float] | None = None   # last throttleStatus seen
        self._costs: dict[str, int] = {}                # requested cost of each query, as Shopify priced it
        self.throttle_waits: list[float] = []           # seconds waited for the cost bucket (tests, bench)
        # Bulk results sit behind signed storage URLs: fetched without the API token.
        self._files = ApiClient(VENDOR, "", headers={"Accept": "application/jsonl"}, timeout=timeout,
                                max_retries=max_retries, sleep=sleep)
        self._bulk = bulk.BulkQuery(channel=channel, query=self._query, files=self._files, sleep=sleep,
                                    poll_seconds=bulk_poll_seconds, max_wait_seconds=bulk_max_wait_seconds,
                                    max_retries=max_retries)

    # --- the Storefront protocol ---------------------------------------------------------

    def pull_orders(self, *, since: datetime, until: datetime) -> Iterator[list[ChannelOrder | Malformed]]:
        for page, nodes in enumerate(self._orders(since, until, details=True), start=1):
            records = [gql.parse_order(self.channel, node) for node in nodes]
            log.info("%s: page %d, %d orders (%d unreadable)", self.channel, page, len(records),
                     sum(isinstance(r, Malformed) for r in records))
            yield records

    def pull_return_requests(self, *, since: datetime, until: datetime) -> Iterator[list[ReturnRequest | Malformed]]:
        for nodes in self._orders(since, until, details=False):
            with_returns = [n for n in nodes if gql.has_returns(n)]
            found = [r for node in with_returns for r in gql.open_return_requests(self.channel, node)]
            log.info("%s: %d return requests on %d orders", self.channel, len(found), len(nodes))
            yield found

    def push_fulfillment(self, *, order_external_id: str, tracking_number: str, carrier_name: str,
                         tracking_url: str) -> FulfillmentPush:
        """Idempotent without an idempotency key (Shopify has none here): look our tracking
        number up first, and look again if the mutation's answer was lost."""
        order = self._fulfillment_state(order_external_id)
        existing = fulfillment_with(order, tracking_number)
        if existing:
            return FulfillmentPush(external_fulfillment_id=existing, already_existed=True)
        if order.get("cancelledAt"):
            raise PermanentApiError(VENDOR, f"order {order_external_id} was cancelled in Shopify at "
                                            f"{order['cancelledAt']}: not fulfilling it")
        open_orders = [fo["id"] for fo in order["fulfillmentOrders"]["nodes"] if fo["status"] in FULFILLABLE]
        if not open_orders:
            raise PermanentApiError(VENDOR, f"order {order_external_id} has no open fulfillment order "
                                            "(fulfilled with another tracking number, cancelled or on hold)")
        fulfillment = {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo} for fo in open_orders],
                       "notifyCustomer": True,
                       "trackingInfo": {"number": tracking_number, "company": carrier_name, "url": tracking_url}}
        try:
            payload = self._query("FulfillmentCreate", gql.FULFILLMENT_CREATE, {"fulfillment": fulfillment},
                                  reread=False)["fulfillmentCreate"]
        except TransientApiError:
            payload = None
        if payload and not payload["userErrors"]:
            return FulfillmentPush(external_fulfillment_id=payload["fulfillment"]["id"], already_existed=False)
        # The answer was lost, or Shopify refused: perhaps an earlier attempt of ours went through.
        created = fulfillment_with(self._fulfillment_state(order_external_id), tracking_number)
        if created:
            return FulfillmentPush(external_fulfillment_id=created, already_existed=False)
        if payload is None:
            raise TransientApiError(VENDOR, f"fulfillmentCreate for {order_external_id} got no readable answer "
                                            "and created nothing; the next run will retry")
        raise PermanentApiError(VENDOR, "fulfillmentCreate refused: "
                                + "; ".join(e["message"] for e in payload["userErrors"]))

    def push_fulfillments(self, items: list[FulfillmentNotice]) -> list[PushResult]:
        """push_fulfillment for many orders, 50 per look-up and per mutation document."""
        return BatchPush(answer=self._answer, full_state=self._fulfillment_state).push(items)

    def check(self) -> str:
        shop = self._query("Shop", gql.SHOP, {})["shop"]
        return f"Shopify shop {shop['name']} ({shop['myshopifyDomain']}), Admin API {self.api_version}"

    # --- paging and follow-ups -------------------------------------------------------------

    def _orders(self, since: datetime, until: datetime, *, details: bool) -> Iterator[list[dict]]:
        """Orders updated in [since, until), oldest update first, with their returns, in lists of
        a page: through one bulk query when the window is big, else page by page."""
        search = gql.search_window(since, until)
        if self.bulk_threshold and self._count(search) >= self.bulk_threshold:
            order = ("lineItems", "returns") if details else ("returns",)
            nodes = self._bulk.run(bulk.orders_query(search, details=details),
                                   connections={"Order": order, "Return": ("returnLineItems", "refunds")})
            yield from bulk.handed_out(nodes, gql.PAGE_SIZE)
            return
        name, query = ("OrdersPage", gql.ORDERS_PAGE) if details else ("OrderIdsPage", gql.ORDER_IDS_PAGE)
        for nodes in self._order_pages(name, query, search):
            if details:
                self._complete_lines(nodes)
            self._attach_returns([n for n in nodes if gql.has_returns(n)])
            yield nodes

    def _count(self, search: str) -> int:
        """Orders in the window, counted up to the threshold (all we need to know)."""
        answer = self._query("OrdersCount", bulk.ORDERS_COUNT, {"query": search, "limit": self.bulk_threshold})
        return int(answer["ordersCount"]["count"])

    def _order_pages(self, name: str, query: str, search: str) -> Iterator[list[dict]]:
        variables: dict[str, Any] = {"first": gql.PAGE_SIZE, "query": search, "after": None}
        while True:
            orders = self._query(name, query, variables)["orders"]
            if orders["nodes"]:
                yield orders["nodes"]
            if not orders["pageInfo"]["hasNextPage"]:
                return
            variables["after"] = orders["pageInfo"]["endCursor"]

    def _complete_lines(self, nodes: list[dict]) -> None:
        """The page asks for 5 lines per order; fetch the rest for the bigger orders, several
        orders per request (aliased), round by round (gql.MORE_LINES_ROUNDS), until every order's
        lines are complete."""
        def cut_short(node: dict) -> bool:
            return bool(((node.get("lineItems") or {}).get("pageInfo") or {}).get("hasNextPage"))

        pending = [n for n in nodes if cut_short(n)]
        rounds = iter(gql.MORE_LINES_ROUNDS)
        while pending:
            first, size = next(rounds, gql.MORE_LINES_ROUNDS[-1])
            for start in range(0, len(pending), size):
                self._more_lines(pending[start:start + size], first=first, most=size)
            pending = [n for n in pending if cut_short(n)]

    def _more_lines(self, batch: list[dict], *, first: int, most: int) -> None:
        """The next `first` lines of each order in the batch, by one aliased look-up. The document
        has a few sizes only (gql.aliases_for; the last order is asked for again to fill it), so the
        shop parses and validates a handful of documents, not one per batch size."""
        aliases = gql.aliases_for(len(batch), most)
        variables = {}
        for i, node in enumerate(batch + batch[-1:] * (aliases - len(batch))):
            variables.update({f"id{i}": node["id"], f"after{i}": node["lineItems"]["pageInfo"]["endCursor"]})
        answer = self._query("OrderLinesBatch", gql.more_lines_document(aliases, first), variables)
        for i, node in enumerate(batch):
            more = (answer.get(f"o{i}") or {}).get("lineItems")
            if more is None:   # deleted between the page and this read: the next pull no longer sees it
                raise TransientApiError(VENDOR, f"order {node['id']} vanished while its lines were read; "
                                                "the next run reads the window again")
            node["lineItems"]["nodes"].extend(more["nodes"])
            node["lineItems"]["pageInfo"] = more["pageInfo"]

    def _attach_returns(self, nodes: list[dict]) -> None:
        for start in range(0, len(nodes), gql.RETURNS_BATCH):
            batch = nodes[start:start + gql.RETURNS_BATCH]
            found = self._query("OrderReturns", gql.ORDER_RETURNS, {"ids": [n["id"] for n in batch]})["nodes"]
            by_id = {n["id"]: n for n in found if n}
            for node in batch:
                node["returns"] = (by_id.get(node["id"]) or {}).get("returns") or {"nodes": []}
                if node["returns"].get("pageInfo", {}).get("hasNextPage"):
                    log.warning("%s: an order has more than 10 returns; only the first 10 were read", self.channel)

    def _fulfillment_state(self, order_id: str) -> dict:
        order = self._query("OrderFulfillmentState", gql.FULFILLMENT_STATE, {"id": order_id})["order"]
        if order is None:
            raise PermanentApiError(VENDOR, f"order {order_id} not found in the shop")
        return order

    # --- transport: cost throttling, GraphQL errors, unreadable bodies -----------------------

    def _query(self, name: str, query: str, variables: dict, *, reread: bool = True) -> dict:
        data, errors = self._answer(name, query, variables, reread=reread)
        if errors:
            raise PermanentApiError(VENDOR, f"{name}: {gql.graphql_messages(errors)}")
        return data

    def _answer(self, name: str, query: str, variables: dict, *, reread: bool = True) -> tuple[dict, list]:
        """The answer's data and the field errors beside it (a batch's aliases fail one by one);
        a query refused whole, or still throttled after MAX_THROTTLED waits, raises."""
        throttled = False
        for _ in range(MAX_THROTTLED + 1):
            # After a THROTTLED answer wait at least a point's worth, whatever the arithmetic says.
            self._wait_for_bucket(self._costs.get(name, 0), at_least=1.0 if throttled else 0.0)
            body = self._post(query, variables, reread=reread)
            cost = (body.get("extensions") or {}).get("cost") or {}
            self._bucket = cost.get("throttleStatus") or self._bucket
            if cost.get("requestedQueryCost"):
                self._costs[name] = int(cost["requestedQueryCost"])
            errors = body.get("errors")
            if isinstance(body.get("data"), dict) and not _throttled(errors):
                return body["data"], errors or []
            if not errors:
                raise PermanentApiError(VENDOR, f"{name}: answer has neither data nor errors")
            throttled = _throttled(errors)
            if not throttled:
                raise PermanentApiError(VENDOR, f"{name}: {gql.graphql_messages(errors)}")
        raise TransientApiError(VENDOR, f"{name}: still throttled after {MAX_THROTTLED} waits; "
                                        "another app may be draining the shop's API budget")

    def _wait_for_bucket(self, expected: int, *, at_least: float = 0.0) -> None:
        """Shopify only runs a query whose requested cost the bucket holds: wait it in."""
        if not self._bucket or not expected:
            return
        deficit = max(expected - float(self._bucket["currentlyAvailable"]), at_least)
        if deficit > 0:
            seconds = deficit / float(self._bucket["restoreRate"])
            self.throttle_waits.append(seconds)
            log.debug("%s: waiting %.1fs for the query-cost bucket", self.channel, seconds)
            self._sleep(seconds)
            self._bucket = {**self._bucket, "currentlyAvailable": float(expected)}

    def _post(self, query: str, variables: dict, *, reread: bool) -> dict:
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.request("POST", self._path, json={"query": query, "variables": variables})
            except PermanentApiError as exc:
                hint = STATUS_HINTS.get(exc.status or 0)
                raise PermanentApiError(VENDOR, f"{hint} ({exc.message})" if hint else exc.message,
                                        status=exc.status) from None
            try:
                return orjson.loads(response.content)
            except ValueError:
                if not reread or attempt == self.max_retries:
                    raise TransientApiError(VENDOR, f"unreadable answer ({len(response.content)} bytes, "
                                                    "truncated?); the next run will retry") from None
                self._sleep(min(30.0, 0.5 * 2 ** attempt))
        raise AssertionError("unreachable")


def _throttled(errors: Any) -> bool:
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)
