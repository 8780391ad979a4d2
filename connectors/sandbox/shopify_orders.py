"""What the simulated Shopify shops sell: orders, generated lazily and deterministically per
(shop, day) from the seed, and the returns customers request after delivery.

Orders are kept as dicts shaped like the GraphQL objects (so most fields resolve by name);
keys starting with `_` are the sandbox's own bookkeeping and never leave it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd

# Afternoon and evening are busiest, the small hours quiet (hour-of-day weights, UTC).
HOUR_WEIGHTS = np.array([1, .6, .4, .3, .3, .4, .8, 1.5, 2.2, 2.8, 3.2, 3.5,
                         3.8, 4.2, 4.5, 4.6, 4.5, 4.3, 4.2, 4.4, 4.6, 4.0, 3.0, 1.8])
# A third of customers on the west coast and nearby, so the LAX warehouse matters.
STATES = {"CA": 18, "WA": 6, "OR": 4, "NV": 3, "AZ": 4, "NY": 10, "NJ": 5, "PA": 5, "MA": 4,
          "TX": 10, "FL": 8, "IL": 5, "GA": 4, "OH": 4, "NC": 4, "CO": 3, "MI": 3}
SHIPPING_SHARE = {"standard": 0.7, "express": 0.2, "next_day": 0.1}
SHIPPING_PRICE = {"standard": 6.95, "express": 14.95, "next_day": 29.95}
MALFORMATIONS = ("sku_null", "zero_quantity", "no_address", "no_shipping_line", "bad_total")
DAMAGE_REASONS = ("DEFECTIVE", "NOT_AS_DESCRIBED")
OTHER_REASONS = ("SIZE_TOO_SMALL", "SIZE_TOO_LARGE", "UNWANTED", "STYLE", "COLOR", "WRONG_ITEM", "OTHER")
NOTES = {"DEFECTIVE": "Arrived broken", "NOT_AS_DESCRIBED": "Damaged, not like the photos",
         "WRONG_ITEM": "Not what I ordered", "OTHER": "Changed plans"}
LB_PER_KG = 2.20462262
MAX_LINES = 4                    # lines per order: 1 to this many (peak-day benches ask for more)


@dataclass(frozen=True)
class Shares:
    malformed: float
    returns: float
    damaged: float
    mismatch: float
    pending: float
    failed: float
    cancel: float = 0.02          # orders the customer cancels within hours (store_events)
    store_refund: float = 0.2     # return requests the merchant refunds in the store at once


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def money(amount: float, currency: str = "USD") -> dict:
    value = {"amount": f"{amount:.2f}", "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": dict(value)}


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def numeric_id(global_id: str) -> str:
    return global_id.rsplit("/", 1)[-1]


def day_rng(seed: int, shop_index: int, day: date, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, shop_index, day.toordinal(), salt])


def factory_for(world, *, shares: Shares, orders_per_day: float, max_lines: int = MAX_LINES):
    """A getter for the world's OrderFactory, built on first use (Faker takes a moment)."""
    built: list[OrderFactory] = []

    def get() -> OrderFactory:
        if not built:
            from faker import Faker
            from connectors.sandbox.catalog import demo_catalog
            built.append(OrderFactory(catalog=demo_catalog(world), sla_codes=list(world.sla), shares=shares,
                                      faker=Faker("en_US"), orders_per_day=orders_per_day,
                                      max_lines=max_lines))
        return built[0]

    return get


def orders_through(factory: "OrderFactory", state, *, last_day: date, seed: int, start: datetime,
                   salt: int = 0) -> list[dict]:
    """The orders of the days after state.generated_through up to last_day, in placing order.
    Each shop (state.index) gets its own deterministic stream per day; numbering goes on across
    days; state.next_seq and state.generated_through advance."""
    day = state.generated_through + timedelta(days=1) if state.generated_through else start.date()
    placed: list[dict] = []
    while day <= last_day:
        orders = factory.day(day_rng(seed, state.index, day, salt=salt), day=day, not_before=start,
                             shop_index=state.index, first_seq=state.next_seq)
        placed += orders
        state.next_seq += len(orders)
        state.generated_through = day
        day += timedelta(days=1)
    return placed


def charge(payments, order: dict, *, metadata: dict[str, str]) -> str:
    """Pay for an order at the gateway simulator as its checkout would; returns the gateway's reference."""
    plan = order["_payment"]
    return payments.create_payment_intent(
        amount_cents=plan["amount_cents"], currency="usd", outcome=plan["outcome"],
        created_at=order["createdAt"], settle_at=plan["settle_at"], metadata=metadata)


