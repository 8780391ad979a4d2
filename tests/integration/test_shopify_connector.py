"""The Shopify storefront connector against the Shopify sandbox, over real HTTP on 127.0.0.1.
Nothing is mocked but time: sleeps go to a FakeTime that the sandbox's cost bucket also reads."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from shopify_fakes import FakeDeliveries, FakePayments, FakeTime

from connectors.errors import PermanentApiError
from connectors.protocols import Storefront
from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults
from connectors.sandbox.server import serve
from connectors.sandbox.shopify import ShopifySandbox
from connectors.storefronts.shopify import ShopifyStorefront
from domain.records import ChannelOrder, Malformed, ReturnRequest

START = datetime(2026, 11, 2, tzinfo=timezone.utc)
DOMAIN = "cumplido-demo.myshopify.com"


@dataclass
class Shop:
    sandbox: ShopifySandbox
    clock: SimClock
    time: FakeTime
    payments: FakePayments
    deliveries: FakeDeliveries
    url: str

    def storefront(self, *, token: str = "shpat_sandbox") -> ShopifyStorefront:
        return ShopifyStorefront(channel="shopify-main", api_base=f"{self.url}/{DOMAIN}", access_token=token,
                                 api_version="2025-10", sleep=self.time.sleep)

    def truth(self, moment: datetime | None = None) -> list[dict]:
        return self.sandbox.orders_as_of(DOMAIN, moment or self.clock.now())


class Router:
    """One real HTTP server for the module (stopping one takes half a second); each test
    plugs its own sandbox in."""

    sandbox = None

    def __call__(self, environ, start_response):
        return self.sandbox(environ, start_response)


@pytest.fixture(scope="module")
def server():
    router = Router()
    running = serve(router)
    yield running, router
    running.stop()


@pytest.fixture
def open_shop(world, server):
    running, router = server

    def make(*, days: float = 2, faults: Faults | None = None, **options) -> Shop:
        fake_time, clock = FakeTime(), SimClock(START)
        payments, deliveries = FakePayments(), FakeDeliveries()
        settings = {"orders_per_day": 120, "seed": 7, **options}
        router.sandbox = ShopifySandbox(clock=clock, world=world, start=START, payments=payments,
                                        deliveries=deliveries, faults=faults or Faults(retry_after="0"),
                                        monotonic=fake_time.monotonic, **settings)
        clock.advance(timedelta(days=days, minutes=17))
        return Shop(router.sandbox, clock, fake_time, payments, deliveries, running.url)

    return make


def pull_all(storefront: ShopifyStorefront, since: datetime, until: datetime) -> list[list]:
    return list(storefront.pull_orders(since=since, until=until))


def until_now(shop: Shop) -> datetime:
    return shop.clock.now() + timedelta(seconds=1)


def test_a_full_sync_returns_every_order_of_the_window_once(open_shop):
    shop = open_shop()
    storefront = shop.storefront()
    pages = pull_all(storefront, START, until_now(shop))
    pulled = [r for page in pages for r in page]
    truth = {o["id"]: o for o in shop.truth()}

    assert isinstance(storefront, Storefront)
    assert len(pages) >= 3 and all(len(page) <= 100 for page in pages)
    assert sorted(r.external_id for r in pulled) == sorted(truth)          # nothing lost, nothing twice
    updated = [r.updated_at for r in pulled if isinstance(r, ChannelOrder)]
    assert updated == sorted(updated)                                      # oldest update first


def test_pulled_orders_are_normalised_to_kg_codes_and_payment_refs(open_shop):
    shop = open_shop(malformed_share=0.0)
    truth = {o["id"]: o for o in shop.truth()}
    pulled = [r for page in pull_all(shop.storefront(), START, until_now(shop)) for r in page]

    for order in pulled:
        expected = truth[order.external_id]
        assert order.shipping_method == expected["shipping_method"] in ("standard", "express", "next_day")
        assert order.payment_ref == expected["payment_ref"] and order.payment_ref in shop.payments.intents
        assert order.total_amount == pytest.approx(float(expected["total"]))
        assert order.ship_to is not None and order.ship_to.country == "US"
        assert [line.sku for line in order.lines] == [line["sku"] for line in expected["lines"]]
        for line, true_line in zip(order.lines, expected["lines"]):
            assert line.weight_kg == pytest.approx(true_line["weight_kg"], abs=0.001)   # grams and pounds too
            assert line.quantity == true_line["quantity"]
        assert order.raw["id"] == order.external_id


def test_incremental_pulls_with_overlap_reread_but_their_union_is_exact(open_shop):
    shop = open_shop(days=1)
    storefront = shop.storefront()
    overlap = timedelta(minutes=10)
    first_cut = shop.clock.now() + timedelta(seconds=1)
    first = [r for page in pull_all(storefront, START, first_cut) for r in page]

    early = next(r for r in first if isinstance(r, ChannelOrder))
    shop.clock.advance(timedelta(hours=20))
    storefront.push_fulfillment(order_external_id=early.external_id, tracking_number="1Z999TEST0001",
                                carrier_name="UPS", tracking_url="https://ups.example/1Z999TEST0001")
    second = [r for page in pull_all(storefront, first_cut - overlap, until_now(shop)) for r in page]

    seen = [r.external_id for r in first + second]
    assert set(seen) == {o["id"] for o in shop.truth()}
    assert len(seen) > len(set(seen))                          # the overlap re-read something...
    reread = next(r for r in second if r.external_id == early.external_id)
    assert reread.updated_at > early.updated_at                # ...and an order fulfilled since came back


def test_malformed_orders_surface_as_malformed_or_with_the_broken_field_empty(open_shop):
    shop = open_shop(malformed_share=0.3)
    pulled = {r.external_id: r for page in pull_all(shop.storefront(), START, until_now(shop)) for r in page}
    broken = [o for o in shop.truth() if o["malformed"]]

    assert {o["malformed"] for o in broken} == {"sku_null", "zero_quantity", "no_address", "no_shipping_line",
                                               "bad_total"}
    for order in broken:
        record, kind = pulled[order["id"]], order["malformed"]
        if kind == "bad_total":
            assert isinstance(record, Malformed) and record.raw["id"] == order["id"] and "amount" in str(record.raw)
            continue
        assert isinstance(record, ChannelOrder)
        assert {"sku_null": any(line.sku is None and line.weight_kg == 0.0 for line in record.lines),
                "zero_quantity": any(line.quantity == 0 for line in record.lines),
                "no_address": record.ship_to is None,
                "no_shipping_line": record.shipping_method is None}[kind]


def test_pushing_the_same_fulfillment_twice_creates_one_fulfillment(open_shop):
    shop = open_shop(days=1)
    storefront = shop.storefront()
    order_id = shop.truth()[0]["id"]
    push = dict(order_external_id=order_id, tracking_number="9400TEST0001", carrier_name="USPS",
                tracking_url="https://tools.usps.example/9400TEST0001")

    first = storefront.push_fulfillment(**push)
    again = storefront.push_fulfillment(**push)

    assert not first.already_existed and again.already_existed
    assert again.external_fulfillment_id == first.external_fulfillment_id
    [recorded] = shop.sandbox.fulfillments(DOMAIN)
    assert recorded["notify_customer"] and recorded["tracking"][0]["company"] == "USPS"
    assert [o for o in shop.truth() if o["id"] == order_id][0]["fulfillment_order_status"] == ["CLOSED"]
    with pytest.raises(PermanentApiError, match="no open fulfillment order"):
        storefront.push_fulfillment(**{**push, "tracking_number": "9400TEST0002"})


def test_returns_appear_only_after_delivery_with_shopify_reasons(open_shop):
    shop = open_shop(days=1, return_share=1.0, damaged_share=0.5, malformed_share=0.0)
    storefront = shop.storefront()
    orders = shop.truth()[:6]
    for n, order in enumerate(orders):
        storefront.push_fulfillment(order_external_id=order["id"], tracking_number=f"TRK{n:04d}",
                                    carrier_name="UPS", tracking_url=f"https://ups.example/TRK{n:04d}")
    shop.clock.advance(timedelta(days=2))
    assert [r for page in storefront.pull_return_requests(since=START, until=until_now(shop)) for r in page] == []

    delivered_at = shop.clock.now()
    shop.deliveries.delivered.update({f"TRK{n:04d}": delivered_at for n in range(len(orders))})
    shop.clock.advance(timedelta(days=3, hours=1))
    found = [r for page in storefront.pull_return_requests(since=START, until=until_now(shop)) for r in page]
    truth = {r["id"]: r for r in shop.sandbox.returns_as_of(DOMAIN, shop.clock.now())}

    assert len(truth) == len(orders) and sorted(r.external_id for r in found) == sorted(truth)
    for request in found:
        expected = truth[request.external_id]
        assert isinstance(request, ReturnRequest) and request.order_external_id == expected["order_id"]
        assert timedelta(days=1) <= request.requested_at - delivered_at <= timedelta(days=3, seconds=1)
        assert [(line.external_line_id, line.quantity, line.reason) for line in request.lines] == \
               [(line["line_item_id"], line["quantity"], line["reason"]) for line in expected["lines"]]
    assert {line.reason for r in found for line in r.lines} <= {
        "DEFECTIVE", "NOT_AS_DESCRIBED", "SIZE_TOO_SMALL", "SIZE_TOO_LARGE", "UNWANTED", "STYLE", "COLOR",
        "WRONG_ITEM", "OTHER"}
    with_returns = [r for page in pull_all(storefront, START, until_now(shop)) for r in page if r.returns]
    assert sorted(r.returns[0].external_id for r in with_returns) == sorted(truth)


def test_the_client_waits_out_shopifys_cost_throttle(open_shop):
    shop = open_shop(bucket_size=700.0, restore_rate=100.0)
    shop.sandbox.shops[DOMAIN].bucket.take(600)       # another app just spent most of the budget
    storefront = shop.storefront()

    pulled = [r for page in pull_all(storefront, START, until_now(shop)) for r in page]

    assert sorted(r.external_id for r in pulled) == sorted(o["id"] for o in shop.truth())
    assert storefront.throttle_waits and sum(storefront.throttle_waits) >= (601 - 100) / 100.0 * 0.9
    assert all(seconds < 10 for seconds in storefront.throttle_waits)   # waited the deficit, no more


def test_a_full_sync_over_flaky_http_loses_and_duplicates_nothing(open_shop):
    faults = Faults(throttle_share=0.1, error_share=0.1, truncate_next=1, retry_after="0", seed=11)
    shop = open_shop(days=5, faults=faults)

    pulled = [r.external_id for page in pull_all(shop.storefront(), START, until_now(shop)) for r in page]

    assert sorted(pulled) == sorted(o["id"] for o in shop.truth())
    assert faults.injected["truncated"] == 1 and faults.injected["429"] + faults.injected["5xx"] >= 1


def test_a_rejected_access_token_says_which_setting_to_fix(open_shop):
    shop = open_shop(days=0)

    assert DOMAIN in shop.storefront().check()
    with pytest.raises(PermanentApiError, match="CUMPLIDO_SHOPIFY_ACCESS_TOKEN") as rejected:
        shop.storefront(token="shpat_wrong").check()
    assert rejected.value.status == 401
    with pytest.raises(PermanentApiError, match="access token rejected"):
        pull_all(shop.storefront(token="shpat_wrong"), START, until_now(shop))
