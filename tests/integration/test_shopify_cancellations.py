"""Cancellations and store-side refunds through the Shopify connector, against the Shopify sandbox
over real HTTP: `Order.cancelledAt` arrives on the next incremental pull, `totalRefundedSet` and
`Return.refunds` become refunded amounts, and a cancelled order is never fulfilled. Every answer is
checked against Shopify's answer shapes (shopify_shapes.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from shopify_fakes import FakeDeliveries, FakePayments, FakeTime
from shopify_shapes import ShapeRecorder

from connectors.errors import PermanentApiError
from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults
from connectors.sandbox.shopify import ShopifySandbox
from connectors.sandbox.store_events import cancel_at
from connectors.storefronts import shopify_parse as gql
from connectors.storefronts.shopify import ShopifyStorefront
from domain.records import ChannelOrder, ReturnRequest

START = datetime(2026, 11, 2, tzinfo=timezone.utc)
DOMAIN = "cumplido-demo.myshopify.com"
SEED = 7


@dataclass
class Shop:
    sandbox: ShopifySandbox
    clock: SimClock
    deliveries: FakeDeliveries
    storefront: ShopifyStorefront
    recorder: ShapeRecorder

    def truth(self) -> dict[str, dict]:
        return {o["id"]: o for o in self.sandbox.orders_as_of(DOMAIN, self.clock.now())}

    def pull(self, since: datetime, until: datetime) -> list[ChannelOrder]:
        return [r for page in self.storefront.pull_orders(since=since, until=until) for r in page]

    def until_now(self) -> datetime:
        return self.clock.now() + timedelta(seconds=1)

    def push(self, order_id: str, number: str):
        return self.storefront.push_fulfillment(order_external_id=order_id, tracking_number=number,
                                                carrier_name="UPS", tracking_url=f"https://ups.example/{number}")


@pytest.fixture
def open_shop(world, switchboard):
    def make(*, days: float = 1, **options) -> Shop:
        clock, fake_time, deliveries = SimClock(START), FakeTime(), FakeDeliveries()
        sandbox = ShopifySandbox(clock=clock, world=world, seed=SEED, start=START, orders_per_day=120,
                                 payments=FakePayments(), deliveries=deliveries, faults=Faults(retry_after="0"),
                                 monotonic=fake_time.monotonic, **{"malformed_share": 0.0, **options})
        switchboard[1]["app"] = sandbox
        clock.advance(timedelta(days=days, minutes=17))
        storefront = ShopifyStorefront(channel="shopify-main", api_base=f"{switchboard[0]}/{DOMAIN}",
                                       access_token="shpat_sandbox", api_version="2025-10", sleep=fake_time.sleep)
        return Shop(sandbox, clock, deliveries, storefront, ShapeRecorder().attach(storefront._http.session))
    return make


def planned_cancellation(shop: Shop, order: dict) -> datetime | None:
    raw = next(o for o in shop.sandbox.shops[DOMAIN].orders if o["id"] == order["id"])
    return cancel_at(seed=SEED, shop_index=0, seq=raw["_seq"], placed_at=raw["createdAt"],
                     share=shop.sandbox.shares.cancel)


def test_a_cancellation_arrives_with_cancelled_at_on_the_next_incremental_pull(open_shop):
    shop = open_shop(cancel_share=0.3)
    cut = shop.until_now()
    first = {r.external_id: r for r in shop.pull(START, cut)}
    pending = [o for o in shop.truth().values() if o["cancelled_at"] is None and
               (planned_cancellation(shop, o) or cut) > cut]
    shipped_first = pending[0]                           # fulfilled before its customer cancels: stays
    shop.push(shipped_first["id"], "1ZCANCEL0001")
    shop.clock.advance(timedelta(hours=7))
    second = {r.external_id: r for r in shop.pull(cut - timedelta(minutes=5), shop.until_now())}
    truth = shop.truth()

    cancelled_before = [o for o in truth.values() if o["cancelled_at"] and o["cancelled_at"] < cut]
    assert cancelled_before and all(first[o["id"]].cancelled_at == o["cancelled_at"] for o in cancelled_before)
    cancelled_since = [truth[o["id"]] for o in pending if truth[o["id"]]["cancelled_at"]]
    assert len(cancelled_since) >= 2
    for order in cancelled_since:
        assert first[order["id"]].cancelled_at is None                     # still open at the first pull...
        pulled = second[order["id"]]                                       # ...its cancellation came back
        assert pulled.cancelled_at == order["cancelled_at"] == pulled.updated_at > cut
        assert pulled.refunded_amount == 0.0 and order["fulfillment_order_status"] == ["CLOSED"]
    assert truth[shipped_first["id"]]["cancelled_at"] is None
    assert second[shipped_first["id"]].cancelled_at is None
    assert all(r.cancelled_at is None for r in second.values() if r.external_id not in
               {o["id"] for o in truth.values() if o["cancelled_at"]})
    shop.recorder.assert_clean()


def test_a_fulfillment_for_a_cancelled_order_is_refused_clearly(open_shop):
    shop = open_shop(cancel_share=0.3)
    [order, *_] = [o for o in shop.truth().values() if o["cancelled_at"]]

    with pytest.raises(PermanentApiError, match=r"cancelled in Shopify at 2026-11-0\dT"):
        shop.push(order["id"], "1ZCANCEL0002")
    # Shopify's own refusal, should the cancellation land between our read and our write:
    raw = next(o for o in shop.sandbox.shops[DOMAIN].orders if o["id"] == order["id"])
    refused = shop.storefront._query("FulfillmentCreate", gql.FULFILLMENT_CREATE, {"fulfillment": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": raw["_fulfillment_orders"][0]["id"]}]}},
        reread=False)["fulfillmentCreate"]

    assert refused["fulfillment"] is None and "unfulfillable status= closed" in refused["userErrors"][0]["message"]
    assert shop.sandbox.fulfillments(DOMAIN) == []
    shop.recorder.assert_clean()


def test_store_refunded_returns_and_orders_carry_their_refunded_amounts(open_shop):
    shop = open_shop(return_share=1.0, store_refund_share=0.5, cancel_share=0.0)
    orders = list(shop.truth().values())[:10]
    for n, order in enumerate(orders):
        shop.push(order["id"], f"TRK{n:04d}")
    shop.deliveries.delivered.update({f"TRK{n:04d}": shop.clock.now() for n in range(len(orders))})
    shop.clock.advance(timedelta(days=3, hours=1))
    found = [r for page in shop.storefront.pull_return_requests(since=START, until=shop.until_now()) for r in page]
    returns = {r["id"]: r for r in shop.sandbox.returns_as_of(DOMAIN, shop.clock.now())}
    pulled = {r.external_id: r for r in shop.pull(START, shop.until_now())}
    truth = shop.truth()

    assert sorted(r.external_id for r in found) == sorted(returns)
    refunded = [r for r in found if r.refunded_amount > 0]
    assert refunded and len(refunded) < len(found)                        # some refunded in the store, not all
    for request in found:
        expected = returns[request.external_id]
        assert isinstance(request, ReturnRequest) and request.refunded_amount == pytest.approx(expected["refunded"])
        if request.refunded_amount:                                        # the returned items, at their price
            prices = {line["id"]: line["unit_price"] for line in truth[request.order_external_id]["lines"]}
            assert request.refunded_amount == pytest.approx(
                sum(prices[line.external_line_id] * line.quantity for line in request.lines))
            assert expected["status"] == "OPEN"
        order = pulled[request.order_external_id]
        assert order.refunded_amount == pytest.approx(truth[order.external_id]["refunded"])
        assert order.refunded_amount == pytest.approx(sum(r.refunded_amount for r in order.returns))
        assert [r.refunded_amount for r in order.returns] == [request.refunded_amount]
    assert all(r.refunded_amount == 0.0 for r in pulled.values() if r.external_id not in
               {o["id"] for o in orders})
    shop.recorder.assert_clean()
