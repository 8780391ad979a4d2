"""The shapes of Shopify's real GraphQL Admin API answers, as JSON Schemas (draft 2020-12), and a
`requests` response hook that checks every answer the Shopify client receives against them.

Shopify publishes an SDL but no JSON Schema of its answers, and a GraphQL answer's shape is the
selection the client sent: so there is one schema per operation Cumplido sends
(connectors/storefronts/shopify_parse.py), holding exactly the fields it selects (GraphQL never
adds or drops one), typed as the 2025-10 reference types them and as recorded answers show them
on the wire. The sources, each cited where used:

  kirillplatonov/shopify_graphql   test/fixtures/queries/shop.json, queries/current_shop.json,
                                   mutations/user_error.json, mutations/multiple_user_errors.json,
                                   mutations/server_error.json, mutations/invalid_input_error.json
                                   (answers recorded from a development store)
  danialbagheri/Core-API           src/user/api/fixtures/orders.py (a recorded `orders` page:
                                   edges + cursors, MoneyBag amounts such as "0.0", fulfillments
                                   with trackingInfo lists, the cost extension)
  mohnstrudel/store_manager_v2     spec/fixtures/files/shopify_api_orders.rb (recorded orders:
                                   `lineItems { nodes }`, gids, returnStatus, null address2)
  community.shopify.com/t/throttled/254776   a THROTTLED answer as received (no `data`,
                                   `actualQueryCost: null`, currentlyAvailable an integer)
  wp.jjknowledgebase.com/create-fulfillment-in-shopify-using-graphql-mutation   a recorded
                                   fulfillmentCreate answer (status "SUCCESS", userErrors [])
  shopify.dev/docs/api/admin-graphql/2025-10  objects Order, LineItem, MailingAddress,
                                   OrderTransaction, Return, ReturnLineItem, Fulfillment,
                                   FulfillmentOrder, Refund (Order.cancelledAt DateTime nullable,
                                   Order.totalRefundedSet MoneyBag!, Return.refunds
                                   RefundConnection!, Refund.createdAt DateTime nullable),
                                   payloads/FulfillmentCreatePayload, enums
                                   OrderReturnStatus, ReturnStatus, ReturnReason,
                                   FulfillmentOrderStatus, FulfillmentStatus, OrderTransactionKind,
                                   OrderTransactionStatus, WeightUnit (nullability and enum values)
  shopify.dev/docs/api/usage/response-codes   the HTTP-level refusals (401, 402, 403, 404, 423,
                                   429, 5xx); their body is {"errors": ...} (see HTTP_ERROR)
  shopify.dev/docs/api/usage/bulk-operations/queries   recorded bulkOperationRunQuery and
                                   bulkOperation answers (status "CREATED", objectCount "57" and
                                   fileSize "358" as strings, a storage.googleapis.com url) and the
                                   JSONL lines (`__parentId` on nested connections' nodes only);
                                   admin-graphql/2025-10 objects/BulkOperation, enums/
                                   BulkOperationStatus, BulkOperationErrorCode, BulkOperationUserErrorCode
  shopify.dev/docs/api/admin-graphql/2025-10/queries/ordersCount   the example answer
                                   {"ordersCount": {"count": 58, "precision": "EXACT"}}; enum CountPrecision
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import requests
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

# --- scalars ----------------------------------------------------------------------------------

S, I, B, N = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "number"}


def null(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def gid(kind: str) -> dict:
    """ID! is a global id string, e.g. "gid://shopify/Order/6621569450313" (store_manager_v2
    fixture); some carry a query ("gid://shopify/MailingAddress/1?model_name=Address")."""
    return {"type": "string", "pattern": rf"^gid://shopify/{kind}/\d+(\?[^/]*)?$"}


# DateTime: ISO 8601 in UTC with a Z and whole seconds, e.g. "2025-04-30T06:12:36Z" (recorded
# orders above, current_shop.json createdAt).
DATETIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"}
# Decimal is "serialized as a string" (shopify.dev scalars/Decimal): "49.95", "0.0", "100.00".
DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
CURRENCY = {"type": "string", "pattern": r"^[A-Z]{3}$"}
COUNTRY = {"type": "string", "pattern": r"^[A-Z]{2}$"}
# Cursors are opaque base64 ("eyJsYXN0X2lkIjo1NjMyMzMwMzM0MzQ1LCJsYXN0X3ZhbHVlIjoxNzE1NDM1MzU3MDAwfQ==").
CURSOR = {"type": "string", "pattern": r"^[A-Za-z0-9+/_-]+=*$"}
URL = {"type": "string", "pattern": r"^https?://"}


def enum(*values: str) -> dict:
    return {"enum": list(values)}


ORDER_RETURN_STATUS = enum("IN_PROGRESS", "INSPECTION_COMPLETE", "NO_RETURN", "RETURN_FAILED", "RETURN_REQUESTED",
                           "RETURNED")
RETURN_STATUS = enum("CANCELED", "CLOSED", "DECLINED", "OPEN", "REQUESTED")
RETURN_REASON = enum("COLOR", "DEFECTIVE", "NOT_AS_DESCRIBED", "OTHER", "SIZE_TOO_LARGE", "SIZE_TOO_SMALL", "STYLE",
                     "UNKNOWN", "UNWANTED", "WRONG_ITEM")
FULFILLMENT_ORDER_STATUS = enum("CANCELLED", "CLOSED", "INCOMPLETE", "IN_PROGRESS", "ON_HOLD", "OPEN", "SCHEDULED")
FULFILLMENT_STATUS = enum("CANCELLED", "ERROR", "FAILURE", "OPEN", "PENDING", "SUCCESS")
TRANSACTION_KIND = enum("AUTHORIZATION", "CAPTURE", "CHANGE", "EMV_AUTHORIZATION", "REFUND", "SALE",
                        "SUGGESTED_REFUND", "VOID")
TRANSACTION_STATUS = enum("AWAITING_RESPONSE", "ERROR", "FAILURE", "PENDING", "SUCCESS", "UNKNOWN")
WEIGHT_UNIT = enum("GRAMS", "KILOGRAMS", "OUNCES", "POUNDS")


def obj(optional: tuple[str, ...] = (), **props) -> dict:
    """A selection set: exactly the fields selected, each present (GraphQL sends null, never
    omits); `optional` only for fields selected inside a type-conditional fragment."""
    return {"type": "object", "properties": props, "additionalProperties": False,
            "required": sorted(set(props) - set(optional))}


def array(item: dict, **extra) -> dict:
    return {"type": "array", "items": item, **extra}


# --- building blocks --------------------------------------------------------------------------

# MoneyV2 { amount currencyCode } inside MoneyBag { shopMoney }: orders.py totalPriceSet.
SHOP_MONEY = obj(shopMoney=obj(amount=DECIMAL, currencyCode=CURRENCY))


def page_info(*fields: str) -> dict:
    """PageInfo as selected; endCursor is null only on an empty page, and must be there to
    follow when hasNextPage is true."""
    props = {"hasNextPage": B, "hasPreviousPage": B, "startCursor": null(CURSOR), "endCursor": null(CURSOR)}
    schema = obj(**{f: props[f] for f in fields})
    if "endCursor" in fields:
        schema["if"] = {"properties": {"hasNextPage": {"const": True}}}
        schema["then"] = {"properties": {"endCursor": CURSOR}}
    return schema


def connection(node: dict, *info: str) -> dict:
    """A connection selected as `pageInfo { ... } nodes { ... }` (as Cumplido selects them)."""
    return obj(pageInfo=page_info(*info), nodes=array(node)) if info else obj(nodes=array(node))


# The cost extension on every answer: kirillplatonov shop.json / user_error.json, orders.py and
# the THROTTLED answer. maximumAvailable and restoreRate come as 2000.0 or 2000; currentlyAvailable
# is a whole number of points in every recorded answer (999, 1990, 1993, 666).
THROTTLE_STATUS = obj(maximumAvailable={"type": "number", "exclusiveMinimum": 0},
                      currentlyAvailable={"type": "integer", "minimum": 0},
                      restoreRate={"type": "number", "exclusiveMinimum": 0})
COST = obj(requestedQueryCost={"type": "integer", "minimum": 0},
           actualQueryCost=null({"type": "integer", "minimum": 0}), throttleStatus=THROTTLE_STATUS)
EXTENSIONS = {"type": "object", "required": ["cost"], "properties": {"cost": COST}}   # Shopify may add `search`

# GraphQL errors (spec section 7.1.2): invalid_input_error.json, server_error.json, THROTTLED.
LOCATION = obj(line={"type": "integer", "minimum": 1}, column={"type": "integer", "minimum": 1})
GRAPHQL_ERROR = {"type": "object", "required": ["message"], "additionalProperties": False, "properties": {
    "message": S, "locations": array(LOCATION), "path": array({"type": ["string", "integer"]}),
    "extensions": {"type": "object", "properties": {"code": S}}}}   # "THROTTLED", "undefinedField", ...
# community.shopify.com/t/throttled/254776, as received:
#   {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
#                "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
#    "extensions": {"cost": {"requestedQueryCost": 752, "actualQueryCost": null,
#                   "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 666, "restoreRate": 50.0}}}}
THROTTLED = obj(
    ("data",),   # absent in the recorded answer; the thread reports it null at times
    errors=array(obj(message={"const": "Throttled"},
                     extensions=obj(code={"const": "THROTTLED"}, documentation=URL)), minItems=1, maxItems=1),
    extensions={"type": "object", "required": ["cost"], "properties": {"cost": {
        **COST, "properties": {**COST["properties"], "actualQueryCost": {"type": "null"}}}}},
    data={"type": "null"})
# Errors: a query refused whole (syntax, validation, MAX_COST_EXCEEDED: no data) or a field that
# failed (data with nulls in it, ACCESS_DENIED); the client gives up on either, so data is not checked.
REFUSED = {"type": "object", "required": ["errors"], "additionalProperties": False, "properties": {
    "errors": array(GRAPHQL_ERROR, minItems=1), "data": {"type": ["object", "null"]}, "extensions": EXTENSIONS}}
# HTTP-level refusals (401, 402, 403, 404, 423, 429, 5xx; shopify.dev/docs/api/usage/response-codes):
# `errors` is a message string (401 "[API] Invalid API key or access token (unrecognized login or
# wrong password)", as quoted in jeremylongshore/claude-code-plugins-plus-skills shopify-common-errors),
# an object (400 {"query": "Required parameter missing or invalid"}) or GraphQL errors
# (server_error.json: INTERNAL_SERVER_ERROR with a requestId).
HTTP_ERROR = obj(errors={"anyOf": [{"type": "string", "minLength": 1}, {"type": "object"},
                                   array(GRAPHQL_ERROR, minItems=1)]})


def answer(data: dict) -> dict:
    """A successful answer: data and the cost extension, no errors (user_error.json, shop.json)."""
    return obj(data=data, extensions=EXTENSIONS)


# --- the operations Cumplido sends (shopify_parse.py) -----------------------------------------

LINE_ITEM = obj(  # _LINE; LineItem: id ID!, sku String, quantity Int!, variant ProductVariant
    id=gid("LineItem"), sku=null(S), quantity={"type": "integer", "minimum": 0}, originalUnitPriceSet=SHOP_MONEY,
    variant=null(obj(inventoryItem=obj(measurement=obj(weight=null(obj(
        value={"type": "number", "minimum": 0}, unit=WEIGHT_UNIT)))))))
LINES = connection(LINE_ITEM, "hasNextPage", "endCursor")
ADDRESS = obj(  # MailingAddress: every field nullable; countryCodeV2 a CountryCode enum
    name=null(S), address1=null(S), address2=null(S), city=null(S), provinceCode=null(S), zip=null(S),
    countryCodeV2=null(COUNTRY), phone=null(S))
TRANSACTION = obj(  # OrderTransaction: gateway and authorizationCode nullable; kind, status, amountSet not
    gateway=null(S), authorizationCode=null(S), kind=TRANSACTION_KIND, status=TRANSACTION_STATUS,
    amountSet=SHOP_MONEY)
ORDER = obj(  # ORDERS_PAGE nodes
    id=gid("Order"), name={"type": "string", "minLength": 1}, createdAt=DATETIME, updatedAt=DATETIME,
    cancelledAt=null(DATETIME), totalRefundedSet=SHOP_MONEY, email=null(S), currencyCode=CURRENCY,
    returnStatus=ORDER_RETURN_STATUS,
    customer=null(obj(displayName=S)), shippingAddress=null(ADDRESS), shippingLine=null(obj(code=null(S), title=S)),
    totalPriceSet=SHOP_MONEY, transactions=array(TRANSACTION), lineItems=LINES)
ORDERS_PAGE = obj(orders=connection(ORDER, "hasNextPage", "endCursor"))
ORDER_IDS_PAGE = obj(orders=connection(obj(id=gid("Order"), updatedAt=DATETIME, returnStatus=ORDER_RETURN_STATUS),
                                       "hasNextPage", "endCursor"))
RETURN_LINE = obj(  # ReturnLineItemType; fulfillmentLineItem only `... on ReturnLineItem`
    ("fulfillmentLineItem",), id=gid("(Unverified)?ReturnLineItem"), quantity={"type": "integer", "minimum": 1},
    returnReason=RETURN_REASON, customerNote=null(S),
    fulfillmentLineItem=obj(lineItem=obj(id=gid("LineItem"), sku=null(S))))
REFUND = obj(id=gid("Refund"), createdAt=null(DATETIME), totalRefundedSet=SHOP_MONEY)
RETURN = obj(id=gid("Return"), name=S, status=RETURN_STATUS, createdAt=DATETIME,  # Return.createdAt: 2025-10+
             returnLineItems=connection(RETURN_LINE), refunds=connection(REFUND))
ORDER_RETURNS = obj(nodes=array({"anyOf": [  # nodes(ids:): null for an unknown id, {} for a non-Order
    {"type": "null"}, obj(), obj(id=gid("Order"), returns=connection(RETURN, "hasNextPage"))]}))
TRACKING = obj(number=null(S), company=null(S), url=null(URL))
FULFILLMENT_STATE = obj(order=null(obj(
    id=gid("Order"), cancelledAt=null(DATETIME),
    fulfillmentOrders=connection(obj(id=gid("FulfillmentOrder"), status=FULFILLMENT_ORDER_STATUS)),
    fulfillments=array(obj(id=gid("Fulfillment"), status=FULFILLMENT_STATUS, trackingInfo=array(TRACKING))))))
USER_ERROR = obj(field=null(array(S)), message=S)   # user_error.json (we do not select `code`)
FULFILLMENT_CREATE = obj(fulfillmentCreate=null(obj(  # FulfillmentCreatePayload
    fulfillment=null(obj(id=gid("Fulfillment"), status=FULFILLMENT_STATUS,
                         trackingInfo=array(obj(number=null(S))))),
    userErrors=array(USER_ERROR))))
SHOP = obj(shop=obj(name=S, myshopifyDomain={"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$"}))

OPERATIONS = {
    "OrdersPage": ORDERS_PAGE, "OrderIdsPage": ORDER_IDS_PAGE,
    # one order's lineItems connection per alias o0, o1, ... (null for an order not found)
    "OrderLinesBatch": {"type": "object", "minProperties": 1, "additionalProperties": False,
                        "patternProperties": {r"^o\d+$": null(obj(lineItems=LINES))}},
    "OrderReturns": ORDER_RETURNS, "OrderFulfillmentState": FULFILLMENT_STATE,
    "FulfillmentCreate": FULFILLMENT_CREATE, "Shop": SHOP,
}

# --- the operations for peak days: bulk pulls and batched pushes (shopify_bulk, shopify_push) ---

UINT64 = {"type": "string", "pattern": r"^\d+$"}    # UnsignedInt64 travels as a string: "57", "358"
BULK_STATUS = enum("CANCELED", "CANCELING", "COMPLETED", "CREATED", "EXPIRED", "FAILED", "RUNNING")
BULK_OPERATION = obj(
    id=gid("BulkOperation"), status=BULK_STATUS,
    errorCode=null(enum("ACCESS_DENIED", "INTERNAL_SERVER_ERROR", "TIMEOUT")),
    objectCount=UINT64, rootObjectCount=UINT64, url=null(URL), partialDataUrl=null(URL), query=S)
BULK_USER_ERROR = obj(code=null(enum("INVALID", "OPERATION_IN_PROGRESS")), field=null(array(S)), message=S)
FULFILLMENT_STATES = obj(nodes=array({"anyOf": [{"type": "null"}, obj(), obj(
    id=gid("Order"), cancelledAt=null(DATETIME),
    fulfillmentOrders=connection(obj(id=gid("FulfillmentOrder"), status=FULFILLMENT_ORDER_STATUS)),
    fulfillments=array(obj(id=gid("Fulfillment"), status=FULFILLMENT_STATUS,
                           trackingInfo=array(obj(number=null(S)), maxItems=1))))]}))
SCALE_OPERATIONS = {
    "OrdersCount": obj(ordersCount=null(obj(count={"type": "integer", "minimum": 0},
                                            precision=enum("AT_LEAST", "EXACT")))),
    "BulkQueryRun": obj(bulkOperationRunQuery=null(obj(
        bulkOperation=null(obj(id=gid("BulkOperation"), status=BULK_STATUS)), userErrors=array(BULK_USER_ERROR)))),
    "BulkOperationPoll": obj(node=null({"anyOf": [obj(), BULK_OPERATION]})),
    "CurrentBulkOperation": obj(currentBulkOperation=null(BULK_OPERATION)),
    "BulkOperationCancel": obj(bulkOperationCancel=null(obj(
        bulkOperation=null(obj(id=gid("BulkOperation"), status=BULK_STATUS)), userErrors=array(USER_ERROR)))),
    "FulfillmentStates": FULFILLMENT_STATES,
    # one FulfillmentCreatePayload per alias f0, f1, ... (null when its field failed), selecting
    # `fulfillment { id status } userErrors` as in the recorded answer (RECORDED_FULFILLMENT_CREATE)
    "FulfillmentCreateBatch": {"type": "object", "minProperties": 1, "additionalProperties": False,
                               "patternProperties": {r"^f\d+$": null(obj(
                                   fulfillment=null(obj(id=gid("Fulfillment"), status=FULFILLMENT_STATUS)),
                                   userErrors=array(USER_ERROR)))}},
}


def _line(schema: dict, parent: str | None) -> dict:
    """A node of the bulk file: its selection without nested connections, plus __parentId."""
    props = {k: v for k, v in schema["properties"].items() if k not in ("lineItems", "returnLineItems", "refunds")}
    if parent:
        props["__parentId"] = gid(parent)
    return obj(tuple(set(schema["properties"]) - set(schema["required"])), **props)


# The lines of the bulk files (shopify_bulk.orders_query), by the kind of their gid.
JSONL_LINES = {
    "Order": {"anyOf": [_line(ORDER, None),
                        obj(id=gid("Order"), updatedAt=DATETIME, returnStatus=ORDER_RETURN_STATUS)]},
    "LineItem": _line(LINE_ITEM, "Order"),
    "Return": _line(RETURN, "Order"),
    "ReturnLineItem": _line(RETURN_LINE, "Return"),
    "Refund": _line(REFUND, "Return"),
}


def jsonl_problems(lines: list[dict]) -> list[str]:
    """Everything in a bulk file's lines that Shopify would not write for our bulk queries."""
    problems = []
    for number, line in enumerate(lines, start=1):
        kind = str(line.get("id", "")).split("/")[-2] if str(line.get("id", "")).count("/") >= 3 else "?"
        if kind not in JSONL_LINES:
            problems.append(f"line {number}: no {kind} lines in our bulk files")
            continue
        for error in Draft202012Validator(JSONL_LINES[kind]).iter_errors(line):
            cause = best_match([error])
            where = "/".join(map(str, cause.absolute_path))
            problems.append(f"line {number} ({line['id']}) {where}: {cause.message[:200]}")
    return problems


