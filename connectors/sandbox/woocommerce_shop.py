"""One simulated WooCommerce shop over simulated time: orders placed (OrderFactory, deterministic
per shop and day from the seed) and paid at the payment sandbox, asynchronous payments settling
(on-hold -> processing, as the gateway's webhook does it), and after a shipped parcel is
delivered, some customers asking for a return, recorded as a returns plugin does it: the order
moves to the custom return status with a `_return_reason` meta. A few customers cancel within
hours, before the order shipped (status `cancelled`, with WooCommerce's status-change note), and
the merchant refunds some return requests in WooCommerce at once: a refund of the returned
items (the shipping is kept, so the order stays in the return status), listed in `refunds`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from connectors.sandbox.shopify import PaymentIssuer
from connectors.sandbox.shopify_orders import OrderFactory, Shares, charge, orders_through
from connectors.sandbox.store_events import Timeline, cancel_at, refunded_in_store
from connectors.sandbox.woocommerce_orders import (
    RETURN_REASON_META, SimOrder, build_order, ceil_second, order_id, return_plan, utc,
)

SALT = 17      # WooCommerce shops draw other orders than the Shopify shops of the same world
CANCELLABLE = {"pending": "Pending payment", "processing": "Processing", "on-hold": "On hold"}


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
        self.cancels = Timeline()                               # customers' cancellations to come

    def catch_up(self, sim: Simulation, *, through: datetime, now: datetime) -> None:
        self._generate_through(sim, max(through, now).date())
        self._settle(now)
        self._cancel(now)
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
            order.cancel_at = cancel_at(seed=sim.seed, shop_index=self.index, seq=seq, placed_at=order.created,
                                        share=sim.shares.cancel)
            self.cancels.add(order.cancel_at, order)
            self.orders.append(order)
            self.by_id[order.id] = order
            if order.status == "on-hold":
                self.settling.append(order)

    def _settle(self, now: datetime) -> None:
        for order in [o for o in self.settling if o.payment["settle_at"] <= now]:
            self.settling.remove(order)
            if order.cancel_at and order.cancel_at < order.payment["settle_at"]:
                continue                            # the customer cancelled before it settled (_cancel)
            if order.status == "on-hold":
                order.status, order.paid = "processing", ceil_second(order.payment["settle_at"])
                order.modified = max(order.modified, order.paid)

    def _cancel(self, now: datetime) -> None:
        """The customer's cancellation, as the merchant records it, unless the order shipped."""
        for at, order in self.cancels.due(now):
            if order.status not in CANCELLABLE or order.tracking_items():
                continue
            self.note(order, f"Order status changed from {CANCELLABLE[order.status]} to Cancelled.", at=at)
            order.status = "cancelled"
            order.modified = max(order.modified, ceil_second(at))

    def note(self, order: SimOrder, text: str, *, at: datetime) -> None:
        order.notes.append({"id": self.next_note, "at": ceil_second(at), "note": text, "customer_note": False,
                            "added_by_user": False})
        self.next_note += 1

    def _refund(self, order: SimOrder, *, at: datetime, reason: str) -> None:
        """A partial refund of the line items (shipping kept), as wc_create_refund records it."""
        amount = round(sum(float(li["total"]) for li in order.data["line_items"]), 2)
        order.refunds.append({"id": order.id + 1 + len(order.refunds), "at": at, "amount": amount,
                              "reason": f"Return requested: {reason}"})
        self.note(order, f"Refunded ${amount:.2f} – Return requested: {reason}", at=at)

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
            if refunded_in_store(seed=sim.seed, shop_index=self.index, seq=order.seq, share=sim.shares.store_refund):
                self._refund(order, at=at, reason=plan["reason"])


def meta_ids(order: SimOrder) -> Callable[[], int]:
    """Meta ids unique per order (WooCommerce's are table-wide; nothing here depends on that)."""
    return lambda: 20 * order.seq + len(order.meta) + 1
