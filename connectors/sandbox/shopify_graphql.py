"""The sandbox's GraphQL layer: the Admin schema subset with resolvers over the shop's in-memory
orders, Shopify-style search filters (`updated_at:>='…' AND …`) and opaque cursors.

Resolvers find the shop in `info.context["shop"]` (a `ShopState`) and the moment in
`info.context["now"]`; orders placed after that moment do not exist yet."""
from __future__ import annotations

import base64
import json
import operator
import re
import shlex
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema

from connectors.sandbox import shopify_bulk, shopify_refunds
from connectors.sandbox.shopify_orders import numeric_id, return_status
from connectors.sandbox.shopify_schema import SDL

MAX_PAGE = 250
SORT_FIELDS = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt", "PROCESSED_AT": "createdAt"}
FILTER_FIELDS = {"updated_at": "updatedAt", "created_at": "createdAt", "processed_at": "createdAt"}
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq}
TERM = re.compile(r"^(?P<field>\w+):(?P<op><=|>=|<|>)?(?P<value>.+)$")


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


# --- cursors and connections -------------------------------------------------------------

def encode_cursor(last_id: int, last_value: Any) -> str:
    return base64.b64encode(json.dumps({"last_id": last_id, "last_value": last_value}).encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, Any]:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        return int(data["last_id"]), data["last_value"]
    except (ValueError, KeyError, TypeError):
        raise GraphQLError("Invalid cursor for current pagination sort.") from None


def page_size(first: int | None, last: int | None) -> int:
    size = first if first is not None else last
    if size is None:
        raise GraphQLError("you must provide one of first or last")
    if not 0 <= size <= MAX_PAGE:
        raise GraphQLError(f"The argument `first` or `last` must be between 0 and {MAX_PAGE}")
    return size


def connection(items: list[dict], *, first: int | None = None, after: str | None = None,
               last: int | None = None, before: str | None = None, key=None, descending: bool = False) -> dict:
    """A Relay connection over items already sorted by (key(item), numeric id), descending or
    not; the cursor carries that pair so a page resumes right even if items moved meanwhile."""
    key = key or (lambda item: 0)
    keyed = [((key(i), int(numeric_id(i["id"]))), i) for i in items]
    start, stop = 0, len(keyed)
    if after:
        start = _count_up_to(keyed, decode_cursor(after), descending)
    if before:
        stop = _count_up_to(keyed, decode_cursor(before), descending) - 1
    size = page_size(first, last)
    window = keyed[start:stop]
    chosen = window[:size] if first is not None else window[max(0, len(window) - size):]
    edges = [{"cursor": encode_cursor(k[1], k[0]), "node": item} for k, item in chosen]
    return {"edges": edges, "nodes": [e["node"] for e in edges], "pageInfo": {
        "hasNextPage": first is not None and len(window) > size,
        "hasPreviousPage": start > 0 if first is not None else len(window) > size,
        "startCursor": edges[0]["cursor"] if edges else None,
        "endCursor": edges[-1]["cursor"] if edges else None}}


def _count_up_to(keyed, cursor, descending: bool) -> int:
    """How many items sort at or before the cursor (keyset pagination, not offsets)."""
    last_id, last_value = cursor
    mark = (last_value, last_id)
    try:
        return sum(1 for k, _ in keyed if (k >= mark if descending else k <= mark))
    except TypeError:  # a cursor from another sort order
        raise GraphQLError("Invalid cursor for current pagination sort.") from None


def first_of(items: list, first: int | None) -> list:
    return items if first is None else items[: page_size(first, None)]


# --- orders search -----------------------------------------------------------------------

def order_filter(query: str | None) -> list[tuple[str, Any, datetime]]:
    """Shopify's search syntax, the part a sync needs: date comparisons joined by AND, as
    (order field, comparison, moment) tests. Unknown terms are ignored, as Shopify does (it only warns)."""
    tests = []
    for token in shlex.split(query or ""):
        match = TERM.match(token)
        if token.upper() == "AND" or not match or match["field"] not in FILTER_FIELDS:
            continue
        tests.append((FILTER_FIELDS[match["field"]], COMPARE[match["op"] or "="], parse_moment(match["value"])))
    return tests


