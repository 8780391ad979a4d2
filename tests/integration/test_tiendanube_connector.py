"""The Tiendanube storefront connector against the Tiendanube sandbox, over real HTTP on 127.0.0.1.
Nothing is mocked but time: sleeps go to a FakeTime that the sandbox's rate-limit bucket reads.

Tiendanube publishes no OpenAPI document for its REST API, so every answer the sandbox gives the
client is checked against the shapes of the payload examples in the vendor's own docs repository,
TiendaNube/api-docs at commit 9d19510b31b64d5effff42b2d7df13cca49d6d2f:
  - resources/order.md: the Order property table and the `GET /orders`, `GET /orders/#{id}` and
    `POST /orders/#{id}/fulfill` examples; the Metafield of its "Create an invoice" example;
  - resources/store.md: the `GET /store` example;
  - README.md: pagination (`Link`, `X-Total-Count`), the X-Rate-Limit-* headers, error bodies;
  - resources/transaction.md (commit 027ff0d6f21b07d6b711f6f582d78ab8bf435b49): the Transaction of
    `GET /orders/#{id}/transactions` and its events (example Nº 3, refunded, is checked below);
plus the fields the current docs (tiendanube.github.io/api-documentation/resources/order) add:
contact_*, gateway_id, gateway_name, products[].id/name/sku, and `cancelled_at` (shown with
`closed_at` and `paid_at` in resources/order/index.md, the draft-order resource, whose orders are
the same objects). `customer` is left out: the API only
sends it to apps holding read_customers, which Cumplido does not ask for."""
from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from jsonschema import Draft202012Validator
from shopify_fakes import FakeDeliveries, FakePayments, FakeTime

from config.settings import DEFAULT_WORLD, Settings
from config.world import Channel, load_world
from connectors.errors import PermanentApiError
from connectors.protocols import Storefront
from connectors.registry import storefront_for
from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults
from connectors.sandbox.tiendanube import TiendanubeSandbox
from connectors.storefronts.tiendanube import TiendanubeStorefront
from domain.records import ChannelOrder, Malformed, ReturnRequest

START = datetime(2026, 11, 2, tzinfo=timezone.utc)
DOMAIN = "cumplido-demo.mitiendanube.com"
UA = "Cumplido (ops@example.com)"

# --- the vendor's payload shapes (see the module docstring for the source) -------------------
STR, INT, BOOL, OBJ = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "object"}
STAMP = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:?\d\d|Z)$"}


def opt(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "required": sorted(required), "properties": {**required, **(optional or {})}}


ADDRESS = obj({"address": STR, "city": STR, "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
               "created_at": STAMP, "default": BOOL, "floor": opt(STR), "id": INT, "locality": opt(STR),
               "number": STR, "phone": opt(STR), "province": STR, "updated_at": STAMP, "zipcode": STR},
              {"name": STR})
PRODUCT = obj({"depth": opt(STR), "height": opt(STR), "price": STR, "product_id": opt(INT), "quantity": INT,
               "free_shipping": BOOL, "variant_id": opt(INT), "weight": STR, "width": opt(STR)},
              {"id": INT, "name": STR, "sku": opt(STR), "issues": {"type": "array"}})
BILLING = {f"billing_{k}": opt(STR) for k in ("address", "number", "floor", "locality", "zipcode", "city",
                                              "province", "country")}
