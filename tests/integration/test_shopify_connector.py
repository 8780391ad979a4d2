"""The Shopify storefront connector against the Shopify sandbox, over real HTTP on 127.0.0.1.
Nothing is mocked but time: sleeps go to a FakeTime that the sandbox's cost bucket also reads.
Every answer the client receives, in every test, is checked against the shapes of Shopify's real
GraphQL Admin answers (shopify_shapes.py, which cites the recorded payloads and docs they come from)."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from jsonschema import Draft202012Validator
from shopify_fakes import FakeDeliveries, FakePayments, FakeTime
from shopify_shapes import (
    COST,
    CURSOR,
    DATETIME,
    EXAMPLE_ORDERS_PAGE,
    FULFILLMENT_CREATE,
    GRAPHQL_ERROR,
    HTTP_ERROR,
    OPERATIONS,
    RECORDED_COST,
    RECORDED_CURSORS,
    RECORDED_DATETIMES,
    RECORDED_FULFILLMENT_CREATE,
    RECORDED_IDS,
    RECORDED_INVALID_INPUT,
    RECORDED_MONEY,
    RECORDED_SERVER_ERROR,
    RECORDED_SHOP,
    RECORDED_THROTTLED,
    RECORDED_USER_ERROR,
    SHOP_MONEY,
    THROTTLED,
    USER_ERROR,
    ShapeRecorder,
    answer,
    gid,
    shape_problems,
)

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
    recorders: list[ShapeRecorder] = field(default_factory=list)

    def storefront(self, *, token: str = "shpat_sandbox") -> ShopifyStorefront:
        storefront = ShopifyStorefront(channel="shopify-main", api_base=f"{self.url}/{DOMAIN}", access_token=token,
                                       api_version="2025-10", sleep=self.time.sleep)
        self.recorders.append(ShapeRecorder().attach(storefront._http.session))
        return storefront

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
    shops: list[Shop] = []

    def make(*, days: float = 2, faults: Faults | None = None, **options) -> Shop:
        fake_time, clock = FakeTime(), SimClock(START)
        payments, deliveries = FakePayments(), FakeDeliveries()
        settings = {"orders_per_day": 120, "seed": 7, **options}
        router.sandbox = ShopifySandbox(clock=clock, world=world, start=START, payments=payments,
                                        deliveries=deliveries, faults=faults or Faults(retry_after="0"),
                                        monotonic=fake_time.monotonic, **settings)
        clock.advance(timedelta(days=days, minutes=17))
        shops.append(Shop(router.sandbox, clock, fake_time, payments, deliveries, running.url))
        return shops[-1]

    yield make
    for shop in shops:                      # every answer any test received had Shopify's shape...
        problems = [p for recorder in shop.recorders for p in recorder.problems]
        unreadable_totals = deliberately_unreadable_totals(shop)   # ...but the sandbox's own bad_total fault
        assert not [p for p in problems if p not in unreadable_totals], "\n".join(problems[:20])


def deliberately_unreadable_totals(shop: Shop) -> set[str]:
    """The contract problems the sandbox injects on purpose: `bad_total` orders carry "12,34" as
    their amount, which Shopify never sends, to prove the client survives it."""
    broken = {o["id"] for o in shop.truth() if o["malformed"] == "bad_total"}
    return {p for recorder in shop.recorders for p in recorder.problems
            if (m := BAD_TOTAL.search(p)) and m["order"] in broken}


BAD_TOTAL = re.compile(r"/totalPriceSet/shopMoney/amount \((?P<order>gid://shopify/Order/\d+)\): '\d+,\d\d' does not match")


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
    caught = deliberately_unreadable_totals(shop)
    assert len(caught) == sum(o["malformed"] == "bad_total" for o in broken)   # the contract check saw each one
    assert [p for r in shop.recorders for p in r.problems if p not in caught] == []   # and nothing else
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
    [recorder] = shop.recorders                            # the contract check saw every answer, retried ones too
    assert recorder.unreadable == 1
    assert sum(n for label, n in recorder.seen.items() if " 200" not in label) == \
           faults.injected["429"] + faults.injected["5xx"]


def test_a_rejected_access_token_says_which_setting_to_fix(open_shop):
    shop = open_shop(days=0)

    assert DOMAIN in shop.storefront().check()
    with pytest.raises(PermanentApiError, match="CUMPLIDO_SHOPIFY_ACCESS_TOKEN") as rejected:
        shop.storefront(token="shpat_wrong").check()
    assert rejected.value.status == 401
    with pytest.raises(PermanentApiError, match="access token rejected"):
        pull_all(shop.storefront(token="shpat_wrong"), START, until_now(shop))


# --- the contract: Shopify's real answer shapes (shopify_shapes.py) ----------------------------

def test_the_shapes_accept_shopifys_recorded_answers():
    valid = lambda schema, body: list(Draft202012Validator(schema).iter_errors(body)) == []

    assert valid(answer(OPERATIONS["Shop"]), RECORDED_SHOP)
    assert valid(COST, RECORDED_COST) and valid(THROTTLED, RECORDED_THROTTLED)
    assert valid(USER_ERROR, RECORDED_USER_ERROR)
    assert valid(HTTP_ERROR, RECORDED_SERVER_ERROR) and valid(GRAPHQL_ERROR, RECORDED_INVALID_INPUT["errors"][0])
    fulfillment_create = FULFILLMENT_CREATE["properties"]["fulfillmentCreate"]["anyOf"][0]
    with_their_selection = copy.deepcopy(fulfillment_create)         # they selected `id status`, we add trackingInfo
    del with_their_selection["properties"]["fulfillment"]["anyOf"][0]["properties"]["trackingInfo"]
    with_their_selection["properties"]["fulfillment"]["anyOf"][0]["required"].remove("trackingInfo")
    assert valid(with_their_selection, RECORDED_FULFILLMENT_CREATE)
    assert all(valid(SHOP_MONEY, money) for money in RECORDED_MONEY)
    assert all(valid(DATETIME, d) for d in RECORDED_DATETIMES) and all(valid(CURSOR, c) for c in RECORDED_CURSORS)
    assert all(valid(gid(kind), value) for kind, value in RECORDED_IDS.items())
    assert shape_problems("OrdersPage", 200, EXAMPLE_ORDERS_PAGE) == []


def _broken(path: tuple, value=..., drop: bool = False) -> dict:
    body = copy.deepcopy(EXAMPLE_ORDERS_PAGE)
    *parents, last = path
    target = body
    for step in parents:
        target = target[step]
    if drop:
        del target[last]
    else:
        target[last] = value
    return body


ORDER_0 = ("data", "orders", "nodes", 0)


@pytest.mark.parametrize("operation, status, body, where", [
    ("OrdersPage", 200, _broken((*ORDER_0, "totalPriceSet", "shopMoney", "amount"), 99.8), "amount"),   # a number
    ("OrdersPage", 200, _broken((*ORDER_0, "id"), "6621569450313"), "nodes/0/id"),            # a REST id, not a gid
    ("OrdersPage", 200, _broken((*ORDER_0, "createdAt"), "2025-04-30T08:12:36+02:00"), "createdAt"),   # not UTC
    ("OrdersPage", 200, _broken((*ORDER_0, "lineItems", "pageInfo"), {"hasNextPage": True, "endCursor": None}),
     "lineItems/pageInfo/endCursor"),                                                        # a next page, no cursor
    ("OrdersPage", 200, _broken((*ORDER_0, "returnStatus"), drop=True), "'returnStatus' is a required"),
    ("OrdersPage", 200, _broken((*ORDER_0, "displayFinancialStatus"), "PAID"),                 # never selected
     "'displayFinancialStatus' was unexpected"),
    ("OrdersPage", 200, _broken((*ORDER_0, "returnStatus"), "returned"), "returnStatus"),    # not an enum value
    ("OrdersPage", 200, _broken((*ORDER_0, "lineItems", "nodes", 0, "variant", "inventoryItem", "measurement",
                                 "weight", "unit"), "kg"), "weight/unit"),
    ("OrdersPage", 200, _broken(("data", "orders", "nodes"), {"0": {}}), "orders/nodes"),  # a connection without a list
    ("OrdersPage", 200, _broken(("extensions", "cost", "throttleStatus", "currentlyAvailable"), 209.8),
     "currentlyAvailable"),
    ("OrdersPage", 200, _broken(("extensions",), drop=True), "'extensions' is a required"),  # no cost extension
    ("OrdersPage", 200, {**RECORDED_THROTTLED, "extensions": {"cost": RECORDED_COST}}, "actualQueryCost"),
    ("Shop", 401, {"error": "Invalid API key or access token"}, "'errors' is a required"),  # `errors`, not `error`
    ("Orders", 200, EXAMPLE_ORDERS_PAGE, "no recorded Shopify shape"),                      # an operation we never send
])
def test_the_validator_catches_answers_shopify_never_sends(operation, status, body, where):
    problems = shape_problems(operation, status, body)

    assert problems and any(where in p for p in problems), problems


def test_every_kind_of_answer_the_client_gets_from_the_sandbox_has_shopifys_shape(open_shop):
    from connectors.storefronts import shopify_parse as gql

    shop = open_shop(days=1, return_share=1.0, malformed_share=0.0)
    bucket = shop.sandbox.shops[DOMAIN].bucket
    storefront = shop.storefront()
    bucket.take(int(bucket.size) - 50)                     # so the first order page is THROTTLED
    orders = [r for page in pull_all(storefront, START, until_now(shop)) for r in page]
    for n, order in enumerate(orders[:3]):
        storefront.push_fulfillment(order_external_id=order.external_id, tracking_number=f"TRK{n:04d}",
                                    carrier_name="UPS", tracking_url=f"https://ups.example/TRK{n:04d}")
    shop.deliveries.delivered.update({f"TRK{n:04d}": shop.clock.now() for n in range(3)})
    shop.clock.advance(timedelta(days=3, hours=1))
    returns = [r for page in storefront.pull_return_requests(since=START, until=until_now(shop)) for r in page]
    # Sandbox orders have at most 4 lines, so the client never needs OrderLinesBatch: ask it directly.
    storefront._query("OrderLinesBatch", gql.more_lines_document(2), {"id0": orders[0].external_id, "after0": None,
                                                                      "id1": orders[1].external_id, "after1": None})
    storefront.check()
    with pytest.raises(PermanentApiError):
        storefront._query("Bogus", "query Bogus { shop { nope } }", {})   # refused by GraphQL validation
    with pytest.raises(PermanentApiError):
        shop.storefront(token="shpat_wrong").check()
    checked, rejected = shop.recorders

    assert returns and len(shop.sandbox.fulfillments(DOMAIN)) == 3
    assert {f"{op} 200" for op in OPERATIONS} | {"OrdersPage 200 errors", "Bogus 200 errors"} <= set(checked.seen)
    assert set(rejected.seen) == {"Shop 401"}
    checked.assert_clean()
    rejected.assert_clean()
