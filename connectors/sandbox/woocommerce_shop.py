"""One simulated WooCommerce shop over simulated time: orders placed (OrderFactory, deterministic
per shop and day from the seed) and paid at the payment sandbox, asynchronous payments settling
(on-hold -> processing, as the gateway's webhook does it), and after a shipped parcel is
delivered, some customers asking for a return, recorded as a returns plugin does it: the order
moves to the custom return status with a `_return_reason` meta."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from connectors.sandbox.shopify import PaymentIssuer
from connectors.sandbox.shopify_orders import OrderFactory, Shares, charge, orders_through
from connectors.sandbox.woocommerce_orders import (
    RETURN_REASON_META, SimOrder, build_order, ceil_second, order_id, return_plan, utc,
)

SALT = 17      # WooCommerce shops draw other orders than the Shopify shops of the same world


@dataclass
class Simulation:
    """What every shop of the sandbox shares."""

    seed: int
    start: datetime
    shares: Shares
    payments: PaymentIssuer
    deliveries: Callable[[str], datetime | None]
    return_status: str
    factory: Callable[[], OrderFactory]


class ShopState:
    def __init__(self, domain: str, index: int):
        self.domain, self.index = domain, index
        self.orders: list[SimOrder] = []
        self.by_id: dict[int, SimOrder] = {}
        self.next_seq, self.next_note = 1, 1
        self.generated_through: date | None = None
        self.settling: list[SimOrder] = []                      # on hold until the payment settles
        self.awaiting: dict[int, SimOrder] = {}                 # shipped, delivery not seen yet
        self.scheduled: list[tuple[datetime, SimOrder, dict]] = []

    def catch_up(self, sim: Simulation, *, through: datetime, now: datetime) -> None:
        self._generate_through(sim, max(through, now).date())
        self._settle(now)
        self._request_returns(sim, now)

    def visible(self, oid: int, now: datetime) -> SimOrder | None:
        """An order exists for the API once the clock has passed its placing."""
        order = self.by_id.get(oid)
        return order if order is not None and order.created <= now else None

    def await_delivery(self, order: SimOrder) -> None:
        if order.status == "completed" and order.tracking_items() and order.returned is None:
            self.awaiting[order.id] = order

    def _generate_through(self, sim: Simulation, last_day: date) -> None:
        gateway = getattr(sim.payments, "name", "stripe")
        for source in orders_through(sim.factory(), self, last_day=last_day, seed=sim.seed, start=sim.start,
                                     salt=SALT):
            seq = source["_seq"]
            ref = charge(sim.payments, source, metadata={"shop": self.domain, "woocommerce_order_id": str(order_id(seq))})
            order = build_order(source, seq=seq, gateway=gateway, payment_ref=ref)
            self.orders.append(order)
            self.by_id[order.id] = order
            if order.status == "on-hold":
                self.settling.append(order)

    def _settle(self, now: datetime) -> None:
        for order in [o for o in self.settling if o.payment["settle_at"] <= now]:
            self.settling.remove(order)
            if order.status == "on-hold":
                order.status, order.paid = "processing", ceil_second(order.payment["settle_at"])
                order.modified = max(order.modified, order.paid)

    def _request_returns(self, sim: Simulation, now: datetime) -> None:
        """Decide returns for parcels delivered by now; record those whose moment has come."""
        for oid, order in list(self.awaiting.items()):
            delivered = [d for d in map(sim.deliveries, (t["tracking_number"] for t in order.tracking_items())) if d]
            if not delivered or utc(min(delivered)) > now:
                continue
            del self.awaiting[oid]
            plan = return_plan(np.random.default_rng([sim.seed, self.index, order.seq, 7]), sim.shares)
            if plan:
                self.scheduled.append((utc(min(delivered)) + plan["delay"], order, plan))
        due = sorted((e for e in self.scheduled if e[0] <= now), key=lambda e: e[0])
        self.scheduled = [e for e in self.scheduled if e[0] > now]
        for at, order, plan in due:
            if order.status != "completed":
                continue                            # the merchant moved it on meanwhile
            at = ceil_second(at)
            order.status, order.returned = sim.return_status, {"at": at, "reason": plan["reason"]}
            order.set_meta(RETURN_REASON_META, plan["reason"], meta_ids(order))
            order.modified = max(order.modified, at)


def meta_ids(order: SimOrder) -> Callable[[], int]:
    """Meta ids unique per order (WooCommerce's are table-wide; nothing here depends on that)."""
    return lambda: 20 * order.seq + len(order.meta) + 1