ORDER = obj({
    "id": INT, "token": STR, "number": INT, "products": {"type": "array", "items": PRODUCT}, "note": opt(STR),
    "owner_note": opt(STR), "coupon": {"type": "array"}, "discount": STR, "subtotal": STR, "total": STR,
    "total_usd": STR, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}, "language": STR, "gateway": STR,
    "shipping": STR, "shipping_pickup_type": {"enum": ["ship", "pickup"]}, "shipping_store_branch_name": opt(STR),
    "shipping_address": opt(ADDRESS), "shipping_tracking_number": opt(STR), "shipping_tracking_url": opt(STR),
    "shipping_min_days": opt(INT), "shipping_max_days": opt(INT), "shipping_cost_owner": STR,
    "shipping_cost_customer": STR, "shipping_option": STR, "shipping_option_code": opt(STR),
    "shipping_option_reference": opt(STR), "shipping_pickup_details": opt(OBJ), **BILLING, "extra": OBJ,
    "weight": STR, "status": {"enum": ["open", "closed", "cancelled"]},
    "payment_status": {"enum": ["authorized", "pending", "paid", "abandoned", "refunded", "voided"]},
    "shipping_status": {"enum": ["unpacked", "shipped", "unshipped", "fulfilled"]},
    "next_action": {"enum": ["noop", "close", "waiting_ipn", "waiting_manual_confirmation", "waiting_packing",
                             "waiting_pickup", "waiting_client_pickup", "waiting_shipment"]},
    "shipped_at": opt(STAMP), "cancel_reason": opt({"enum": ["customer", "fraud", "inventory", "other"]}),
    "created_at": STAMP, "updated_at": STAMP,
}, {"contact_email": STR, "contact_name": STR, "contact_phone": STR, "store_id": INT, "gateway_id": opt(STR),
    "gateway_name": STR, "paid_at": opt(STAMP), "cancelled_at": opt(STAMP)})
MONEY = obj({"value": {"type": "string", "pattern": r"^\d+\.\d\d$"}, "currency": {"type": "string",
                                                                                 "pattern": "^[A-Z]{3}$"}})
EVENT = obj({"transaction_id": STR, "amount": MONEY, "status": {"enum": ["error", "failure", "pending", "success"]},
             "type": {"enum": ["authorization", "capture", "expiration", "in_fraud_analysis", "refund",
                               "needs_merchant_review", "sale", "void"]},
             "happened_at": STAMP, "created_at": STR}, {"failure_code": opt(STR), "expires_at": opt(STR)})
TRANSACTION = obj({
    "id": STR, "payment_provider_id": STR, "payment_method": obj({"type": STR}, {"id": STR}), "info": OBJ,
    "status": {"enum": ["authorized", "expired", "failed", "in_fraud_analysis", "needs_merchant_review", "paid",
                        "partially_refunded", "pending", "refunded", "voided"]},
    "events": {"type": "array", "items": EVENT}, "captured_amount": opt(MONEY), "refunded_amount": opt(MONEY),
    "authorized_amount": opt(MONEY), "voided_amount": opt(MONEY), "failure_code": opt(STR), "created_at": STR})
METAFIELD = obj({"id": INT, "namespace": STR, "key": STR, "value": STR, "description": opt(STR),
                 "owner_resource": {"const": "Order"}, "owner_id": INT, "created_at": STR, "updated_at": STR})
STORE = obj({k: {} for k in ("address", "admin_language", "blog", "business_id", "business_name", "business_address",
                             "contact_email", "country", "created_at", "customer_accounts", "description", "domains",
                             "email", "facebook", "google_plus", "id", "instagram", "languages", "logo",
                             "main_currency", "main_language", "name", "original_domain", "phone", "pinterest",
                             "plan_name", "type", "twitter")})
ERROR = {"anyOf": [obj({"code": INT, "message": STR, "description": STR}), obj({"error": STR}),
                   {"type": "object", "minProperties": 1, "additionalProperties": {"type": "array"}}]}
ROUTES = [(r"store", STORE, False), (r"orders", ORDER, True), (r"orders/\d+(/fulfill)?", ORDER, False),
          (r"orders/\d+/transactions", TRANSACTION, True), (r"metafields/orders", METAFIELD, True)]