def sort_key(sort: str):
    field = SORT_FIELDS.get(sort)
    if field:
        return lambda order: order[field].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if sort == "ORDER_NUMBER":
        return lambda order: order["_seq"]
    return lambda order: int(numeric_id(order["id"]))


# --- resolvers ---------------------------------------------------------------------------

def existing_matches(shop, now: datetime, *, query: str | None) -> list[dict]:
    """The shop's orders existing at `now` that the search matches, in no particular order. One
    pass per test over a list that shrinks: a peak day's 50k orders are searched by every page."""
    found = shop.orders
    for field, compare, bound in order_filter(query):
        found = [o for o in found if compare(o[field], bound)]
    return [o for o in found if o["createdAt"] <= now]


def matching_orders(shop, now: datetime, *, query: str | None, sort: str = "ID", reverse: bool = False) -> list[dict]:
    """The shop's orders existing at `now` that the search matches, in the connection's order."""
    key = sort_key(sort)
    orders = existing_matches(shop, now, query=query)
    orders.sort(key=lambda o: (key(o), int(numeric_id(o["id"]))), reverse=bool(reverse))
    return orders


def resolve_orders(_root, info, first=None, after=None, last=None, before=None, query=None,
                   sortKey="ID", reverse=False):
    orders = matching_orders(info.context["shop"], info.context["now"], query=query, sort=sortKey, reverse=reverse)
    return connection(orders, first=first, after=after, last=last, before=before, key=sort_key(sortKey),
                      descending=bool(reverse))


def resolve_node(_root, info, id):
    if id.startswith("gid://shopify/BulkOperation/"):
        return shopify_bulk.find(info, id)
    return info.context["shop"].find(id, info.context["now"])


def _nested(field: str, *, as_list: bool = False):
    def resolve(source, _info, first=None, after=None, **_):
        items = source[field]
        if as_list:
            return first_of(items, first)
        return connection(items, first=first, after=after)
    resolve.items_key = field     # bulk exports read the whole list straight from the dict
    return resolve


def resolve_fulfillment_create(_root, info, fulfillment, message=None):
    return info.context["shop"].create_fulfillment(fulfillment, message=message, now=info.context["now"])


RESOLVERS = {
    ("Query", "shop"): lambda _r, info: info.context["shop"].info,
    ("Query", "order"): lambda _r, info, id: info.context["shop"].find(id, info.context["now"], kind="Order"),
    ("Query", "orders"): resolve_orders,
    ("Query", "node"): resolve_node,
    ("Query", "nodes"): lambda _r, info, ids: [resolve_node(_r, info, i) for i in ids],
    ("Order", "lineItems"): _nested("_lines"),
    ("Order", "transactions"): _nested("_transactions", as_list=True),
    ("Order", "fulfillmentOrders"): _nested("_fulfillment_orders"),
    ("Order", "fulfillments"): _nested("_fulfillments", as_list=True),
    ("Order", "returns"): _nested("_returns"),
    ("Order", "returnStatus"): lambda order, _info: return_status(order),
    ("Fulfillment", "trackingInfo"): _nested("_tracking", as_list=True),
    ("Fulfillment", "fulfillmentLineItems"): _nested("_lines"),
    ("Return", "returnLineItems"): _nested("_lines"),
    ("Return", "order"): lambda ret, _info: ret["_order"],
    ("Order", "refunds"): _nested("_refunds", as_list=True),
    ("Return", "refunds"): _nested("_refunds"),
    **shopify_refunds.RESOLVERS,
    **shopify_bulk.RESOLVERS,
    ("Mutation", "fulfillmentCreate"): resolve_fulfillment_create,
}


@lru_cache(maxsize=1)
def admin_schema() -> GraphQLSchema:
    schema = build_schema(SDL + shopify_refunds.SDL + shopify_bulk.SDL)
    for (type_name, field), resolver in RESOLVERS.items():
        schema.type_map[type_name].fields[field].resolve = resolver
    schema.type_map["DateTime"].serialize = lambda value: iso(value) if isinstance(value, datetime) else value
    schema.type_map["UnsignedInt64"].serialize = str    # a string on the wire, as Shopify sends it
    return schema
