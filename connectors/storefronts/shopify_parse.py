"""Shopify GraphQL Admin documents Cumplido sends, and the normalisation of what comes back
into domain records. Pure functions: no HTTP here.

Query costs are kept under Shopify's single-query limit (1000): the order page asks for 100
orders with their first 5 lines (1 + 100 x 6 = 601); the few orders with more lines or with
returns are completed by small follow-up queries.

Cancellations and store refunds (2025-10 reference): `Order.cancelledAt` (null unless cancelled),
`Order.totalRefundedSet` (everything refunded in Shopify, any reason, in shop money like
totalPriceSet) and, per return, `Return.refunds` (the Refunds issued through that return, each
with its `totalRefundedSet`): Shopify links them directly, so nothing is guessed from dates."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from domain.records import Address, ChannelOrder, Malformed, OrderLine, ReturnLine, ReturnRequest

PAGE_SIZE = 100
LINES_FIRST = 5
# Lines read per order and orders per follow-up, round by round: most orders cut short by the page
# have only a few more lines, so the first round reads a few for many orders at once (24 x (2 + 5 x 7)
# = 888 points by Shopify's rules), later rounds more for the few big ones (6 x (2 + 20 x 7) = 852).
MORE_LINES_ROUNDS = ((5, 24), (20, 6))
MORE_LINES_FIRST = MORE_LINES_ROUNDS[-1][0]
RETURNS_BATCH = 6          # orders per returns look-up: 1 + 6 x (1 + 10 x (1 + 10 + 5)) = 967 points
RETURN_REFUNDS_FIRST = 5   # refunds issued through one return (one, as a rule)
KG_PER_UNIT = {"KILOGRAMS": 1.0, "GRAMS": 0.001, "POUNDS": 0.45359237, "OUNCES": 0.028349523125}
OPEN_RETURN = ("REQUESTED", "OPEN")

_MONEY = "shopMoney { amount currencyCode }"
# The selections, shared by the paged documents below and the bulk query (shopify_bulk), so both
# paths read exactly the same fields.
LINE_FIELDS = f"""id sku quantity originalUnitPriceSet {{ {_MONEY} }}
  variant {{ inventoryItem {{ measurement {{ weight {{ value unit }} }} }} }}"""
ORDER_FIELDS = f"""id name createdAt updatedAt cancelledAt email currencyCode returnStatus
      customer {{ displayName }}
      shippingAddress {{ name address1 address2 city provinceCode zip countryCodeV2 phone }}
      shippingLine {{ code title }}
      totalPriceSet {{ {_MONEY} }}
      totalRefundedSet {{ {_MONEY} }}
      transactions {{ gateway authorizationCode kind status amountSet {{ {_MONEY} }} }}"""
RETURN_FIELDS = "id name status createdAt"
RETURN_LINE_FIELDS = """id quantity returnReason customerNote
              ... on ReturnLineItem { fulfillmentLineItem { lineItem { id sku } } }"""
RETURN_REFUND_FIELDS = f"id createdAt totalRefundedSet {{ {_MONEY} }}"

ORDERS_PAGE = f"""
query OrdersPage($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      {ORDER_FIELDS}
      lineItems(first: {LINES_FIRST}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE_FIELDS} }} }}
    }}
  }}
}}"""

ORDER_IDS_PAGE = """
query OrderIdsPage($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id updatedAt returnStatus }
  }
}"""

def aliases_for(orders: int, most: int) -> int:
    """How many aliases a look-up of `orders` orders sends: the next power of two, at most `most`."""
    return min(most, 1 << (orders - 1).bit_length())


def more_lines_document(size: int, first: int = MORE_LINES_FIRST) -> str:
    """The `first` lines after a cursor, for `size` orders at once under aliases o0, o1, ...
    (variables $id0, $after0, ...): what an order page cut short (it asks for LINES_FIRST per order)."""
    params = ", ".join(f"$id{i}: ID!, $after{i}: String" for i in range(size))
    fields = "\n".join(f"""  o{i}: order(id: $id{i}) {{
    lineItems(first: {first}, after: $after{i}) {{
      pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE_FIELDS} }}
    }}
  }}""" for i in range(size))
    return f"query OrderLinesBatch({params}) {{\n{fields}\n}}"

ORDER_RETURNS = f"""
query OrderReturns($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    ... on Order {{
      id
      returns(first: 10) {{
        pageInfo {{ hasNextPage }}
        nodes {{
          {RETURN_FIELDS}
          returnLineItems(first: 10) {{ nodes {{ {RETURN_LINE_FIELDS} }} }}
          refunds(first: {RETURN_REFUNDS_FIRST}) {{ nodes {{ {RETURN_REFUND_FIELDS} }} }}
        }}
      }}
    }}
  }}
}}"""

FULFILLMENT_STATE = """
query OrderFulfillmentState($id: ID!) {
  order(id: $id) {
    id cancelledAt
    fulfillmentOrders(first: 10) { nodes { id status } }
    fulfillments(first: 20) { id status trackingInfo(first: 5) { number company url } }
  }
}"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo(first: 5) { number } }
    userErrors { field message }
  }
}"""

SHOP = "query Shop { shop { name myshopifyDomain } }"


def search_window(since: datetime, until: datetime) -> str:
    return f"updated_at:>='{_iso(since)}' AND updated_at:<'{_iso(until)}'"


def _iso(moment: datetime) -> str:
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text)     # Python 3.11 reads Shopify's "Z" itself


def parse_order(channel: str, node: dict) -> ChannelOrder | Malformed:
    """A ChannelOrder with None where Shopify sent nothing usable (validation decides later),
    or Malformed when not even the order's identity, dates or total can be read."""
    try:
        total = node["totalPriceSet"]["shopMoney"]
        return ChannelOrder(
            channel=channel, external_id=node["id"], order_number=node["name"],
            placed_at=parse_datetime(node["createdAt"]), updated_at=parse_datetime(node["updatedAt"]),
            customer_name=(node.get("customer") or {}).get("displayName"), customer_email=node.get("email"),
            ship_to=_address(node.get("shippingAddress")),
            shipping_method=(node.get("shippingLine") or {}).get("code"),
            currency=node.get("currencyCode") or total["currencyCode"], total_amount=float(total["amount"]),
            payment_ref=_payment_ref(node.get("transactions") or []),
            lines=tuple(_line(line) for line in node["lineItems"]["nodes"]),
            returns=tuple(parse_returns(channel, node)), raw=node,
            cancelled_at=parse_datetime(node["cancelledAt"]) if node.get("cancelledAt") else None,
            refunded_amount=_amount(node.get("totalRefundedSet")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Malformed(source=channel, stream="orders", external_id=str((node or {}).get("id") or ""),
                         reason=f"unreadable order: {type(exc).__name__}: {exc}", raw=node)


def _amount(money_bag: dict | None) -> float:
    """A MoneyBag's shop amount; 0.0 when absent (nothing refunded)."""
    return float(((money_bag or {}).get("shopMoney") or {}).get("amount") or 0.0)


def _address(address: dict | None) -> Address | None:
    """None when Shopify has no address we could ship to (validation quarantines the order)."""
    if not (address and address.get("address1") and address.get("city") and address.get("zip")
            and address.get("countryCodeV2")):
        return None
    line1 = address["address1"] + (f", {address['address2']}" if address.get("address2") else "")
    return Address(name=address.get("name") or "", line1=line1, city=address["city"],
                   region=address.get("provinceCode") or "", postal_code=address["zip"],
                   country=address["countryCodeV2"], phone=address.get("phone") or "")


def _payment_ref(transactions: list[dict]) -> str | None:
    """The gateway's reference of the sale (a Stripe PaymentIntent, PayPal order, Mercado Pago
    payment): whichever gateway took it, the configured PaymentGateway verifies it."""
    refs = [t.get("authorizationCode") for t in transactions
            if t.get("kind") in ("SALE", "AUTHORIZATION", "CAPTURE") and (t.get("gateway") or "").lower() != "manual"]
    return next((r for r in refs if r), None)


def _line(line: dict) -> OrderLine:
    return OrderLine(external_line_id=line["id"], sku=line.get("sku") or None, quantity=int(line["quantity"]),
                     unit_price=float(line["originalUnitPriceSet"]["shopMoney"]["amount"]),
                     weight_kg=weight_kg(line.get("variant")))


def weight_kg(variant: dict | None) -> float:
    """Weight of one unit in kg; 0.0 when Shopify does not know it (custom or deleted items)."""
    try:
        weight = variant["inventoryItem"]["measurement"]["weight"]
        per_unit = KG_PER_UNIT[weight["unit"]]
    except (TypeError, KeyError):      # a null or missing object on the way, or an unknown unit
        return 0.0
    return round(float(weight["value"]) * per_unit, 4)


def parse_returns(channel: str, order: dict) -> list[ReturnRequest]:
    """Every readable return of the order; unreadable ones surface from pull_return_requests."""
    return [r for r in open_return_requests(channel, order, statuses=None) if isinstance(r, ReturnRequest)]


def _return(channel: str, order_id: str, ret: dict) -> ReturnRequest:
    lines = []
    for item in ret["returnLineItems"]["nodes"]:
        line_item = (item.get("fulfillmentLineItem") or {}).get("lineItem") or {}
        lines.append(ReturnLine(external_line_id=line_item.get("id") or item["id"], sku=line_item.get("sku"),
                                quantity=int(item["quantity"]), reason=item.get("returnReason") or "UNKNOWN"))
    refunded = sum(_amount(refund.get("totalRefundedSet")) for refund in (ret.get("refunds") or {}).get("nodes") or [])
    return ReturnRequest(channel=channel, external_id=ret["id"], order_external_id=order_id,
                         requested_at=parse_datetime(ret["createdAt"]), lines=tuple(lines), raw=ret,
                         refunded_amount=round(refunded, 2))


def open_return_requests(channel: str, order: dict, statuses: tuple[str, ...] | None = OPEN_RETURN,
                         ) -> list[ReturnRequest | Malformed]:
    """The order's returns still to be handled (REQUESTED or OPEN), each parsed on its own."""
    found: list[ReturnRequest | Malformed] = []
    for ret in (order.get("returns") or {}).get("nodes") or []:
        if statuses is not None and ret.get("status") not in statuses:
            continue
        try:
            found.append(_return(channel, order["id"], ret))
        except (KeyError, TypeError, ValueError) as exc:
            found.append(Malformed(source=channel, stream="returns", external_id=str(ret.get("id") or ""),
                                   reason=f"unreadable return: {type(exc).__name__}: {exc}", raw=ret))
    return found


def has_returns(node: dict) -> bool:
    return node.get("returnStatus") not in (None, "NO_RETURN")


def graphql_messages(errors: Any) -> str:
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return str(errors)