class OrderFactory:
    """Builds one shop's orders for one day; numbering continues across days."""

    def __init__(self, *, catalog: pd.DataFrame, sla_codes: list[str], shares: Shares, faker,
                 orders_per_day: float, max_lines: int = MAX_LINES):
        if not 1 <= max_lines <= len(catalog):
            raise ValueError(f"max_lines must be between 1 and the catalogue's {len(catalog)} SKUs")
        self.catalog = catalog.to_dict("records")      # rows as dicts: pandas row access is slow
        self.orders_per_day = orders_per_day
        self.max_lines = max_lines
        self.popularity = (catalog["popularity"] / catalog["popularity"].sum()).to_numpy()
        self.codes = sla_codes
        weights = np.array([SHIPPING_SHARE.get(c, 0.1) for c in sla_codes])
        self.code_p = weights / weights.sum()
        self.states = list(STATES)
        self.state_p = np.array(list(STATES.values()), dtype=float) / sum(STATES.values())
        self.shares = shares
        self.faker = faker

    def day(self, rng: np.random.Generator, *, day: date, not_before: datetime, shop_index: int,
            first_seq: int) -> list[dict]:
        self.faker.seed_instance(int(rng.integers(2**31)))
        count = int(rng.poisson(self.orders_per_day))
        hours = rng.choice(24, size=count, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
        seconds = np.sort(hours * 3600 + rng.integers(0, 3600, size=count))
        midnight = datetime.combine(day, time(0), tzinfo=timezone.utc)
        placed = [midnight + timedelta(seconds=int(s)) for s in seconds]
        placed = [p for p in placed if p >= not_before]
        return [self.order(rng, placed_at=p, shop_index=shop_index, seq=first_seq + i) for i, p in enumerate(placed)]

    def order(self, rng: np.random.Generator, *, placed_at: datetime, shop_index: int, seq: int) -> dict:
        fake = self.faker
        code = str(rng.choice(self.codes, p=self.code_p))
        lines = self.lines(rng, shop_index=shop_index, seq=seq)
        total = sum(float(line["originalUnitPriceSet"]["shopMoney"]["amount"]) * line["quantity"] for line in lines)
        total = round(total + SHIPPING_PRICE.get(code, 9.95), 2)
        first, last = fake.first_name(), fake.last_name()
        name = f"{first} {last}"
        number = 5_500_000_000_000 + shop_index * 1_000_000_000 + seq
        order = {
            "__typename": "Order", "id": gid("Order", number), "name": f"#{1000 + seq}",
            "createdAt": placed_at, "updatedAt": placed_at, "processedAt": placed_at,
            "email": re.sub(r"[^a-z0-9.]", "", f"{first}.{last}{seq % 97}".lower()) + f"@{fake.free_email_domain()}",
            "currencyCode": "USD", "totalPriceSet": money(total),
            "customer": {"id": gid("Customer", 7_100_000_000_000 + number % 10**9), "displayName": name},
            "shippingAddress": self.address(rng, name=name, number=number),
            "shippingLine": {"id": gid("ShippingLine", number), "code": code, "source": "shopify",
                             "title": code.replace("_", " ").title(),
                             "originalPriceSet": money(SHIPPING_PRICE.get(code, 9.95))},
            "_seq": seq, "_lines": lines, "_transactions": [], "_fulfillments": [], "_returns": [],
            "_refunds": [],
            "_fulfillment_orders": [{"__typename": "FulfillmentOrder", "status": "OPEN",
                                     "id": gid("FulfillmentOrder", number + 1_100_000_000_000),
                                     "createdAt": placed_at, "updatedAt": placed_at}],
            "_malformed": None, "_payment": self.payment_plan(rng, total=total, placed_at=placed_at),
        }
        if rng.random() < self.shares.malformed:
            break_order(order, str(rng.choice(MALFORMATIONS)))
        return order

    def lines(self, rng: np.random.Generator, *, shop_index: int, seq: int) -> list[dict]:
        picks = rng.choice(len(self.catalog), size=int(rng.integers(1, self.max_lines + 1)), replace=False,
                           p=self.popularity)
        lines = []
        for i, row_index in enumerate(picks):
            row = self.catalog[int(row_index)]
            number = 14_000_000_000_000 + shop_index * 10**10 + seq * 100 + i
            lines.append({
                "__typename": "LineItem", "id": gid("LineItem", number), "sku": row["sku"],
                "name": row["title"], "title": row["title"], "quantity": int(rng.integers(1, 4)),
                "originalUnitPriceSet": money(float(row["unit_price"])),
                "variant": variant(row, int(row_index)), "_weight_kg": float(row["weight_kg"]),
            })
        return lines

    def address(self, rng: np.random.Generator, *, name: str, number: int) -> dict:
        fake = self.faker
        state = str(rng.choice(self.states, p=self.state_p))
        first, _, last = name.partition(" ")
        return {"id": gid("MailingAddress", number), "name": name, "firstName": first, "lastName": last,
                "address1": fake.street_address(), "address2": None, "city": fake.city(),
                "province": state, "provinceCode": state, "zip": fake.zipcode_in_state(state),
                "country": "United States", "countryCodeV2": "US",
                "phone": fake.phone_number() if rng.random() < 0.7 else None}

    def payment_plan(self, rng: np.random.Generator, *, total: float, placed_at: datetime) -> dict:
        roll = rng.random()
        outcome = "failed" if roll < self.shares.failed else (
            "processing" if roll < self.shares.failed + self.shares.pending else "succeeded")
        amount = total * rng.uniform(0.5, 0.95) if rng.random() < self.shares.mismatch else total
        settle_at = placed_at + timedelta(hours=float(rng.uniform(2, 10))) if outcome == "processing" else None
        return {"outcome": outcome, "amount_cents": int(round(amount * 100)), "settle_at": settle_at}


def variant(row, index: int) -> dict:
    """Shops record weights in whatever unit they like; the connector converts to kg."""
    kg = float(row["weight_kg"])
    unit, value = [("KILOGRAMS", kg), ("GRAMS", round(kg * 1000, 1)), ("POUNDS", round(kg * LB_PER_KG, 3))][index % 3]
    number = 44_000_000_000_000 + index
    return {"id": gid("ProductVariant", number), "sku": row["sku"], "title": "Default Title",
            "inventoryItem": {"id": gid("InventoryItem", number), "sku": row["sku"],
                              "measurement": {"id": gid("InventoryItemMeasurement", number),
                                              "weight": {"unit": unit, "value": value}}}}


def break_order(order: dict, kind: str) -> None:
    """Damage an order the way real shops' data is damaged (imports, deleted products, apps)."""
    order["_malformed"] = kind
    if kind == "sku_null":            # a custom line item: no SKU, no variant
        order["_lines"][0].update(sku=None, variant=None)
    elif kind == "zero_quantity":     # an edited-away line left behind
        order["_lines"][-1]["quantity"] = 0
    elif kind == "no_address":        # e.g. a draft order completed without shipping
        order["shippingAddress"] = None
    elif kind == "no_shipping_line":
        order["shippingLine"] = None
    elif kind == "bad_total":         # off-contract on purpose: Shopify's Decimal is never "12,34", but
        # the client must survive an amount it cannot read; the contract test flags exactly these
        amount = order["totalPriceSet"]["shopMoney"]["amount"].replace(".", ",")
        order["totalPriceSet"] = {"shopMoney": {"amount": amount, "currencyCode": "USD"},
                                  "presentmentMoney": {"amount": amount, "currencyCode": "USD"}}


def return_plan(rng: np.random.Generator, order: dict, shares: Shares) -> dict | None:
    """Whether (and how) this order's customer sends something back after delivery."""
    if rng.random() >= shares.returns:
        return None
    damaged = rng.random() < shares.damaged
    fulfilled = order["_fulfillments"][0]["_lines"]
    picks = rng.choice(len(fulfilled), size=min(len(fulfilled), int(rng.integers(1, 3))), replace=False)
    lines = []
    for index in sorted(int(i) for i in picks):
        reason = str(rng.choice(DAMAGE_REASONS if damaged else OTHER_REASONS))
        quantity = int(rng.integers(1, max(1, fulfilled[index]["quantity"]) + 1))
        lines.append((index, quantity, reason))
    return {"delay": timedelta(days=float(rng.uniform(1, 3))), "lines": lines}


def make_return(order: dict, plan: dict, *, at: datetime) -> dict:
    fulfilled = order["_fulfillments"][0]["_lines"]
    number = int(numeric_id(order["id"])) + 2_200_000_000_000
    items = [{"__typename": "ReturnLineItem", "id": gid("ReturnLineItem", number * 10 + i), "quantity": qty,
              "returnReason": reason, "returnReasonNote": "", "customerNote": NOTES.get(reason),
              "fulfillmentLineItem": fulfilled[index]}
             for i, (index, qty, reason) in enumerate(plan["lines"])]
    return {"__typename": "Return", "id": gid("Return", number), "name": f"{order['name']}-R1",
            "status": "REQUESTED", "createdAt": at, "totalQuantity": sum(i["quantity"] for i in items),
            "_order": order, "_lines": items, "_refunds": []}


def return_status(order: dict) -> str:
    statuses = {r["status"] for r in order["_returns"]}
    if "REQUESTED" in statuses:
        return "RETURN_REQUESTED"
    if "OPEN" in statuses:
        return "IN_PROGRESS"
    return "RETURNED" if "CLOSED" in statuses else "NO_RETURN"
