"""The Tiendanube sandbox's HTTP face: routes, the mandatory User-Agent, `Authentication: bearer`,
the leaky bucket and its headers, page/per_page paging with `Link` and `x-total-count`, `fields`,
date filters, and Tiendanube's error envelope ({"code", "message", "description"}, as the API's
current endpoints answer; TiendaNube/api-docs README.md for 400/415/422/429/5xx)."""
from __future__ import annotations

import json
import math
import random
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from connectors.sandbox.shopify_orders import utc
from connectors.sandbox.tiendanube_orders import StoreState, public
from connectors.sandbox.tiendanube_payments import transactions

if TYPE_CHECKING:
    from connectors.sandbox.tiendanube import TiendanubeSandbox

ROUTE = re.compile(r"^/(?P<store>[^/]+)/(?P<rest>store|orders|orders/(?P<id>\d+)"
                   r"(?:(?P<fulfill>/fulfill)|(?P<transactions>/transactions))?|metafields/orders)/?$")
DEFAULT_PER_PAGE, MAX_PER_PAGE = 30, 200
REASONS = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           415: "Unsupported Media Type", 422: "Unprocessable Entity", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
DATE_FILTERS = ("created_at_min", "created_at_max", "updated_at_min", "updated_at_max")


def error_body(status: int, description: str | None = None) -> dict:
    return {"code": status, "message": REASONS.get(status, "Error"),
            "description": description or REASONS.get(status, "Error")}


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})


def _error(status: int, description: str, headers: dict | None = None) -> Response:
    return _json(error_body(status, description), status, headers)