@dataclass
class ShapeRecorder:
    """A `requests` response hook checking each answer against the shapes above."""

    base_path: str
    checked: int = 0
    errors: list[str] = field(default_factory=list)

    def hook(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        url = urlsplit(response.url)
        path = url.path[len(self.base_path):].strip("/")
        try:
            body = response.json()
        except ValueError:
            return response                       # a body cut short by the fault injector
        self.checked += 1
        asked = [f for v in parse_qs(url.query).get("fields", []) for f in v.split(",")]
        for problem in self._problems(path, response, body, asked):
            self.errors.append(f"{response.request.method} {path} -> {response.status_code}: {problem}")
        return response

    def _problems(self, path: str, response: requests.Response, body, asked: list[str]) -> list[str]:
        if response.status_code >= 400:
            return [e.message for e in Draft202012Validator(ERROR).iter_errors(body)]
        schema, listed = next(((s, many) for pattern, s, many in ROUTES if re.fullmatch(pattern, path)), (None, False))
        if schema is None:
            return [f"unexpected path {path}"]
        if asked:
            schema = {**schema, "required": [r for r in schema["required"] if r in asked]}
        items = body if listed else [body]
        problems = [e.message for item in items for e in Draft202012Validator(schema).iter_errors(item)]
        headers = response.headers
        problems += [f"missing header {h}" for h in ("x-rate-limit-limit", "x-rate-limit-remaining",
                                                     "x-rate-limit-reset") if not headers.get(h, "").isdigit()]
        paged = path in ("orders", "metafields/orders")        # an order's transactions: a short, unpaged array
        if paged and not headers.get("x-total-count", "").isdigit():
            problems.append("list without x-total-count")
        if isinstance(body, list) != listed:
            problems.append("list expected" if listed else "object expected")
        return problems

    def assert_clean(self) -> None:
        assert self.checked, "no Tiendanube answer was checked"
        assert not self.errors, (f"{len(self.errors)} answer(s) break Tiendanube's shapes:\n"
                                 + "\n".join(self.errors[:20]))


# --- fixtures --------------------------------------------------------------------------------

@dataclass
class Store:
    sandbox: TiendanubeSandbox
    clock: SimClock
    time: FakeTime
    payments: FakePayments
    deliveries: FakeDeliveries
    url: str
    shapes: ShapeRecorder

    def storefront(self, *, token: str = "tn_sandbox", **options) -> TiendanubeStorefront:
        client = TiendanubeStorefront(channel="tiendanube-main", api_base=f"{self.url}/{DOMAIN}", access_token=token,
                                      user_agent=UA, sleep=self.time.sleep, **options)
        client.session.hooks["response"].append(self.shapes.hook)
        return client

    def truth(self) -> list[dict]:
        return self.sandbox.orders_as_of(DOMAIN, self.clock.now())

    def until_now(self) -> datetime:
        return self.clock.now() + timedelta(seconds=1)


@pytest.fixture(scope="module")
def world():
    channel = Channel(id="tiendanube-main", kind="tiendanube", shop_domain=DOMAIN)
    return load_world(DEFAULT_WORLD).model_copy(update={"channels": (channel,)})


@pytest.fixture
def open_store(world, switchboard):
    url, current = switchboard
    made: list[Store] = []

    def make(*, days: float = 2, faults: Faults | None = None, **options) -> Store:
        fake_time, clock = FakeTime(), SimClock(START)
        payments, deliveries = FakePayments(), FakeDeliveries()
        settings = {"orders_per_day": 120, "seed": 7, **options}
        sandbox = TiendanubeSandbox(clock=clock, world=world, start=START, payments=payments, deliveries=deliveries,
                                    faults=faults or Faults(retry_after="0"), monotonic=fake_time.monotonic, **settings)
        current["app"] = sandbox.wsgi_app
        clock.advance(timedelta(days=days, minutes=17))
        made.append(Store(sandbox, clock, fake_time, payments, deliveries, url, ShapeRecorder(f"/{DOMAIN}")))
        return made[-1]

    yield make
    for store in made:                     # every answer of every test honours the vendor's shapes
        if store.shapes.checked:
            store.shapes.assert_clean()


def pulled(storefront: TiendanubeStorefront, since: datetime, until: datetime) -> list:
    return [record for page in storefront.pull_orders(since=since, until=until) for record in page]


# --- reception -----------------------------------------------------------------------------

def test_a_full_sync_returns_every_order_of_the_window_once(open_store):
    store = open_store()
    storefront = store.storefront()
    pages = list(storefront.pull_orders(since=START, until=store.until_now()))

    assert isinstance(storefront, Storefront)
    assert len(pages) >= 2 and all(len(page) <= 200 for page in pages)
    assert sorted(r.external_id for page in pages for r in page) == sorted(o["id"] for o in store.truth())
    untrimmed = storefront.session.get(f"{store.url}/{DOMAIN}/orders", params={"per_page": 5})   # every field
    assert len(untrimmed.json()) == 5 and store.shapes.checked > len(pages)


def test_pulled_orders_carry_sla_keys_kg_utc_times_and_the_gateways_payment_reference(open_store):
    store = open_store(malformed_share=0.0)
    truth = {o["id"]: o for o in store.truth()}

    for order in pulled(store.storefront(), START, store.until_now()):
        expected = truth[order.external_id]
        assert order.shipping_method == expected["shipping_method"] in ("standard", "express", "next_day")
        assert order.payment_ref == expected["payment_ref"] and order.payment_ref in store.payments.intents
        assert order.total_amount == pytest.approx(float(expected["total"])) and order.currency == "USD"
        assert order.placed_at == expected["created_at"] and order.placed_at.utcoffset() == timedelta(0)
        assert order.ship_to.country == "US" and len(order.ship_to.region) == 2    # "New York" -> "NY"
        assert order.customer_email == expected["email"] and order.customer_name
        assert [(line.external_line_id, line.sku, line.quantity) for line in order.lines] == \
               [(line["id"], line["sku"], line["quantity"]) for line in expected["lines"]]
        assert [line.weight_kg for line in order.lines] == [line["weight_kg"] for line in expected["lines"]]


def test_the_delivery_promise_of_the_shipping_option_picks_the_sla():
    from connectors.storefronts.tiendanube_parse import sla_key
    promises = {1: "next_day", 2: "express", 3: "express", 4: "standard", 6: "standard", None: None}

    assert {days: sla_key({"shipping_max_days": days}) for days in promises} == promises
    assert sla_key({"shipping_max_days": 1, "shipping_pickup_type": "pickup"}) is None


def test_incremental_pulls_with_overlap_reread_updated_orders_and_their_union_is_exact(open_store):
    store = open_store(days=1)
    storefront = store.storefront()
    cut = store.until_now()
    first = pulled(storefront, START, cut)

    early = first[0]
    store.clock.advance(timedelta(hours=20))
    storefront.push_fulfillment(order_external_id=early.external_id, tracking_number="1Z999TEST0001",
                                carrier_name="UPS", tracking_url="https://ups.example/1Z999TEST0001")
    second = pulled(storefront, cut - timedelta(minutes=10), store.until_now())

    seen = [r.external_id for r in first + second]
    assert set(seen) == {o["id"] for o in store.truth()} and len(seen) > len(set(seen))
    reread = next(r for r in second if r.external_id == early.external_id)
    assert reread.updated_at > early.updated_at and reread.raw["shipping_status"] == "shipped"
    settled = [r for r in second if r.raw["payment_status"] == "paid" and r.placed_at < cut - timedelta(minutes=10)]
    assert any(r.external_id != early.external_id for r in settled)   # payments settled since come back too


def test_malformed_orders_surface_as_malformed_or_with_the_broken_field_empty(open_store):
    store = open_store(malformed_share=0.3)
    records = {r.external_id: r for r in pulled(store.storefront(), START, store.until_now())}
    broken = [o for o in store.truth() if o["malformed"]]

    assert {o["malformed"] for o in broken} == {"sku_null", "zero_quantity", "no_address", "no_shipping_line",
                                               "bad_total"}
    for order in broken:
        record, kind = records[order["id"]], order["malformed"]
        if kind == "bad_total":
            assert isinstance(record, Malformed) and record.raw["total"] == order["total"] and "," in order["total"]
            continue
        assert isinstance(record, ChannelOrder)
        assert {"sku_null": any(line.sku is None and line.weight_kg == 0.0 for line in record.lines),
                "zero_quantity": any(line.quantity == 0 for line in record.lines),
                "no_address": record.ship_to is None,
                "no_shipping_line": record.shipping_method is None}[kind]


def test_an_order_updated_while_the_pages_are_read_does_not_hide_another(open_store):
    store = open_store(days=3)
    storefront = store.storefront()
    other = store.storefront()
    first_id = min(o["id"] for o in store.truth())
    state = {"pushed": False}

    def ship_an_order_of_page_one(response, *args, **kwargs):
        url = urlsplit(response.url)
        if url.path.endswith("/orders") and parse_qs(url.query).get("page") == ["1"] and not state["pushed"]:
            state["pushed"] = True            # the store ships an order we already read: pages shift
            store.clock.advance(timedelta(minutes=5))
            other.push_fulfillment(order_external_id=first_id, tracking_number="T-MID", carrier_name="UPS",
                                   tracking_url="https://ups.example/T-MID")
        return response

    storefront.session.hooks["response"].append(ship_an_order_of_page_one)
    until = store.clock.now() - timedelta(minutes=1)
    ids = [r.external_id for r in pulled(storefront, START, until)]

    assert state["pushed"]
    assert sorted(ids) == sorted(o["id"] for o in store.truth() if o["created_at"] < until)


def test_a_window_matching_more_than_the_api_pages_through_is_split(open_store):
    store = open_store(days=3, max_results=200)
    ids = [r.external_id for r in pulled(store.storefront(max_results=200), START, store.until_now())]

    assert len(store.truth()) > 200 and sorted(ids) == sorted(o["id"] for o in store.truth())


# --- fulfilment and returns ------------------------------------------------------------------

def test_pushing_the_same_fulfillment_twice_ships_the_order_once_and_mails_the_customer_once(open_store):
    store = open_store(days=1)
    storefront = store.storefront()
    order_id = store.truth()[0]["id"]
    push = dict(order_external_id=order_id, tracking_number="9400TEST0001", carrier_name="USPS",
                tracking_url="https://tools.usps.example/9400TEST0001")

    first = storefront.push_fulfillment(**push)
    again = storefront.push_fulfillment(**push)

    assert not first.already_existed and again.already_existed
    assert again.external_fulfillment_id == first.external_fulfillment_id
    [recorded] = store.sandbox.fulfillments(DOMAIN)
    assert recorded["notify_customer"] and recorded["tracking_url"].endswith("9400TEST0001")
    assert [o["shipping_status"] for o in store.truth() if o["id"] == order_id] == ["shipped"]
    with pytest.raises(PermanentApiError, match="already fulfilled with another tracking number"):
        storefront.push_fulfillment(**{**push, "tracking_number": "9400TEST0002"})
    with pytest.raises(PermanentApiError, match="not found") as missing:
        storefront.push_fulfillment(**{**push, "order_external_id": "999"})
    assert missing.value.status == 404


def test_a_fulfil_whose_answer_is_lost_is_looked_up_not_sent_again(open_store, switchboard):
    store = open_store(days=1)
    order_id = store.truth()[0]["id"]

    def gateway_timeout_after_the_store_shipped(environ, start_response):
        if environ["REQUEST_METHOD"] != "POST":
            return store.sandbox.wsgi_app(environ, start_response)
        b"".join(store.sandbox.wsgi_app(environ, lambda *a, **k: None))      # the store ships...
        start_response("504 Gateway Timeout", [("Content-Type", "application/json")])   # ...we never hear
        return [b'{"code": 504, "message": "Gateway Timeout", "description": "upstream timed out"}']

    switchboard[1]["app"] = gateway_timeout_after_the_store_shipped
    push = store.storefront().push_fulfillment(order_external_id=order_id, tracking_number="LOST001",
                                               carrier_name="UPS", tracking_url="https://ups.example/LOST001")

    assert not push.already_existed and push.external_fulfillment_id == f"{order_id}:LOST001"
    assert [f["tracking_number"] for f in store.sandbox.fulfillments(DOMAIN)] == ["LOST001"]   # one e-mail

def test_return_requests_appear_only_after_delivery_as_the_returns_apps_metafields(open_store):
    store = open_store(days=1, return_share=1.0, damaged_share=0.5, malformed_share=0.0)
    storefront = store.storefront()
    orders = store.truth()[:6]
    for n, order in enumerate(orders):
        storefront.push_fulfillment(order_external_id=order["id"], tracking_number=f"TRK{n:04d}",
                                    carrier_name="UPS", tracking_url=f"https://ups.example/TRK{n:04d}")
    store.clock.advance(timedelta(days=2))
    assert [r for page in storefront.pull_return_requests(since=START, until=store.until_now()) for r in page] == []

    delivered_at = store.clock.now()
    store.deliveries.delivered.update({f"TRK{n:04d}": delivered_at for n in range(len(orders))})
    store.clock.advance(timedelta(days=3, hours=1))
    found = [r for page in storefront.pull_return_requests(since=START, until=store.until_now()) for r in page]
    truth = {r["id"]: r for r in store.sandbox.returns_as_of(DOMAIN, store.clock.now())}

    assert len(truth) == len(orders) and sorted(r.external_id for r in found) == sorted(truth)
    for request in found:
        expected = truth[request.external_id]
        assert isinstance(request, ReturnRequest) and request.order_external_id == expected["order_id"]
        assert timedelta(days=1) <= request.requested_at - delivered_at <= timedelta(days=3, seconds=1)
        assert [(line.external_line_id, line.sku, line.quantity, line.reason) for line in request.lines] == \
               [(line["line_id"], line["sku"], line["quantity"], line["reason"]) for line in expected["lines"]]


# --- cancellations and refunds made in the store ----------------------------------------------

# resources/transaction.md, example Nº 3 (authorized, captured, then refunded); `info` trimmed.
DOC_TRANSACTION = {
    "id": "21781944-a977-4b0d-93dc-908ddb87d778", "payment_provider_id": "eeac118e-5534-40ba-b539-443449bc67a3",
    "captured_amount": {"value": "132.95", "currency": "ARS"},
    "refunded_amount": {"value": "132.95", "currency": "ARS"},
    "authorized_amount": {"value": "132.95", "currency": "ARS"}, "voided_amount": None,
    "payment_method": {"type": "credit_card", "id": "visa"}, "status": "refunded", "info": {"external_id": "1234"},
    "failure_code": None, "created_at": "2020-07-25 17:30:15",
    "events": [{"transaction_id": "21781944-a977-4b0d-93dc-908ddb87d778", "amount": {"value": "132.95",
                "currency": "ARS"}, "type": kind, "status": "success", "failure_code": None, "created_at": created,
                "happened_at": happened, "expires_at": None}
               for kind, created, happened in (("authorization", "2020-07-25T20:30:15.138Z", "2020-01-25T12:30:15Z"),
                                               ("capture", "2020-07-25T20:30:25.481Z", "2020-01-27T12:30:15Z"),
                                               ("refund", "2020-07-25T20:30:33.517Z", "2020-01-27T12:30:15Z"))]}


def test_refunds_are_read_from_the_documented_transaction_and_go_to_the_latest_request_before_them():
    from connectors.storefronts.tiendanube_parse import parse_order, return_refunds

    Draft202012Validator(TRANSACTION).validate(DOC_TRANSACTION)
    requests_ = [ReturnRequest("tn", rid, "56789", datetime(2020, 1, day, tzinfo=timezone.utc), (), {})
                 for rid, day in (("early", 20), ("before", 26), ("after", 28))]
    assert return_refunds(requests_, [DOC_TRANSACTION]) == {"early": 0.0, "before": 132.95, "after": 0.0}
    order = {"id": 1, "number": 100, "created_at": "2020-01-25T09:30:15-03:00",
             "updated_at": "2020-01-28T09:00:00-03:00",
             "total": "132.95", "products": [], "status": "cancelled", "cancelled_at": "2020-01-27T09:30:15-03:00"}
    for payment_status, refunded in (("paid", 0.0), ("refunded", 132.95), ("voided", 132.95)):
        record = parse_order("tn", {**order, "payment_status": payment_status})
        assert record.refunded_amount == refunded
        assert record.cancelled_at == datetime(2020, 1, 27, 12, 30, 15, tzinfo=timezone.utc)


def test_a_customers_cancellation_arrives_on_the_next_incremental_pull_and_is_never_fulfilled(open_store):
    from connectors.sandbox.store_events import cancel_at

    store = open_store(days=1, cancel_share=0.3, malformed_share=0.0)
    storefront = store.storefront()
    cut = store.until_now()
    first = {r.external_id: r for r in pulled(storefront, START, cut)}
    planned = {str(o["id"]): cancel_at(seed=7, shop_index=0, seq=o["_seq"], placed_at=o["_created"], share=0.3)
               for o in store.sandbox.stores[DOMAIN].orders if o["_created"] <= cut}
    later = [oid for oid, at in planned.items() if at and at > cut]
    storefront.push_fulfillment(order_external_id=later[0], tracking_number="1ZCANCEL01", carrier_name="UPS",
                                tracking_url="https://ups.example/1ZCANCEL01")   # shipped before the customer cancels
    store.clock.advance(timedelta(hours=7))
    second = {r.external_id: r for r in pulled(storefront, cut - timedelta(minutes=5), store.until_now())}
    truth = {o["id"]: o for o in store.truth()}

    cancelled = [oid for oid in later[1:] if truth[oid]["status"] == "cancelled"]
    assert len(cancelled) >= 2 and truth[later[0]]["status"] == "open" and second[later[0]].cancelled_at is None
    for oid in cancelled:
        assert first[oid].cancelled_at is None
        assert second[oid].cancelled_at == truth[oid]["cancelled_at"] == second[oid].updated_at > cut
        assert second[oid].raw["cancel_reason"] == "customer"
    assert all((r.cancelled_at is not None) == (truth[oid]["status"] == "cancelled") for oid, r in second.items())
    with pytest.raises(PermanentApiError, match="is cancelled in the store"):
        storefront.push_fulfillment(order_external_id=cancelled[0], tracking_number="1ZCANCEL02", carrier_name="UPS",
                                    tracking_url="https://ups.example/1ZCANCEL02")
    refused = storefront.session.post(f"{store.url}/{DOMAIN}/orders/{cancelled[0]}/fulfill",   # the store says no too
                                      json={"shipping_tracking_number": "1ZCANCEL03"})
    assert refused.status_code == 422 and "cancelled" in refused.json()["description"]
    assert [f["order_id"] for f in store.sandbox.fulfillments(DOMAIN)] == [later[0]]


def test_returns_refunded_in_the_store_carry_what_the_transactions_say_was_refunded(open_store):
    store = open_store(days=1, return_share=1.0, store_refund_share=0.5, cancel_share=0.0, malformed_share=0.0)
    storefront = store.storefront()
    orders = store.truth()[:10]
    for n, order in enumerate(orders):
        storefront.push_fulfillment(order_external_id=order["id"], tracking_number=f"TRK{n:04d}",
                                    carrier_name="UPS", tracking_url=f"https://ups.example/TRK{n:04d}")
    store.deliveries.delivered.update({f"TRK{n:04d}": store.clock.now() for n in range(len(orders))})
    store.clock.advance(timedelta(days=3, hours=1))
    found = [r for page in storefront.pull_return_requests(since=START, until=store.until_now()) for r in page]
    returns = {r["id"]: r for r in store.sandbox.returns_as_of(DOMAIN, store.clock.now())}
    truth = {o["id"]: o for o in store.truth()}

    assert sorted(r.external_id for r in found) == sorted(returns)
    refunded = [r for r in found if r.refunded_amount]
    assert refunded and len(refunded) < len(found)                    # the merchant refunded some at once
    for request in found:
        assert request.refunded_amount == pytest.approx(returns[request.external_id]["refunded"])
        assert request.refunded_amount == pytest.approx(truth[request.order_external_id]["refunded"])
        if request.refunded_amount:                                   # the returned items at their price
            prices = {line["id"]: line["unit_price"] for line in truth[request.order_external_id]["lines"]}
            assert request.refunded_amount == pytest.approx(
                sum(prices[line.external_line_id] * line.quantity for line in request.lines))
    for order in pulled(storefront, START, store.until_now()):        # the order itself shows only full refunds
        expected = truth[order.external_id]
        assert order.refunded_amount == (float(expected["total"]) if expected["payment_status"] == "refunded" else 0.0)


# --- rate limits and flaky networks ------------------------------------------------------------

def test_the_client_paces_itself_on_the_bucket_headers_and_never_meets_a_429(open_store):
    store = open_store(days=5)
    store.sandbox.stores[DOMAIN].bucket.take(38)         # another sync of ours just ran: 2 requests left
    storefront = store.storefront()

    ids = [r.external_id for r in pulled(storefront, START, store.until_now())]

    assert sorted(ids) == sorted(o["id"] for o in store.truth())
    assert store.sandbox.api.served["429"] == 0 and storefront.throttle_waits
    assert all(wait <= 1.5 for wait in storefront.throttle_waits)       # 2/s drain: seconds, not minutes


def test_a_429_from_a_full_bucket_is_waited_out_for_one_requests_drain(open_store):
    store = open_store(days=1)
    store.sandbox.stores[DOMAIN].bucket.take(40)         # full: the next request overflows

    assert DOMAIN in store.storefront().check()
    assert store.sandbox.api.served["429"] == 1
    assert 0.5 <= store.time.sleeps[0] <= 0.5 * 1.25 + 1e-9             # Retry-After we derived, plus jitter


def test_a_full_sync_over_flaky_http_loses_and_duplicates_nothing_and_ships_each_order_once(open_store):
    faults = Faults(throttle_share=0.1, error_share=0.1, truncate_next=2, retry_after="0", seed=11)
    store = open_store(days=5, faults=faults, duplicate_share=0.5, shuffle_share=0.5)
    storefront = store.storefront()

    ids = [r.external_id for r in pulled(storefront, START, store.until_now())]
    to_ship = [o for o in store.truth() if o["status"] != "cancelled"][:25]    # never ship a cancelled one
    faults.truncate_next = 3                             # some answers to our fulfils get lost
    for n, order in enumerate(to_ship):
        storefront.push_fulfillment(order_external_id=order["id"], tracking_number=f"FLAKY{n:03d}",
                                    carrier_name="UPS", tracking_url=f"https://ups.example/FLAKY{n:03d}")

    assert sorted(ids) == sorted(o["id"] for o in store.truth())
    shipped = [f["order_id"] for f in store.sandbox.fulfillments(DOMAIN)]
    assert sorted(shipped) == sorted(o["id"] for o in to_ship)          # each exactly once
    assert faults.injected["truncated"] == 5 and faults.injected["429"] + faults.injected["5xx"] >= 10


# --- credentials and configuration -------------------------------------------------------------

def test_a_rejected_access_token_says_which_setting_to_fix(open_store):
    store = open_store(days=0)

    assert DOMAIN in store.storefront().check()
    with pytest.raises(PermanentApiError, match="CUMPLIDO_TIENDANUBE_ACCESS_TOKEN") as rejected:
        store.storefront(token="tn_wrong").check()
    assert rejected.value.status == 401 and "Invalid access token" in rejected.value.message
    assert "tn_wrong" not in str(rejected.value)
    with pytest.raises(PermanentApiError, match="access token rejected"):
        pulled(store.storefront(token="tn_wrong"), START, store.until_now())


def test_requests_without_a_user_agent_are_refused_and_the_client_insists_on_a_contact(open_store):
    store = open_store(days=0)
    connection = http.client.HTTPConnection(urlsplit(store.url).netloc)     # sends no User-Agent at all
    connection.request("GET", f"/{DOMAIN}/orders", headers={"Authentication": "bearer tn_sandbox"})
    answer = connection.getresponse()
    body = json.loads(answer.read())
    connection.close()

    assert answer.status == 400 and body["code"] == 400 and "User-Agent" in body["description"]
    for bad in ("", "Cumplido", "cumplido/0.1"):
        with pytest.raises(ValueError, match="CUMPLIDO_TIENDANUBE_USER_AGENT"):
            TiendanubeStorefront(channel="c", api_base=store.url, access_token="t", user_agent=bad)


def test_the_registry_builds_the_storefront_from_default_settings_against_the_sandbox(open_store, world):
    store = open_store(days=0)
    storefront = storefront_for(world.channels[0], Settings(sandbox_tiendanube_url=store.url))

    assert isinstance(storefront, TiendanubeStorefront) and DOMAIN in storefront.check()
