"""Batched fulfillment pushes to Shopify (one `nodes(ids:)` look-up and one aliased mutation
document per 50 orders) against the Shopify sandbox over real HTTP: each order fulfilled exactly
once however often a batch is pushed or its answer is lost, and one order's refusal fails that
order alone. Every answer is checked against Shopify's answer shapes (shopify_shapes.py)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from shopify_fakes import FakeDeliveries, FakePayments, FakeTime
from shopify_shapes import ShapeRecorder

from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults
from connectors.sandbox.shopify import ShopifySandbox
from connectors.storefronts.shopify import ShopifyStorefront
from domain.records import FulfillmentNotice

START = datetime(2026, 11, 2, tzinfo=timezone.utc)
DOMAIN = "cumplido-demo.myshopify.com"


class LoseBatchAnswers:
    """WSGI middleware: Shopify runs the next `count` batch mutations, but their answers arrive cut
    in half (the connection dropped on the way back)."""

    def __init__(self, app, count: int = 1):
        self.app, self.count, self.mutations = app, count, 0

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        if b"FulfillmentCreateBatch" not in body:
            return self.app(environ, start_response)
        self.mutations += 1
        captured = {}
        answer = b"".join(self.app(environ, lambda status, headers, exc_info=None: captured.update(status=status)))
        if self.count:
            self.count -= 1
            answer = answer[: len(answer) // 2]
        start_response(captured["status"], [("Content-Type", "application/json"),
                                            ("Content-Length", str(len(answer)))])
        return [answer]


@pytest.fixture
def shop(world, switchboard):
    clock, fake_time = SimClock(START), FakeTime()
    sandbox = ShopifySandbox(clock=clock, world=world, seed=7, start=START, orders_per_day=120,
                             payments=FakePayments(), deliveries=FakeDeliveries(), faults=Faults(retry_after="0"),
                             monotonic=fake_time.monotonic, cancel_share=0.1, malformed_share=0.0)
    switchboard[1]["app"] = sandbox
    clock.advance(timedelta(days=1, hours=8))
    recorders: list[ShapeRecorder] = []

    def storefront() -> ShopifyStorefront:
        client = ShopifyStorefront(channel="shopify-main", api_base=f"{switchboard[0]}/{DOMAIN}",
                                   access_token="shpat_sandbox", api_version="2025-10", sleep=fake_time.sleep)
        recorders.append(ShapeRecorder().attach(client._http.session))
        return client

    sandbox.storefront, sandbox.recorders = storefront, recorders
    sandbox.orders = sandbox.orders_as_of(DOMAIN, clock.now())
    sandbox.switchboard = switchboard[1]
    yield sandbox
    for recorder in recorders:
        recorder.assert_clean()


def notices(orders: list[dict], prefix: str = "1Z") -> list[FulfillmentNotice]:
    return [FulfillmentNotice(order_external_id=o["id"], tracking_number=f"{prefix}{n:05d}", carrier_name="UPS",
                              tracking_url=f"https://ups.example/{prefix}{n:05d}") for n, o in enumerate(orders)]


def fulfilled_orders(shop) -> list[str]:
    return [f["order_id"] for f in shop.fulfillments(DOMAIN)]


def test_pushing_the_same_batch_twice_fulfils_each_order_once(shop):
    batch = notices(shop.orders)                 # > 100 orders: several look-ups and mutation documents
    cancelled = {o["id"] for o in shop.orders if o["cancelled_at"]}
    storefront = shop.storefront()

    first = storefront.push_fulfillments(batch)
    again = storefront.push_fulfillments(batch)

    assert len(batch) > 100 and cancelled
    assert [r.notice for r in first] == batch == [r.notice for r in again]      # one result per item, in order
    assert all(r.pushed and not r.pushed.already_existed for r in first if r.notice.order_external_id not in cancelled)
    assert all(r.pushed.already_existed for r in again if r.notice.order_external_id not in cancelled)
    assert [r.pushed.external_fulfillment_id for r in first if r.pushed] == \
           [r.pushed.external_fulfillment_id for r in again if r.pushed]
    assert sorted(fulfilled_orders(shop)) == sorted({o["id"] for o in shop.orders} - cancelled)   # each once
    refused = [r for r in first + again if not r.pushed]
    assert all("cancelled in Shopify" in r.error and not r.retryable for r in refused)
    [recorder] = shop.recorders
    documents = -(-len(batch) // 50)                       # the second push sent no mutation at all
    assert recorder.seen["FulfillmentCreateBatch 200"] == documents
    assert recorder.seen["FulfillmentStates 200"] == 2 * documents


def test_one_orders_refusal_fails_that_order_alone(shop):
    open_orders = [o for o in shop.orders if not o["cancelled_at"]]
    storefront = shop.storefront()
    storefront.push_fulfillment(order_external_id=open_orders[0]["id"], tracking_number="OTHER1", carrier_name="UPS",
                                tracking_url="https://ups.example/OTHER1")
    missing = FulfillmentNotice("gid://shopify/Order/1", "NOPE1", "UPS", "https://ups.example/NOPE1")
    batch = notices(open_orders[:6]) + [missing]

    results = storefront.push_fulfillments(batch)

    assert "no open fulfillment order" in results[0].error                 # fulfilled by another number
    assert "not found" in results[-1].error
    assert all(r.pushed and not r.pushed.already_existed for r in results[1:-1])
    assert not any(r.retryable for r in results)
    assert sorted(fulfilled_orders(shop)) == sorted(o["id"] for o in open_orders[:6])


def test_a_lost_batch_answer_is_looked_up_never_sent_again(shop):
    lose = LoseBatchAnswers(shop, count=1)
    shop.switchboard["app"] = lose
    batch = notices([o for o in shop.orders if not o["cancelled_at"]][:30])

    results = shop.storefront().push_fulfillments(batch)

    assert lose.mutations == 1                                             # answered by a look-up
    assert all(r.pushed and not r.pushed.already_existed for r in results)
    assert sorted(fulfilled_orders(shop)) == sorted(n.order_external_id for n in batch)


def test_two_notices_for_one_order_fulfil_it_once(shop):
    order = next(o for o in shop.orders if not o["cancelled_at"])
    [notice] = notices([order])

    first, second = shop.storefront().push_fulfillments([notice, notice])

    assert not first.pushed.already_existed and second.pushed.already_existed
    assert first.pushed.external_fulfillment_id == second.pushed.external_fulfillment_id
    assert fulfilled_orders(shop) == [order["id"]]


def test_a_shop_that_stays_unreachable_leaves_every_order_for_the_next_run(shop):
    shop.faults.error_share = 1.0
    storefront = shop.storefront()
    storefront.max_retries = storefront._http.max_retries = 1

    results = storefront.push_fulfillments(notices(shop.orders[:60]))

    assert all(r.retryable and not r.pushed for r in results) and fulfilled_orders(shop) == []