class BadRequest(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


class TiendanubeApi:
    def __init__(self, sandbox: TiendanubeSandbox, *, duplicate_share: float, shuffle_share: float,
                 max_results: int, rng: random.Random):
        self.sandbox = sandbox
        self.duplicate_share = duplicate_share
        self.shuffle_share = shuffle_share
        self.max_results = max_results
        self.rng = rng
        self.served = {"429": 0}        # bucket overflows answered (tests)

    def handle(self, request: Request) -> Response:
        match = ROUTE.match(request.path)
        if not match or match["store"] not in self.sandbox.stores:
            return _error(404, "Not Found")
        if not request.headers.get("User-Agent", "").strip():
            return _error(400, "A User-Agent header identifying your app and a contact is required")
        scheme, _, token = request.headers.get("Authentication", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.sandbox.access_token:
            return _error(401, "Invalid access token")
        store = self.sandbox.stores[match["store"]]
        if not store.bucket.take(1):
            self.served["429"] += 1
            bucket = store.bucket
            return _error(429, f"Rate limit exceeded: the bucket holds {bucket.size:g} requests and drains "
                               f"{bucket.restore_rate:g} per second", _bucket_headers(store))
        try:
            response = self._route(request, match, self.sandbox.caught_up(store.domain))
        except BadRequest as bad:
            response = _error(bad.status, bad.description)
        response.headers.extend(_bucket_headers(store))
        return response

    def _route(self, request: Request, match: re.Match, store: StoreState) -> Response:
        fields = [f.strip() for f in request.args.get("fields", "").split(",") if f.strip()] or None
        if match["fulfill"]:
            if request.method != "POST":
                return _error(405, "Method Not Allowed")
            return self._fulfill(request, store, int(match["id"]))
        if request.method not in ("GET", "HEAD"):
            return _error(405, "Method Not Allowed")
        if match["rest"] == "store":
            return _json(public(store.info, fields))
        if match["transactions"]:                   # resources/transaction.md: the order's payments
            return _json(transactions(self._order(store, int(match["id"]))))
        if match["id"]:
            order = self._order(store, int(match["id"]))
            return _json(public(order, fields))
        if match["rest"] == "orders":
            visible = [o for o in store.orders if o["_created"] <= utc(self.sandbox.clock.now())]
            return self._list(request, visible, fields, stamps=("_created", "_updated"))
        metafields = [m for m in store.metafields if _matches(m, request.args, ("namespace", "key", "owner_id"))]
        return self._list(request, metafields, fields, stamps=("_at", "_at"))

    def _order(self, store: StoreState, order_id: int) -> dict:
        order = store.by_id.get(order_id)
        if order is None or order["_created"] > utc(self.sandbox.clock.now()):
            raise BadRequest(404, "Order not found")
        return order

    def _fulfill(self, request: Request, store: StoreState, order_id: int) -> Response:
        if request.mimetype != "application/json":
            return _error(415, "Content-Type must be application/json")
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            return _json({"error": "Problems parsing JSON"}, 400)
        order = self._order(store, order_id)
        if order["status"] == "cancelled":
            return _error(422, "A cancelled order cannot be fulfilled")
        if order["shipping_status"] == "shipped":
            return _error(422, "The order is already fulfilled")
        number = body.get("shipping_tracking_number")
        if number is not None and not isinstance(number, str):
            return _json({"shipping_tracking_number": ["must be a string"]}, 422)
        store.fulfil(order, number=number, url=body.get("shipping_tracking_url"),
                     notify=bool(body.get("notify_customer", True)), at=utc(self.sandbox.clock.now()))
        return _json(public(order))

    def _list(self, request: Request, items: list[dict], fields: list[str] | None, *,
              stamps: tuple[str, str]) -> Response:
        """Inclusive date filters, ascending ids, page/per_page with Link and x-total-count."""
        bounds = {name: _moment(request.args, name) for name in DATE_FILTERS if request.args.get(name)}
        kept = [i for i in items if _within(i, bounds, stamps)]
        kept.sort(key=lambda i: i["id"])
        page = _int_arg(request.args, "page", 1)
        per_page = min(MAX_PER_PAGE, _int_arg(request.args, "per_page", DEFAULT_PER_PAGE))   # clamped silently
        last = max(1, math.ceil(len(kept) / per_page))
        if page > last and kept:
            return _error(404, f"Last page is {last}")
        if page * per_page > self.max_results and (page - 1) * per_page < len(kept):
            return _error(422, f"Too many results: at most {self.max_results} per query, narrow the dates")
        chunk = kept[(page - 1) * per_page: page * per_page]
        if page > 1 and chunk and self.rng.random() < self.duplicate_share:
            chunk = [kept[(page - 1) * per_page - 1], *chunk]      # an insert shifted the offsets
        if self.rng.random() < self.shuffle_share:
            chunk = chunk[::-1]                                     # a replica answered in its own order
        headers = {"x-total-count": str(len(kept)), "Link": _links(request, page, last)}
        return _json([public(i, fields) for i in chunk], headers={k: v for k, v in headers.items() if v})


def _bucket_headers(store: StoreState) -> dict:
    status = store.bucket.status()
    free = max(0.0, status.currentlyAvailable)
    empty_in_ms = math.ceil((status.maximumAvailable - free) / status.restoreRate * 1000)
    return {"x-rate-limit-limit": str(int(status.maximumAvailable)), "x-rate-limit-remaining": str(int(free)),
            "x-rate-limit-reset": str(empty_in_ms)}


def _links(request: Request, page: int, last: int) -> str:
    args = {k: v for k, v in request.args.items() if k != "page"}
    rels = [("next", page + 1)] if page < last else []
    rels += [("prev", page - 1)] if page > 1 else []
    rels += [("first", 1), ("last", last)]
    return ", ".join(f'<{request.base_url}?{urlencode({**args, "page": n})}>; rel="{rel}"' for rel, n in rels)


def _moment(args, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(args[name].strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(422, f"{name} must be an ISO 8601 date") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _within(item: dict, bounds: dict, stamps: tuple[str, str]) -> bool:
    created, updated = item[stamps[0]], item[stamps[1]]
    return all((
        "created_at_min" not in bounds or created >= bounds["created_at_min"],
        "created_at_max" not in bounds or created <= bounds["created_at_max"],
        "updated_at_min" not in bounds or updated >= bounds["updated_at_min"],
        "updated_at_max" not in bounds or updated <= bounds["updated_at_max"],
    ))


def _matches(item: dict, args, names: tuple[str, ...]) -> bool:
    return all(str(item[name]) == args[name] for name in names if args.get(name))


def _int_arg(args, name: str, default: int) -> int:
    try:
        value = int(args.get(name, default))
    except ValueError:
        raise BadRequest(422, f"{name} must be a positive integer") from None
    if value < 1:
        raise BadRequest(422, f"{name} must be a positive integer")
    return value