# --- recorded answers, trimmed to what the checks below use (values as recorded) ------------------

# kirillplatonov/shopify_graphql test/fixtures/queries/shop.json
RECORDED_SHOP = {
    "data": {"shop": {"name": "Graphql Gem Test", "myshopifyDomain": "graphql-gem-test.myshopify.com"}},
    "extensions": {"cost": {"requestedQueryCost": 1, "actualQueryCost": 1, "throttleStatus": {
        "maximumAvailable": 1000, "currentlyAvailable": 999, "restoreRate": 50}}}}
# kirillplatonov/shopify_graphql test/fixtures/mutations/user_error.json (its `code` left out: not selected)
RECORDED_USER_ERROR = {"field": ["definition", "key"],
                       "message": "Key is in use for Product metafields on the 'xxx' namespace."}
RECORDED_COST = {"requestedQueryCost": 10, "actualQueryCost": 10, "throttleStatus": {
    "maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}
# community.shopify.com/t/throttled/254776
RECORDED_THROTTLED = {
    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
                                                       "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
    "extensions": {"cost": {"requestedQueryCost": 752, "actualQueryCost": None, "throttleStatus": {
        "maximumAvailable": 1000.0, "currentlyAvailable": 666, "restoreRate": 50.0}}}}
# kirillplatonov/shopify_graphql test/fixtures/mutations/server_error.json and invalid_input_error.json
RECORDED_SERVER_ERROR = {"errors": [{"message": "Internal error. Looks like something went wrong on our end.\n"
                                                "Request ID: XXXXX (include this in support requests).",
                                     "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "XXXXX"}}]}
RECORDED_INVALID_INPUT = {"errors": [{
    "message": "Variable $input of type ProductInput! was provided invalid value for title1 (Field is not defined "
               "on ProductInput)", "locations": [{"line": 1, "column": 10}],
    "extensions": {"value": {"id": "gid://shopify/Product/8077118406833", "title1": "Test Prod 1"},
                   "problems": [{"path": ["title1"], "explanation": "Field is not defined on ProductInput"}]}}]}
# wp.jjknowledgebase.com/create-fulfillment-in-shopify-using-graphql-mutation (selection `id status`,
# userErrors []); the page elides the fulfillment's number ("${FULFILLMENT_ID}"), filled in here.
RECORDED_FULFILLMENT_CREATE = {"fulfillment": {"id": "gid://shopify/Fulfillment/4733205086405", "status": "SUCCESS"},
                               "userErrors": []}
# danialbagheri/Core-API src/user/api/fixtures/orders.py: amounts, dates, cursors and a trackingInfo as recorded
RECORDED_MONEY = [{"shopMoney": {"amount": a, "currencyCode": "GBP"}} for a in ("49.95", "0.0", "8.33", "100.00")]
RECORDED_DATETIMES = ["2024-05-11T13:49:17Z", "2024-04-13T14:15:13Z", "2025-04-30T06:13:04Z"]
RECORDED_CURSORS = ["eyJsYXN0X2lkIjo1NjMyMzMwMzM0MzQ1LCJsYXN0X3ZhbHVlIjoxNzE1NDM1MzU3MDAwfQ==",
                    "eyJsYXN0X2lkIjo1NTg1MjA1NjI0OTY5LCJsYXN0X3ZhbHVlIjoxNzEzMDE3NzEzMDAwfQ=="]
# mohnstrudel/store_manager_v2 spec/fixtures/files/shopify_api_orders.rb: ids as recorded
RECORDED_IDS = {"Order": "gid://shopify/Order/6621569450313", "LineItem": "gid://shopify/LineItem/16848835543369",
                "Customer": "gid://shopify/Customer/8735512789321"}

# An OrdersPage answer in exactly Cumplido's selection, assembled (not recorded: the recorded pages
# select other fields) from the store_manager_v2 order HSCM#1190 and the values above; zip, phone,
# gateway and authorizationCode are illustrative.
EXAMPLE_ORDERS_PAGE = {
    "data": {"orders": {
        "pageInfo": {"hasNextPage": True, "endCursor": RECORDED_CURSORS[0]},
        "nodes": [{
            "id": RECORDED_IDS["Order"], "name": "HSCM#1190", "createdAt": "2025-04-30T06:12:36Z",
            "updatedAt": "2025-04-30T06:13:04Z", "cancelledAt": None, "email": "buyer@example.com",
            "currencyCode": "EUR", "totalRefundedSet": {"shopMoney": {"amount": "0.0", "currencyCode": "EUR"}},
            "returnStatus": "NO_RETURN", "customer": {"displayName": "Yevgen Pisanenko"},
            "shippingAddress": {"name": "Yevgen Pisanenko", "address1": "Bahnhofstr. 25b", "address2": None,
                                "city": "Hofgeismar", "provinceCode": None, "zip": "34369", "countryCodeV2": "DE",
                                "phone": None},
            "shippingLine": {"code": "Standard", "title": "Standard"},
            "totalPriceSet": {"shopMoney": {"amount": "99.80", "currencyCode": "EUR"}},
            "transactions": [{"gateway": "shopify_payments", "authorizationCode": "53433", "kind": "SALE",
                              "status": "SUCCESS", "amountSet": {"shopMoney": {"amount": "99.80",
                                                                               "currencyCode": "EUR"}}}],
            "lineItems": {"pageInfo": {"hasNextPage": False, "endCursor": RECORDED_CURSORS[1]}, "nodes": [{
                "id": RECORDED_IDS["LineItem"], "sku": None, "quantity": 1,
                "originalUnitPriceSet": {"shopMoney": {"amount": "79.80", "currencyCode": "EUR"}},
                "variant": {"inventoryItem": {"measurement": {"weight": {"value": 2.5, "unit": "KILOGRAMS"}}}}}]},
        }]}},
    "extensions": {"cost": RECORDED_COST},
}

# shopify.dev/docs/api/usage/bulk-operations/queries: a bulkOperationRunQuery answer and a poll, as shown
RECORDED_BULK_RUN = {"bulkOperationRunQuery": {
    "bulkOperation": {"id": "gid://shopify/BulkOperation/720918", "status": "CREATED"}, "userErrors": []}}
RECORDED_BULK_OPERATION = {
    "id": "gid://shopify/BulkOperation/720918", "status": "COMPLETED", "errorCode": None, "objectCount": "57",
    "url": "https://storage.googleapis.com/shopify/dyfkl3g72empyyoenvmtidlm9o4g?<params />", "partialDataUrl": None}
RECORDED_JSONL = [{"id": "gid://shopify/Product/1921569226808"},
                  {"id": "gid://shopify/ProductVariant/19435458986123", "title": "52",
                   "__parentId": "gid://shopify/Product/1921569226808"}]
# shopify.dev/docs/api/admin-graphql/2025-10/queries/ordersCount, "Retrieve an order count"
RECORDED_ORDERS_COUNT = {"ordersCount": {"count": 58, "precision": "EXACT"}}

# --- checking answers ----------------------------------------------------------------------------

OPERATION_NAME = re.compile(r"^\s*(?:query|mutation)\s+(\w+)")


@cache
def _validator(key: str) -> Draft202012Validator:
    schema = {"http_error": HTTP_ERROR, "throttled": THROTTLED, "refused": REFUSED}.get(key)
    return Draft202012Validator(schema if schema is not None else answer({**OPERATIONS, **SCALE_OPERATIONS}[key]))


def operation_of(request_body: bytes | str | None) -> str | None:
    try:
        match = OPERATION_NAME.match(json.loads(request_body or b"{}").get("query") or "")
    except (ValueError, AttributeError):
        return None
    return match[1] if match else None


def _where(body: Any, path) -> str:
    """The path of a problem, with the gid of the innermost object on it (a page has 100 orders)."""
    node, owner = body, None
    for step in path:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            owner = node["id"]
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
    return "/".join(map(str, path)) + (f" ({owner})" if owner else "")


def shape_problems(operation: str | None, status: int, body: Any) -> list[str]:
    """Everything in `body` that no real Shopify answer to `operation` would contain."""
    if status != 200:
        key = "http_error"
    elif isinstance(body, dict) and body.get("errors"):
        throttled = any(isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED"
                        for e in body["errors"]) if isinstance(body["errors"], list) else False
        key = "throttled" if throttled else "refused"
    elif operation in OPERATIONS or operation in SCALE_OPERATIONS:
        key = operation
    else:
        return [f"{operation or '?'} -> {status}: no recorded Shopify shape for this operation"]
    found = [best_match([e]) for e in _validator(key).iter_errors(body)]   # into anyOf: the deepest cause
    return [f"{operation} -> {status}: {_where(body, e.absolute_path)}: {e.message[:200]}" for e in found]


@dataclass
class ShapeRecorder:
    """A `requests` response hook: every answer the client gets is checked against the shapes."""

    problems: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)   # "Operation status" -> answers checked
    unreadable: int = 0                                   # truncated bodies (fault injection)

    def attach(self, session: requests.Session) -> ShapeRecorder:
        session.hooks["response"].append(self.hook)
        return self

    def hook(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        operation = operation_of(response.request.body)
        try:
            body = response.json()
        except ValueError:
            self.unreadable += 1
            return response
        label = f"{operation} {response.status_code}"
        if response.status_code == 200 and isinstance(body, dict) and body.get("errors"):
            label += " errors"
        self.seen[label] = self.seen.get(label, 0) + 1
        self.problems += shape_problems(operation, response.status_code, body)
        return response

    def take_problems(self) -> list[str]:
        taken, self.problems = self.problems, []
        return taken

    def assert_clean(self) -> None:
        assert self.seen, "no Shopify answer was checked"
        assert not self.problems, "\n".join(self.problems[:20])
