"""One simulated shop's state: its orders and everything hanging off them, the fulfillment
mutation, and plain-dict snapshots of it all for tests (the ground truth)."""
from __future__ import annotations

from datetime import datetime, timedelta

from connectors.sandbox.shopify_cost import LeakyBucket
from connectors.sandbox.shopify_orders import gid, numeric_id

FULFILLABLE = ("OPEN", "IN_PROGRESS")


def ceil_second(moment: datetime) -> datetime:
    """Shopify timestamps have whole seconds; rounding *up* keeps an update from landing
    before a sync window that already closed."""
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)


def user_error(field: list[str], message: str) -> dict:
    return {"fulfillment": None, "userErrors": [{"field": field, "message": message}]}


class ShopState:
    def __init__(self, *, domain: str, index: int, bucket: LeakyBucket):
        self.domain = domain
        self.index = index
        self.bucket = bucket
        self.orders: list[dict] = []
        self.objects: dict[str, tuple[dict, dict]] = {}   # gid -> (object, the order it belongs to)
        self.next_seq = 1
        self.generated_through = None                      # last simulated day generated
        self.awaiting_delivery: dict[str, dict] = {}       # fulfilled orders, return not decided yet
        self.scheduled_returns: list[tuple[datetime, dict, dict]] = []
        self.fulfillment_log: list[dict] = []
        self.bulk_exports: list = []                       # shopify_bulk.BulkExport, oldest first
        label = domain.split(".")[0].replace("-", " ").title()
        self.info = {"id": gid("Shop", 60_000_000 + index), "name": label, "myshopifyDomain": domain,
                     "currencyCode": "USD", "ianaTimezone": "Etc/UTC"}

    def add(self, order: dict) -> None:
        self.orders.append(order)
        self.objects[order["id"]] = (order, order)
        for fo in order["_fulfillment_orders"]:
            self.objects[fo["id"]] = (fo, order)

    def find(self, global_id: str, now: datetime, kind: str | None = None) -> dict | None:
        """An object by gid, if it exists at `now` (orders placed later do not exist yet)."""
        obj, order = self.objects.get(global_id, (None, None))
        if obj is None or order["createdAt"] > now:
            return None
        return obj if kind is None or obj.get("__typename") == kind else None

    def create_fulfillment(self, data: dict, *, message: str | None, now: datetime) -> dict:
        """fulfillmentCreate: fulfil whole fulfillment orders of one order, then close them."""
        entries = data.get("lineItemsByFulfillmentOrder") or []
        if not entries:
            return user_error(["fulfillment", "lineItemsByFulfillmentOrder"],
                              "Line items by fulfillment order must contain at least one fulfillment order.")
        found = []
        for entry in entries:
            fo = self.find(entry["fulfillmentOrderId"], now, kind="FulfillmentOrder")
            if fo is None:
                return user_error(["fulfillment"], "Fulfillment order does not exist.")
            if fo["status"] not in FULFILLABLE:
                return user_error(["fulfillment"], f"Fulfillment order {numeric_id(fo['id'])} has an "
                                                   f"unfulfillable status= {fo['status'].lower()}.")
            found.append(fo)
        orders = {self.objects[fo["id"]][1]["id"]: self.objects[fo["id"]][1] for fo in found}
        if len(orders) > 1:
            return user_error(["fulfillment"], "All fulfillment orders must belong to the same order.")
        order = next(iter(orders.values()))
        at = ceil_second(now)
        fulfillment = self._fulfillment(order, data.get("trackingInfo") or {}, at)
        for fo in found:
            fo.update(status="CLOSED", updatedAt=at)
        order["updatedAt"] = max(order["updatedAt"], at)
        order["_fulfillments"].append(fulfillment)
        self.objects[fulfillment["id"]] = (fulfillment, order)
        self.awaiting_delivery[order["id"]] = order
        self.fulfillment_log.append({"order_id": order["id"], "order_name": order["name"],
                                     "fulfillment_id": fulfillment["id"], "created_at": at,
                                     "tracking": [dict(t) for t in fulfillment["_tracking"]],
                                     "notify_customer": bool(data.get("notifyCustomer")), "message": message})
        return {"fulfillment": fulfillment, "userErrors": []}

    def _fulfillment(self, order: dict, tracking: dict, at: datetime) -> dict:
        number = 5_900_000_000_000 + self.index * 10**9 + len(self.fulfillment_log) + 1
        numbers = tracking.get("numbers") or ([tracking["number"]] if tracking.get("number") else [])
        urls = tracking.get("urls") or ([tracking["url"]] if tracking.get("url") else [])
        infos = [{"number": n, "company": tracking.get("company"), "url": urls[i] if i < len(urls) else None}
                 for i, n in enumerate(numbers)]
        lines = [{"__typename": "FulfillmentLineItem", "id": gid("FulfillmentLineItem", number * 10 + i),
                  "quantity": line["quantity"], "lineItem": line} for i, line in enumerate(order["_lines"])]
        n = len(order["_fulfillments"]) + 1
        return {"__typename": "Fulfillment", "id": gid("Fulfillment", number), "name": f"{order['name']}-F{n}",
                "status": "SUCCESS", "createdAt": at, "updatedAt": at, "_tracking": infos, "_lines": lines}


def order_snapshot(order: dict) -> dict:
    transaction = order["_transactions"][0] if order["_transactions"] else {}
    line = order.get("shippingLine") or {}
    return {
        "id": order["id"], "name": order["name"], "created_at": order["createdAt"],
        "updated_at": order["updatedAt"], "malformed": order["_malformed"], "email": order["email"],
        "shipping_method": line.get("code"), "total": order["totalPriceSet"]["shopMoney"]["amount"],
        "currency": order["currencyCode"], "payment_ref": transaction.get("authorizationCode"),
        "payment_outcome": order["_payment"]["outcome"], "payment_amount_cents": order["_payment"]["amount_cents"],
        "ship_to_region": (order.get("shippingAddress") or {}).get("provinceCode"),
        "lines": [{"id": li["id"], "sku": li["sku"], "quantity": li["quantity"], "weight_kg": li["_weight_kg"],
                   "unit_price": float(li["originalUnitPriceSet"]["shopMoney"]["amount"])} for li in order["_lines"]],
        "fulfillment_order_status": [fo["status"] for fo in order["_fulfillment_orders"]],
        "tracking_numbers": [t["number"] for f in order["_fulfillments"] for t in f["_tracking"]],
        "return_ids": [r["id"] for r in order["_returns"]],
        "cancelled_at": order.get("cancelledAt"),
        "refunded": round(sum(float(r["totalRefundedSet"]["shopMoney"]["amount"]) for r in order["_refunds"]), 2),
    }


def return_snapshot(ret: dict) -> dict:
    return {"id": ret["id"], "name": ret["name"], "order_id": ret["_order"]["id"], "status": ret["status"],
            "created_at": ret["createdAt"],
            "refunded": round(sum(float(r["totalRefundedSet"]["shopMoney"]["amount"]) for r in ret["_refunds"]), 2),
            "lines": [{"line_item_id": li["fulfillmentLineItem"]["lineItem"]["id"],
                       "sku": li["fulfillmentLineItem"]["lineItem"]["sku"], "quantity": li["quantity"],
                       "reason": li["returnReason"]} for li in ret["_lines"]]}
