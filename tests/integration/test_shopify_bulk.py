"""Peak-day pulls from Shopify: a window of `bulk_threshold` orders or more is read by one bulk
query operation (ordersCount, bulkOperationRunQuery, polling, the JSONL file at its signed URL)
against the Shopify sandbox over real HTTP. Nothing is mocked but time. Every GraphQL answer is
checked against Shopify's answer shapes and every bulk file line against the lines Shopify writes
for our query (shopify_shapes.py cites the recorded answers and docs)."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
import requests
from jsonschema import Draft202012Validator
from shopify_fakes import FakeDeliveries, FakePayments, FakeTime
from shopify_shapes import (
    BULK_OPERATION, RECORDED_BULK_OPERATION, RECORDED_BULK_RUN, RECORDED_FULFILLMENT_CREATE, RECORDED_JSONL,
    RECORDED_ORDERS_COUNT, SCALE_OPERATIONS, ShapeRecorder, jsonl_problems,
)

from connectors.errors import PermanentApiError, TransientApiError
from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults
from connectors.sandbox.shopify import ShopifySandbox
from connectors.storefronts import shopify_bulk
from connectors.storefronts.shopify import ShopifyStorefront
from domain.records import ChannelOrder, Malformed

START = datetime(2026, 11, 2, tzinfo=timezone.utc)
DOMAIN = "cumplido-demo.myshopify.com"


@dataclass
class Files:
    """A response hook on the bulk-file session: every line downloaded, checked against the shapes."""

    lines: list[dict] = field(default_factory=list)
    downloads: list[int] = field(default_factory=list)      # status of each download

    def hook(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        self.downloads.append(response.status_code)
        if response.status_code == 200:
            self.lines += [json.loads(line) for line in response.content.splitlines() if line]
        return response


@dataclass
class Shop:
    sandbox: ShopifySandbox
    clock: SimClock
    time: FakeTime
    deliveries: FakeDeliveries
    url: str
    recorders: list[ShapeRecorder] = field(default_factory=list)
    files: list[Files] = field(default_factory=list)

    def storefront(self, *, bulk_threshold: int | None = 10, **options) -> ShopifyStorefront:
        storefront = ShopifyStorefront(channel="shopify-main", api_base=f"{self.url}/{DOMAIN}",
                                       access_token="shpat_sandbox", api_version="2025-10", sleep=self.time.sleep,
                                       bulk_threshold=bulk_threshold, **options)
        self.recorders.append(ShapeRecorder().attach(storefront._http.session))
        self.files.append(Files())
        storefront._files.session.hooks["response"].append(self.files[-1].hook)
        return storefront

    def pull(self, storefront: ShopifyStorefront, since: datetime = START, until: datetime | None = None) -> list:
        until = until or self.clock.now() + timedelta(seconds=1)
        return [r for page in storefront.pull_orders(since=since, until=until) for r in page]

    @property
    def operations(self) -> list:
        return self.sandbox.shops[DOMAIN].bulk_exports

    def truth(self) -> dict[str, dict]:
        return {o["id"]: o for o in self.sandbox.orders_as_of(DOMAIN, self.clock.now())}


@pytest.fixture
def open_shop(world, switchboard):
    shops: list[Shop] = []

    def make(*, days: float = 2, faults: Faults | None = None, **options) -> Shop:
        clock, fake_time, deliveries = SimClock(START), FakeTime(), FakeDeliveries()
        settings = {"orders_per_day": 120, "seed": 7, **options}
        sandbox = ShopifySandbox(clock=clock, world=world, start=START, payments=FakePayments(), deliveries=deliveries,
                                 faults=faults or Faults(retry_after="0"), monotonic=fake_time.monotonic, **settings)
        switchboard[1]["app"] = sandbox
        clock.advance(timedelta(days=days, minutes=17))
        shops.append(Shop(sandbox, clock, fake_time, deliveries, switchboard[0]))
        return shops[-1]

    yield make
    for shop in shops:          # every answer and every file line had Shopify's shape, but the sandbox's
        broken = {i for i, o in shop.truth().items() if o["malformed"] == "bad_total"}   # deliberate "12,34"
        problems = [p for r in shop.recorders for p in r.problems if not _deliberate(p, broken)]
        problems += [p for f in shop.files for p in jsonl_problems(f.lines) if not _deliberate(p, broken)]
        assert not problems, "\n".join(problems[:20])


def _deliberate(problem: str, broken: set[str]) -> bool:
    return "amount" in problem and any(order_id in problem for order_id in broken)


def ordered_keys(records: list) -> list[str]:
    return [r.external_id for r in records]


# --- bulk and paged read the same thing ---------------------------------------------------------

def test_a_big_window_read_in_bulk_equals_the_same_window_read_page_by_page(open_shop):
    shop = open_shop(days=3, malformed_share=0.2, cancel_share=0.2, return_share=1.0, max_lines=6)
    pusher = shop.storefront(bulk_threshold=None)
    first_day = [o for o in shop.truth().values() if o["created_at"] < START + timedelta(hours=20)][:40]
    for n, order in enumerate(o for o in first_day if not o["cancelled_at"]):
        pusher.push_fulfillment(order_external_id=order["id"], tracking_number=f"TRK{n:04d}", carrier_name="UPS",
                                tracking_url=f"https://ups.example/TRK{n:04d}")
        shop.deliveries.delivered[f"TRK{n:04d}"] = shop.clock.now()
    shop.clock.advance(timedelta(days=3, hours=1))            # returns requested, some refunded in the store

    paged = shop.pull(shop.storefront(bulk_threshold=None))
    bulk = shop.pull(shop.storefront(bulk_threshold=100))

    assert bulk == paged and ordered_keys(bulk) == ordered_keys(paged)   # same records, same order
    assert len(bulk) == len(shop.truth()) > 300
    assert [op.status for op in shop.operations] == ["COMPLETED"]
    assert any(isinstance(r, Malformed) for r in bulk)                      # still quarantined
    orders = [r for r in bulk if isinstance(r, ChannelOrder)]
    assert any(r.cancelled_at for r in orders) and any(r.returns for r in orders)
    assert any(r.refunded_amount for r in orders) and max(len(r.lines) for r in orders) == 6
    paged_seen, bulk_seen = shop.recorders[1].seen, shop.recorders[2].seen
    assert "OrderLinesBatch 200" in paged_seen and "OrderReturns 200" in paged_seen     # the paged follow-ups...
    assert not {"OrdersPage 200", "OrderLinesBatch 200", "OrderReturns 200"} & set(bulk_seen)   # ...none in bulk
    assert len(shop.files[2].lines) == int(shop.operations[0].object_count)


def test_orders_longer_than_two_line_reads_arrive_whole_when_paged(open_shop):
    """A page holds 5 lines per order, the first follow-up 5 more and later ones 20: a 30-line
    order needs three rounds of the aliased look-up, and must still arrive exactly as the shop holds it."""
    shop = open_shop(days=1, malformed_share=0.0, max_lines=30)
    paged = shop.pull(shop.storefront(bulk_threshold=None))
    bulk = shop.pull(shop.storefront(bulk_threshold=10))
    truth = shop.truth()

    assert paged == bulk and len(paged) == len(truth)
    assert max(len(o.lines) for o in paged) > 25
    assert all(len(o.lines) == len(truth[o.external_id]["lines"]) for o in paged)
    lookups = [s for s in shop.recorders[1].seen if s.startswith("OrderLinesBatch")]
    assert len(lookups) < sum(len(o.lines) > 5 for o in paged)           # several orders per look-up


def test_a_bulk_result_is_handed_out_in_order_and_let_go_of_page_by_page():
    nodes = [{"id": n} for n in range(7)]
    pages = shopify_bulk.handed_out(nodes, 3)
    assert next(pages) == [{"id": 0}, {"id": 1}, {"id": 2}] and len(nodes) == 4     # the first page is gone
    assert list(pages) == [[{"id": 3}, {"id": 4}, {"id": 5}], [{"id": 6}]] and nodes == []


def test_orders_wait_as_the_bytes_of_their_lines_until_handed_out():
    lines = [b'{"id":"gid://shopify/Order/1","name":"#1001"}',
             b'{"id":"gid://shopify/LineItem/11","sku":"A","quantity":2,"__parentId":"gid://shopify/Order/1"}',
             b'{"id":"gid://shopify/Order/2","name":"#1002"}',
             b'{"id": "gid://shopify/LineItem/21", "sku": "B", "__parentId": "gid://shopify/Order/2"}',
             b'{"id":"gid://shopify/LineItem/12","sku":"C","quantity":1,"__parentId":"gid://shopify/Order/1"}']
    roots, count = shopify_bulk.assemble(lines, connections={"Order": ("lineItems",)})
    assert count == 5 and [r.lines for r in roots] == [[lines[0], lines[1], lines[4]], [lines[2], lines[3]]]
    page = next(shopify_bulk.handed_out(roots, 10))
    assert page == [{"id": "gid://shopify/Order/1", "name": "#1001", "lineItems": {"nodes": [
                        {"id": "gid://shopify/LineItem/11", "sku": "A", "quantity": 2},
                        {"id": "gid://shopify/LineItem/12", "sku": "C", "quantity": 1}]}},
                    {"id": "gid://shopify/Order/2", "name": "#1002", "lineItems": {"nodes": [
                        {"id": "gid://shopify/LineItem/21", "sku": "B"}]}}]
    with pytest.raises(ValueError, match="LineItem line under gid://shopify/Order/9"):   # an orphan still fails
        shopify_bulk.assemble([b'{"id":"gid://shopify/LineItem/1","__parentId":"gid://shopify/Order/9"}'],
                              connections={})


def test_return_requests_read_in_bulk_equal_those_read_page_by_page(open_shop):
    shop = open_shop(days=1, return_share=1.0, malformed_share=0.0)
    pusher = shop.storefront(bulk_threshold=None)
    for n, order in enumerate(list(shop.truth().values())[:12]):
        if not order["cancelled_at"]:
            pusher.push_fulfillment(order_external_id=order["id"], tracking_number=f"R{n:03d}", carrier_name="UPS",
                                    tracking_url=f"https://ups.example/R{n:03d}")
            shop.deliveries.delivered[f"R{n:03d}"] = shop.clock.now()
    shop.clock.advance(timedelta(days=4))
    until = shop.clock.now() + timedelta(seconds=1)

    def requests_of(storefront):
        return [r for page in storefront.pull_return_requests(since=START, until=until) for r in page]

    paged, bulk = requests_of(shop.storefront(bulk_threshold=None)), requests_of(shop.storefront(bulk_threshold=5))

    assert bulk == paged and len(bulk) >= 8
    assert [op.status for op in shop.operations] == ["COMPLETED"]


def test_the_bulk_path_starts_at_the_threshold(open_shop):
    shop = open_shop(days=1)
    window = len(shop.truth())

    below = shop.pull(shop.storefront(bulk_threshold=window + 1))
    at = shop.pull(shop.storefront(bulk_threshold=window))

    assert below == at and len(shop.operations) == 1
    assert "OrdersPage 200" in shop.recorders[0].seen and "OrdersPage 200" not in shop.recorders[1].seen


def test_overlapping_bulk_windows_reread_and_see_a_later_cancellation(open_shop):
    shop = open_shop(days=1, cancel_share=0.5)
    storefront = shop.storefront(bulk_threshold=10)
    cut = shop.clock.now() + timedelta(seconds=1)
    first = shop.pull(storefront, START, cut)
    shop.clock.advance(timedelta(hours=8))                        # customers cancel within hours
    second = shop.pull(storefront, cut - timedelta(minutes=10), shop.clock.now() + timedelta(seconds=1))

    open_at_first = {r.external_id for r in first if not r.cancelled_at}
    assert open_at_first & {r.external_id for r in second if r.cancelled_at}    # cancelled since, seen again
    assert set(ordered_keys(first + second)) == set(shop.truth())
    assert [op.status for op in shop.operations] == ["COMPLETED", "COMPLETED"]


# --- faults -------------------------------------------------------------------------------------

def test_a_failed_bulk_operation_is_a_clear_error_and_the_next_run_succeeds(open_shop):
    shop = open_shop(days=1)
    storefront = shop.storefront()

    shop.sandbox.bulk.fail_next = "INTERNAL_SERVER_ERROR"
    with pytest.raises(TransientApiError, match=r"ended FAILED \(INTERNAL_SERVER_ERROR\).*submits it again"):
        shop.pull(storefront)
    shop.sandbox.bulk.fail_next = "ACCESS_DENIED"
    with pytest.raises(PermanentApiError, match="lacks a scope"):
        shop.pull(storefront)

    assert len(shop.pull(storefront)) == len(shop.truth())
    assert [op.status for op in shop.operations] == ["FAILED", "FAILED", "COMPLETED"]


def test_5xx_on_the_download_is_retried_without_the_api_token(open_shop):
    shop = open_shop(days=1)
    shop.sandbox.bulk.download_errors = 2
    storefront = shop.storefront()

    pulled = shop.pull(storefront)

    assert sorted(ordered_keys(pulled)) == sorted(shop.truth())
    assert shop.files[0].downloads == [503, 503, 200] and storefront._files.retries == 2
    assert "X-Shopify-Access-Token" not in storefront._files.session.headers
    assert shop.sandbox.bulk.downloads == 1


def test_a_file_cut_short_between_lines_is_read_again(open_shop):
    shop = open_shop(days=1)
    shop.sandbox.bulk.truncate_downloads = 1                 # every line parses; half of them are missing

    pulled = shop.pull(shop.storefront())

    assert sorted(ordered_keys(pulled)) == sorted(shop.truth())
    assert shop.files[0].downloads == [200, 200] and shop.sandbox.bulk.downloads == 1


def test_a_download_that_keeps_failing_is_transient_and_does_not_leak_the_signed_url(open_shop):
    shop = open_shop(days=1)
    shop.sandbox.bulk.download_errors = 1000

    with pytest.raises(TransientApiError, match="download answered 503") as failed:
        shop.pull(shop.storefront(max_retries=1))
    assert "signature" not in str(failed.value) and "bulk/" not in str(failed.value)


def test_an_operation_whose_answer_was_lost_is_adopted_not_run_twice(open_shop):
    shop = open_shop(days=1)
    storefront = shop.storefront()
    until = shop.clock.now() + timedelta(seconds=1)
    from connectors.storefronts import shopify_parse as gql
    document = shopify_bulk.orders_query(gql.search_window(START, until))
    storefront._query("BulkQueryRun", shopify_bulk.RUN, {"query": document})   # its answer "never arrived"

    pulled = shop.pull(storefront, START, until)

    assert len(pulled) == len(shop.truth()) and len(shop.operations) == 1
    assert "CurrentBulkOperation 200" in shop.recorders[0].seen


def test_another_running_bulk_query_is_waited_for_then_ours_runs(open_shop):
    shop = open_shop(days=1)
    storefront = shop.storefront()
    storefront._query("BulkQueryRun", shopify_bulk.RUN, {"query": "{ orders { edges { node { id } } } }"})

    pulled = shop.pull(storefront)

    assert len(pulled) == len(shop.truth())
    assert [op.status for op in shop.operations] == ["COMPLETED", "COMPLETED"]


def test_a_bulk_query_still_running_after_the_longest_wait_is_cancelled(open_shop):
    shop = open_shop(days=1)
    shop.sandbox.bulk.running_polls = 10_000

    with pytest.raises(TransientApiError, match="still RUNNING after"):
        shop.pull(shop.storefront(bulk_max_wait_seconds=60))

    assert [op.status for op in shop.operations] == ["CANCELED"]
    assert 60 <= sum(shop.time.sleeps) <= 75 and max(shop.time.sleeps) <= 10   # polled, short intervals


# --- the sandbox holds Shopify's rules --------------------------------------------------------------

def edges(fields: str) -> str:
    return f"{{ edges {{ node {{ {fields} }} }} }}"


@pytest.mark.parametrize("query, message", [
    ("{ orders %s }" % edges("id returns " + edges("id returnLineItems " + edges("id"))), None),   # two levels deep
    ("{ orders %s }" % edges("id returns " + edges("id order { returns " + edges("id returnLineItems " + edges("id"))
                                                 + " }")), "nested more than 2 levels"),
    ("{ orders %s }" % edges("id lineItems %s fulfillmentOrders %s returns %s" % (
        edges("id"), edges("id"), edges("id returnLineItems %s refunds %s" % (edges("id"), edges("id"))))),
     "more than 5 connections"),
    ('{ node(id: "gid://shopify/Order/1") { id } }', "connection at the top level"),
    ("{ orders { edges { node { id } } } shop { name } }", "exactly one top-level field"),
    ("{ orders { edges { node { id nope } } } }", "Cannot query field 'nope'"),
])
def test_the_sandbox_refuses_bulk_queries_shopify_refuses(open_shop, query, message):
    shop = open_shop(days=0.2)
    storefront = shop.storefront()

    payload = storefront._query("BulkQueryRun", shopify_bulk.RUN, {"query": query})["bulkOperationRunQuery"]

    if message is None:
        assert payload["userErrors"] == [] and payload["bulkOperation"]["status"] == "CREATED"
    else:
        assert payload["bulkOperation"] is None and payload["userErrors"][0]["code"] == "INVALID"
        assert message in payload["userErrors"][0]["message"]


def test_the_file_is_only_served_on_its_signed_url_without_credentials(open_shop):
    shop = open_shop(days=0.5)
    storefront = shop.storefront()
    shop.pull(storefront)
    url = storefront._query("BulkOperationPoll", shopify_bulk.POLL, {"id": shop.operations[0].id})["node"]["url"]

    assert requests.get(url, timeout=5).status_code == 200
    assert requests.get(url.split("?")[0] + "?signature=forged", timeout=5).status_code == 403
    assert requests.get(url, headers={"X-Shopify-Access-Token": "shpat_sandbox"}, timeout=5).status_code == 400




def test_a_finished_file_downloads_while_the_shop_is_busy_exporting_another(open_shop):
    # two stores exporting a peak day: the first's file is fetched while the second's export
    # holds the simulation (as at Shopify, whose files sit in cloud storage, apart from the API)
    shop = open_shop(days=0.5)
    storefront = shop.storefront()
    shop.pull(storefront)
    url = storefront._query("BulkOperationPoll", shopify_bulk.POLL, {"id": shop.operations[0].id})["node"]["url"]
    with shop.sandbox._lock:                         # what a running export holds
        answer = requests.get(url, timeout=5)

    assert answer.status_code == 200 and len(answer.content.splitlines()) == int(shop.operations[0].object_count)
# --- the contract -------------------------------------------------------------------------------

def test_the_shapes_accept_shopifys_recorded_bulk_and_batch_answers():
    valid = lambda schema, body: list(Draft202012Validator(schema).iter_errors(body)) == []
    their_selection = copy.deepcopy(BULK_OPERATION)        # we also select rootObjectCount and query
    for extra in ("rootObjectCount", "query"):
        del their_selection["properties"][extra]
        their_selection["required"].remove(extra)

    assert valid(SCALE_OPERATIONS["BulkQueryRun"], RECORDED_BULK_RUN)
    assert valid(their_selection, RECORDED_BULK_OPERATION)
    assert valid(SCALE_OPERATIONS["OrdersCount"], RECORDED_ORDERS_COUNT)
    assert not valid(their_selection, {**RECORDED_BULK_OPERATION, "objectCount": 57})   # a string on the wire
    assert parent_link_problems(RECORDED_JSONL) == []
    batch = SCALE_OPERATIONS["FulfillmentCreateBatch"]                    # the batch selects what they did
    assert valid(batch, {"f0": RECORDED_FULFILLMENT_CREATE, "f1": None}) and not valid(batch, {"x": None})


def parent_link_problems(lines: list[dict]) -> list[str]:
    """__parentId only on nested nodes, always the id of a line earlier in the file."""
    seen, problems = set(), []
    for number, line in enumerate(lines, start=1):
        parent = line.get("__parentId")
        if parent is not None and parent not in seen:
            problems.append(f"line {number}: parent {parent} not earlier in the file")
        seen.add(line.get("id"))
    return problems


def test_every_bulk_exchange_has_shopifys_shape(open_shop):
    shop = open_shop(days=1, return_share=1.0, store_refund_share=1.0, malformed_share=0.0)
    storefront = shop.storefront()
    order = next(iter(shop.truth()))
    storefront.push_fulfillment(order_external_id=order, tracking_number="T1", carrier_name="UPS",
                                tracking_url="https://ups.example/T1")
    shop.deliveries.delivered["T1"] = shop.clock.now()
    shop.clock.advance(timedelta(days=4))
    storefront._query("BulkQueryRun", shopify_bulk.RUN, {"query": "{ shop { name } }"})   # userErrors
    storefront._query("CurrentBulkOperation", shopify_bulk.CURRENT, {})                   # null: none yet
    pulled = shop.pull(storefront)
    storefront._query("BulkOperationCancel", shopify_bulk.CANCEL, {"id": shop.operations[0].id})   # too late

    assert any(isinstance(r, ChannelOrder) and r.returns for r in pulled)
    seen = set(shop.recorders[0].seen)
    pushes = {"FulfillmentStates 200", "FulfillmentCreateBatch 200"}       # test_shopify_batch_push.py
    assert {f"{op} 200" for op in SCALE_OPERATIONS} - pushes <= seen
    lines = shop.files[0].lines
    assert parent_link_problems(lines) == [] and {line["id"].split("/")[-2] for line in lines} >= {
        "Order", "LineItem", "Return", "ReturnLineItem", "Refund"}
