"""Cancellations and store-side refunds in the simulated Shopify shops, with the part of the
2025-10 Admin schema that shows them (shopify.dev/docs/api/admin-graphql/2025-10):

  Order.cancelledAt (DateTime, null unless cancelled), Order.cancelReason (OrderCancelReason),
  Order.totalRefundedSet (MoneyBag!), Order.refunds(first:) ([Refund!]!);
  Refund {id, createdAt (DateTime), updatedAt, note, totalRefundedSet (MoneyBag!), order, return};
  Return.refunds(first:, after:) (RefundConnection!: the refunds issued through the return).

A cancelled order's open fulfillment orders are closed, so fulfillmentCreate on them answers
Shopify's userError ("... has an unfulfillable status= closed.")."""
from __future__ import annotations

from datetime import datetime

from connectors.sandbox.shopify_orders import gid, money, numeric_id

SDL = '''
enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }

type Refund implements Node {
  id: ID!
  createdAt: DateTime
  updatedAt: DateTime!
  note: String
  totalRefundedSet: MoneyBag!
  order: Order!
  return: Return
}

type RefundEdge {
  cursor: String!
  node: Refund!
}

type RefundConnection {
  edges: [RefundEdge!]!
  nodes: [Refund!]!
  pageInfo: PageInfo!
}

extend type Order {
  cancelledAt: DateTime
  cancelReason: OrderCancelReason
  totalRefundedSet: MoneyBag!
  refunds(first: Int): [Refund!]!
}

extend type Return {
  refunds(first: Int, after: String): RefundConnection!
}
'''
OPEN_WORK = ("OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD", "INCOMPLETE")


def total_refunded(order: dict) -> dict:
    return money(sum(float(r["totalRefundedSet"]["shopMoney"]["amount"]) for r in order["_refunds"]),
                 order["currencyCode"])


def cancel(order: dict, *, at: datetime, reason: str = "CUSTOMER") -> bool:
    """orderCancel as the customer's request: only before anything shipped; closes the open
    fulfillment orders. True if the order was cancelled."""
    if order.get("cancelledAt") or order["_fulfillments"]:
        return False
    order.update(cancelledAt=at, cancelReason=reason, updatedAt=max(order["updatedAt"], at))
    for fo in order["_fulfillment_orders"]:
        if fo["status"] in OPEN_WORK:
            fo.update(status="CLOSED", updatedAt=at)
    return True


def refund_return(shop, order: dict, ret: dict, *, at: datetime, gateway: str) -> dict:
    """The merchant refunds the returned items in Shopify when the request arrives (returnProcess
    with a refund): a Refund linked to the return, a REFUND transaction on the order, and the
    return approved (OPEN)."""
    amount = round(sum(float(item["fulfillmentLineItem"]["lineItem"]["originalUnitPriceSet"]["shopMoney"]["amount"])
                       * item["quantity"] for item in ret["_lines"]), 2)
    number = int(numeric_id(order["id"])) + 3_300_000_000_000 + len(order["_refunds"])
    refund = {"__typename": "Refund", "id": gid("Refund", number), "createdAt": at, "updatedAt": at,
              "note": f"Return {ret['name']}", "totalRefundedSet": money(amount, order["currencyCode"]),
              "_order": order, "_return": ret}
    order["_refunds"].append(refund)
    ret["_refunds"].append(refund)
    ret["status"] = "OPEN"
    order["_transactions"].append({
        "__typename": "OrderTransaction", "id": gid("OrderTransaction", number + 1_000_000_000_000),
        "gateway": gateway, "authorizationCode": None, "kind": "REFUND", "status": "SUCCESS",
        "amountSet": money(amount, order["currencyCode"]), "createdAt": at, "processedAt": at})
    order["updatedAt"] = max(order["updatedAt"], at)
    shop.objects[refund["id"]] = (refund, order)
    return refund


RESOLVERS = {
    ("Order", "totalRefundedSet"): lambda order, _info: total_refunded(order),
    ("Refund", "order"): lambda refund, _info: refund["_order"],
    ("Refund", "return"): lambda refund, _info: refund["_return"],
}
