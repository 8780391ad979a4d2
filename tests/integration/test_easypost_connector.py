"""EasyPostCarrier against the local EasyPost sandbox over real HTTP. EasyPost publishes no
OpenAPI spec, so every response the sandbox gives is checked against the shapes of real
payloads recorded in EasyPost's official client library (EasyPost/easypost-python):
  tests/cassettes/test_shipment_buy.yaml      Shipment, Rate, Address, Parcel, PostageLabel, Tracker, Fee
  tests/cassettes/test_shipment_all.yaml      {"shipments": [...], "has_more": ...}, TrackingDetail
  tests/cassettes/test_shipment_refund.yaml   refund_status "submitted"
  tests/cassettes/test_tracker_retrieve.yaml  Tracker with finalized / is_return, TrackingLocation
  tests/cassettes/test_error.yaml             {"error": {"code", "message", "errors": [FieldError]}}
  tests/cassettes/test_carrier_account_all.yaml  a bare list of CarrierAccount (production key)
and the Event of EasyPost/examples official/fixtures/event-body.json."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta

import pytest
import requests
from jsonschema import Draft202012Validator

from config.settings import DEFAULT_WORLD
from config.world import load_world
from connectors.carriers.easypost import (
    EasyPostCarrier,
    parse_easypost_webhook,
    tracking_update_from_event,
    verify_easypost_webhook,
)
from connectors.carriers.easypost_parse import address_payload, canonical_state
from connectors.errors import PermanentApiError, TransientApiError
from connectors.protocols import Carrier
from connectors.sandbox.easypost import SANDBOX_API_KEY, EasyPostSandbox
from connectors.sandbox.faults import Faults
from connectors.webhooks import WebhookRejected
from tests.integration.carrier_contract import (  # noqa: F401 - collected here, run against this carrier
    test_a_label_bought_just_before_a_crash_is_found_by_its_reference,
    test_a_reference_never_booked_has_no_label,
)
from tests.integration.common import (
    CUSTOMERS,
    PROGRESS,
    book,
    book_each_once,
    carrier_fixtures,
    parcel,
)

ACCOUNT_IDS = {"usps": "ca_b25657e9896e4d63ac8151ac346ac41e", "ups": "ca_7f3a0c6d2e9b4c18a5d1e0f4b6c2a9d3"}

# ---- shapes of the real payloads (keys and types as recorded; nothing more, nothing less) ----

S, N, I, B = {"type": "string"}, {"type": "number"}, {"type": "integer"}, {"type": "boolean"}
STAMP = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"}
ADDRESS_STAMP = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$"}
MONEY = {"type": "string", "pattern": r"^\d+\.\d+$"}
MODE = {"enum": ["test", "production"]}
STATUS = {"enum": ["unknown", "pre_transit", "in_transit", "out_for_delivery", "delivered", "available_for_pickup",
                   "return_to_sender", "failure", "cancelled", "error"]}


def null(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def ident(prefix: str) -> dict:
    return {"type": "string", "pattern": f"^{prefix}_[0-9a-f]{{32}}$"}


def obj(optional: tuple[str, ...] = (), **props) -> dict:
    return {"type": "object", "properties": props, "additionalProperties": False,
            "required": sorted(set(props) - set(optional))}


def array(item: dict) -> dict:
    return {"type": "array", "items": item}


def const(value: str) -> dict:
    return {"const": value}


ADDRESS = obj(id=ident("adr"), object=const("Address"), created_at=ADDRESS_STAMP, updated_at=ADDRESS_STAMP,
              name=null(S), company=null(S), street1=S, street2=null(S), city=S, state=null(S), zip=S, country=S,
              phone=null(S), email=null(S), mode=MODE, carrier_facility=null(S), residential=null(B),
              federal_tax_id=null(S), state_tax_id=null(S), verifications={"type": "object"})
PARCEL = obj(id=ident("prcl"), object=const("Parcel"), created_at=STAMP, updated_at=STAMP, length=null(N),
             width=null(N), height=null(N), predefined_package=null(S), weight=N, mode=MODE)
RATE = obj(("billing_type",), id=ident("rate"), object=const("Rate"), created_at=STAMP, updated_at=STAMP, mode=MODE,
           service=S, carrier=S, rate=MONEY, currency=S, retail_rate=null(MONEY), retail_currency=null(S),
           list_rate=null(MONEY), list_currency=null(S), billing_type=S, delivery_days=null(I), delivery_date=null(S),
           delivery_date_guaranteed=B, est_delivery_days=null(I), shipment_id=ident("shp"), carrier_account_id=S)
POSTAGE_LABEL = obj(object=const("PostageLabel"), id=ident("pl"), created_at=STAMP, updated_at=STAMP, date_advance=I,
                    integrated_form=S, label_date=STAMP, label_resolution=I, label_size=S, label_type=S,
                    label_file_type=S, label_url={"type": "string", "pattern": "^https://"}, label_pdf_url=null(S),
                    label_zpl_url=null(S), label_epl2_url=null(S), label_file=null(S))
LOCATION = obj(object=const("TrackingLocation"), city=null(S), state=null(S), country=null(S), zip=null(S))
DETAIL = obj(object=const("TrackingDetail"), message=null(S), description=null(S), status=STATUS,
             status_detail=null(S), datetime=STAMP, source=null(S), carrier_code=null(S), tracking_location=LOCATION)
CARRIER_DETAIL = obj(object=const("CarrierDetail"), service=null(S), container_type=null(S),
                     est_delivery_date_local=null(S), est_delivery_time_local=null(S), origin_location=null(S),
                     origin_tracking_location=null(LOCATION), destination_location=null(S),
                     destination_tracking_location=null(LOCATION), guaranteed_delivery_date=null(S),
                     alternate_identifier=null(S), initial_delivery_attempt=null(S))
FEE = obj(object=const("Fee"), type=S, amount=MONEY, charged=B, refunded=B)
TRACKER = obj(("finalized", "is_return"), id=ident("trk"), object=const("Tracker"), mode=MODE, tracking_code=S,
              status=STATUS, status_detail=null(S), created_at=STAMP, updated_at=STAMP, signed_by=null(S),
              weight=null(N), est_delivery_date=null(STAMP), shipment_id=null(ident("shp")), carrier=S,
              tracking_details=array(DETAIL), fees=array(FEE), carrier_detail=null(CARRIER_DETAIL),
              finalized=B, is_return=B, public_url={"type": "string", "pattern": "^https://track.easypost.com/"})
MESSAGE = obj(carrier=null(S), carrier_account_id=S, type=S, message=S)
SHIPMENT = obj(id=ident("shp"), object=const("Shipment"), created_at=STAMP, updated_at=STAMP, is_return=B,
               messages=array(MESSAGE), mode=MODE, options={"type": "object"}, reference=null(S), status=STATUS,
               tracking_code=null(S), batch_id=null(S), batch_status=null(S), batch_message=null(S),
               customs_info=null({"type": "object"}), from_address=ADDRESS, to_address=ADDRESS,
               return_address=ADDRESS, buyer_address=ADDRESS, insurance=null(S), order_id=null(S), parcel=PARCEL,
               postage_label=null(POSTAGE_LABEL), rates=array(RATE), selected_rate=null(RATE),
               refund_status={"enum": [None, "submitted", "refunded", "rejected"]}, scan_form=null({"type": "object"}),
               tracker=null(TRACKER), usps_zone=null(I), forms=array({"type": "object"}), fees=array(FEE))
CARRIER_ACCOUNT = obj(id=S, object=const("CarrierAccount"), type=S, clone=B, created_at=STAMP, updated_at=STAMP,
                      description=null(S), reference=null(S), billing_type=S, readable=S, logo=null(S),
                      fields={"type": "object"}, credentials={"type": ["object", "array"]},
                      test_credentials={"type": ["object", "array"]})
ERROR = obj(error=obj(code={"type": "string", "pattern": r"^[A-Z_]+(\.[A-Z_]+)*$"}, message=S,
                      errors=array({"anyOf": [obj(("suggestion",), field=S, message=S, suggestion=null(S)), S]})))
EVENT = obj(description=S, mode=MODE, previous_attributes=null({"type": "object"}), created_at=STAMP,
            pending_urls=array(S), completed_urls=null(array(S)), updated_at=STAMP, id=S, user_id=S, status=S,
            object=const("Event"), result=TRACKER)
SHAPES = [  # (method, path, success shape); any status >= 400 must be ERROR
    ("POST", r"/v2/shipments", SHIPMENT), ("GET", r"/v2/shipments", obj(shipments=array(SHIPMENT), has_more=B)),
    ("GET", r"/v2/shipments/[^/]+", SHIPMENT), ("POST", r"/v2/shipments/[^/]+/(buy|refund)", SHIPMENT),
    ("POST", r"/v2/shipments/[^/]+/rerate", obj(rates=array(RATE))), ("GET", r"/v2/rates/[^/]+", RATE),
    ("GET", r"/v2/trackers/[^/]+", TRACKER), ("GET", r"/v2/carrier_accounts", array(CARRIER_ACCOUNT)),
]


def shape_problems(method: str, path: str, status: int, body) -> list[str]:
    if status >= 400:
        schema = ERROR
    else:
        schema = next((s for m, p, s in SHAPES if m == method and re.fullmatch(p, path)), None)
        if schema is None:
            return [f"{method} {path}: no recorded EasyPost payload for this endpoint"]
    return [f"{method} {path} -> {status}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in Draft202012Validator(schema).iter_errors(body)][:5]


class ShapeRecorder:
    """A `requests` response hook checking every answer against the recorded shapes."""

    def __init__(self):
        self.problems: list[str] = []
        self.exchanges = 0

    def attach(self, session: requests.Session) -> "ShapeRecorder":
        session.hooks["response"].append(self.hook)
        return self

    def hook(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        self.exchanges += 1
        try:
            body = response.json()
        except ValueError:
            return response   # a truncated body (fault injection): nothing to compare
        path = requests.utils.urlparse(response.request.url).path
        self.problems += shape_problems(response.request.method, path, response.status_code, body)
        return response

    def assert_clean(self) -> None:
        assert self.exchanges and not self.problems, "\n".join(self.problems)


# ---- fixtures ----

@pytest.fixture(scope="module")
def world():
    base = load_world(DEFAULT_WORLD)   # EasyPost carrier accounts are ca_… ids
    return base.model_copy(update={"carriers": tuple(c.model_copy(update={"carrier_id": ACCOUNT_IDS[c.code]})
                                                     for c in base.carriers)})



@pytest.fixture
def label_fields() -> tuple[str, str]:
    return 'reference', 'id'   # reference and label id in the simulator's ground truth


make_sandbox, sandbox, make_carrier, carrier = carrier_fixtures(EasyPostSandbox, EasyPostCarrier, api_key=SANDBOX_API_KEY)


@pytest.fixture
def contract(carrier):
    recorder = ShapeRecorder().attach(carrier.session)
    yield recorder
    recorder.assert_clean()


def labels_for(sandbox, reference: str) -> list[dict]:
    return [label for label in sandbox.labels() if label["reference"] == reference]


def shipments_for(carrier, url, reference: str) -> list[str]:
    """Through the API itself: every shipment, bought or not, that carries the reference."""
    ids = []
    for purchased in ("true", "false"):
        page = carrier.session.get(f"{url}/v2/shipments", params={"purchased": purchased, "page_size": 100}).json()
        ids += [s["id"] for s in page["shipments"] if s["reference"] == reference]
    return ids


# ---- quoting and buying ----

def test_carrier_implements_the_carrier_protocol(carrier):
    assert isinstance(carrier, Carrier)


def test_every_service_of_every_carrier_account_is_quoted_cheapest_first(world, carrier, contract):
    rates = carrier.quote(parcel(world, "order-1001-p1"))

    assert {(r.carrier, r.service) for r in rates} == {(c.code, s.code) for c in world.carriers for s in c.services}
    assert [r.amount for r in rates] == sorted(r.amount for r in rates)
    by_service = {r.service: r for r in rates}
    assert by_service["usps_ground_advantage"].amount < by_service["usps_priority_mail_express"].amount
    assert (by_service["ups_next_day_air"].transit_days, by_service["ups_ground"].transit_days) == (1, 4)
    assert {r.currency for r in rates} == {"USD"}


def test_parcels_are_weighed_in_ounces_and_farther_heavier_ones_cost_more(world, carrier, sandbox, contract):
    def ground(reference: str, **options) -> float:
        return next(r.amount for r in carrier.quote(parcel(world, reference, **options)) if r.service == "ups_ground")

    near, far = ground("order-1-p1", to=CUSTOMERS[1]), ground("order-2-p1", to=CUSTOMERS[2])
    heavy = ground("order-3-p1", to=CUSTOMERS[2], weight_kg=9.0)
    label = book(carrier, world, "order-4-p1", weight_kg=2.0)

    assert near < far < heavy
    assert label.raw["parcel"]["weight"] == 70.5   # 2 kg in ounces, as EasyPost's Parcel.weight wants






def test_buying_a_second_rate_of_a_booked_shipment_returns_the_label_already_bought(world, sandbox, carrier, contract):
    rates = carrier.quote(parcel(world, "order-1003-p1"))
    first = carrier.buy_label(rate=rates[0], reference="order-1003-p1")

    second = carrier.buy_label(rate=rates[-1], reference="order-1003-p1")   # EasyPost answers 422

    assert second.label_ref == first.label_ref and second.service == first.service
    assert len(labels_for(sandbox, "order-1003-p1")) == 1


def test_quoting_a_reference_that_already_has_a_label_is_refused(world, carrier, contract):
    book(carrier, world, "order-1004-p1")

    with pytest.raises(PermanentApiError, match="already has label"):
        carrier.quote(parcel(world, "order-1004-p1"))


def test_quoting_again_after_a_crash_reuses_the_unbought_shipment(world, sandbox, carrier, make_carrier, url, contract):
    first = carrier.quote(parcel(world, "order-1010-p1"))   # ...and the process dies before buying
    restarted = make_carrier()
    contract.attach(restarted.session)

    again = restarted.quote(parcel(world, "order-1010-p1"))
    label = restarted.buy_label(rate=again[0], reference="order-1010-p1")

    assert {r.rate_id for r in again}.isdisjoint(r.rate_id for r in first)   # fresh rates, by /rerate
    assert shipments_for(carrier, url, "order-1010-p1") == [label.label_ref]


def test_an_unbought_reference_quoted_again_for_another_parcel_is_refused(world, carrier, contract):
    carrier.quote(parcel(world, "order-1011-p1"))

    with pytest.raises(PermanentApiError, match="EasyPost shipments cannot be edited"):
        carrier.quote(parcel(world, "order-1011-p1", weight_kg=3.0))


def test_a_rate_quoted_before_a_restart_buys_its_own_shipment(world, sandbox, carrier, make_carrier, contract):
    rates = carrier.quote(parcel(world, "order-1015-p1"))
    restarted = make_carrier()   # knows nothing of the quote: asks EasyPost which shipment the rate is of
    contract.attach(restarted.session)

    label = restarted.buy_label(rate=rates[0], reference="order-1015-p1")

    (truth,) = labels_for(sandbox, "order-1015-p1")
    assert (label.label_ref, truth["selected_rate"]["id"]) == (truth["id"], rates[0].rate_id)


def test_a_label_on_a_duplicate_shipment_is_found_by_listing_purchased_shipments(world, make_sandbox, make_carrier,
                                                                                 url, sleeps):
    sandbox = make_sandbox(repeat_page_edges=True)   # pages overlap by one record, as index reads may
    carrier = make_carrier()
    recorder = ShapeRecorder().attach(carrier.session)
    bought = book(carrier, world, "order-1012-p1")
    for i in range(120):                             # enough later labels to push it onto page two
        book(carrier, world, f"order-{5000 + i}-p1", to=CUSTOMERS[i % 3])
    origin = parcel(world, "order-1012-p1").ship_from
    twin = {"reference": "order-1012-p1", "to_address": address_payload(CUSTOMERS[0]),
            "from_address": address_payload(origin), "parcel": {"weight": 49.4}}
    carrier.session.post(f"{url}/v2/shipments", json={"shipment": twin}).raise_for_status()   # an unbought twin
    restarted = make_carrier(monotonic=lambda: 1000.0)   # no time passes between the two pages
    recorder.attach(restarted.session)

    found = restarted.find_label("order-1012-p1")

    assert found.label_ref == bought.label_ref
    assert (restarted.paced, sleeps[-1]) == (1, pytest.approx(0.2))   # under 5 index requests a second
    assert len(labels_for(sandbox, "order-1012-p1")) == 1
    recorder.assert_clean()


def test_a_purchase_whose_answer_was_cut_short_is_found_instead_of_bought_again(world, sandbox, carrier):
    rates = carrier.quote(parcel(world, "order-1009-p1"))
    sandbox.faults.truncate_next = 1

    with pytest.raises(TransientApiError):
        carrier.buy_label(rate=rates[0], reference="order-1009-p1")

    assert carrier.find_label("order-1009-p1").label_ref == labels_for(sandbox, "order-1009-p1")[0]["id"]
    assert len(labels_for(sandbox, "order-1009-p1")) == 1


def test_find_before_buy_under_faults_books_exactly_one_label_per_reference(world, make_sandbox, make_carrier,
                                                                            sleeps):
    faults = Faults(throttle_share=0.1, error_share=0.1, truncate_next=4, retry_after="0", seed=9)
    sandbox = make_sandbox(faults=faults)
    carrier = make_carrier(max_retries=6)
    recorder = ShapeRecorder().attach(carrier.session)
    references = [f"order-{3000 + i}-p1" for i in range(30)]

    labels = book_each_once(carrier, world, references, to=CUSTOMERS[1])
    found = {reference: make_carrier(max_retries=6).find_label(reference).label_ref for reference in references}

    truth = sandbox.labels()
    assert sorted(label["reference"] for label in truth) == sorted(references)
    assert {r: label.label_ref for r, label in labels.items()} == found == {t["reference"]: t["id"] for t in truth}
    assert faults.injected["truncated"] == 4 and faults.injected["429"] > 0 and faults.injected["5xx"] > 0
    assert len(sleeps) == faults.injected["429"] + faults.injected["5xx"] + carrier.paced
    recorder.assert_clean()


# ---- tracking, returns and voids ----

@pytest.mark.parametrize("status, detail, expected", [
    ("unknown", "unknown", "unknown"), ("pre_transit", "label_created", "pre_transit"),
    ("in_transit", "arrived_at_facility", "in_transit"), ("in_transit", "address_correction", "exception"),
    ("in_transit", "delivery_exception", "exception"), ("out_for_delivery", None, "out_for_delivery"),
    ("delivered", "arrived_at_destination", "delivered"), ("available_for_pickup", None, "available_for_pickup"),
    ("return_to_sender", "return", "return_to_sender"), ("return_to_sender", "address_correction", "return_to_sender"),
    ("failure", "lost", "failure"),
    ("cancelled", "cancelled", "cancelled"), ("error", None, "unknown"), ("something_new", None, "unknown"),
])
def test_every_easypost_tracker_status_maps_onto_a_canonical_state(status, detail, expected):
    assert canonical_state(status, detail) == expected


def test_tracking_moves_forward_with_the_clock_through_canonical_states(world, make_sandbox, make_carrier, clock):
    sandbox = make_sandbox(late_share=0.0, exception_share=0.0)
    carrier = make_carrier()
    recorder = ShapeRecorder().attach(carrier.session)
    label = book(carrier, world, "order-1006-p1", service="ups_2nd_day_air")

    seen = []
    for _ in range(12 * 5):   # every two hours: out for delivery lasts two to five
        seen.append(carrier.track(label.label_ref).status)          # by shipment: GET /v2/shipments/{id}
        clock.advance(timedelta(hours=2))
    update = carrier.track(label)                                    # by tracker: GET /v2/trackers/{id}

    assert [PROGRESS[s] for s in seen] == sorted(PROGRESS[s] for s in seen)
    assert set(seen) == set(PROGRESS)
    assert update.status == "delivered" and update.tracking_number == label.tracking_number
    assert [e.occurred_at for e in update.events] == sorted(e.occurred_at for e in update.events)
    assert update.events[-1].occurred_at == sandbox.delivered_at(label.tracking_number)
    assert update.events[0].status == "pre_transit" and update.events[-1].location
    recorder.assert_clean()


def test_late_and_exception_parcels_occur_across_a_sample(world, sandbox, carrier, clock):
    labels = [book(carrier, world, f"order-{2000 + i}-p1", to=CUSTOMERS[i % 3]) for i in range(150)]
    clock.advance(timedelta(days=12))

    updates = [carrier.track(label) for label in labels]

    def late(update) -> bool:
        due = datetime.fromisoformat(update.raw["est_delivery_date"]).date()
        return update.status == "delivered" and update.events[-1].occurred_at.date() > due

    troubled = [u for u in updates if any(e.status == "exception" for e in u.events)]
    assert 0.04 < sum(map(late, updates)) / len(updates) < 0.30
    assert troubled and {u.status for u in troubled} <= {"delivered", "return_to_sender"}
    assert {u.status for u in updates} <= {"delivered", "return_to_sender"}


def test_return_label_is_created_once_per_reference_and_travels_back(world, sandbox, carrier, clock, contract):
    outbound = book(carrier, world, "order-1007-p1", to=CUSTOMERS[2], service="ups_ground")

    first = carrier.create_return_label(outbound_label_ref=outbound.label_ref, reference="return-1007-1")
    again = carrier.create_return_label(outbound_label_ref=outbound.label_ref, reference="return-1007-1")

    assert again.label_ref == first.label_ref != outbound.label_ref
    (truth,) = labels_for(sandbox, "return-1007-1")
    assert truth["is_return"] and truth["to_address"]["city"] == "Newark" and truth["from_address"]["city"] == "Seattle"
    assert first.carrier == outbound.carrier == "ups" and first.service == "ups_ground"   # its cheapest UPS rate
    clock.advance(timedelta(days=7))
    assert carrier.track(first).status == "delivered"
    assert sandbox.delivered_at(first.tracking_number) is not None


def test_a_voided_label_is_refunded_once_stops_tracking_and_frees_its_reference(world, sandbox, carrier, clock,
                                                                               contract):
    first = book(carrier, world, "order-1005-p1")

    assert carrier.void_label(first) is True
    assert carrier.void_label(first.label_ref) is True   # EasyPost refuses a second refund: it already was
    assert carrier.find_label("order-1005-p1") is None
    assert carrier.track(first).status == "cancelled"
    again = book(carrier, world, "order-1005-p1", service="ups_ground")
    assert carrier.find_label("order-1005-p1").label_ref == again.label_ref != first.label_ref
    clock.advance(timedelta(days=2))
    assert [label["refund_status"] for label in labels_for(sandbox, "order-1005-p1")] == ["refunded", None]
    assert sandbox.delivered_at(first.tracking_number) is None


def test_a_label_the_carrier_has_scanned_cannot_be_voided(world, sandbox, carrier, clock, contract):
    label = book(carrier, world, "order-1013-p1")
    clock.advance(timedelta(days=1))

    assert carrier.void_label(label) is False
    assert carrier.find_label("order-1013-p1").label_ref == label.label_ref
    with pytest.raises(PermanentApiError, match="SHIPMENT.REFUND.FAILURE"):
        carrier.void_label(label)


# ---- webhooks ----

# EasyPost's own test vector: easypost-python tests/test_webhook.py::test_validate_webhook with the
# `event_body` fixture of tests/conftest.py (also easypost-node/-ruby/-php/-csharp webhook tests).
OFFICIAL_BODY = (b'{"result":{"id":"batch_123...","object":"Batch","mode":"test","state":"created","num_shipments":0,'
                 b'"reference":null,"created_at":"2022-07-26T17:22:32Z","updated_at":"2022-07-26T17:22:32Z",'
                 b'"scan_form":null,"shipments":[],"status":{"created":0,"queued_for_purchase":0,"creation_failed":0,'
                 b'"postage_purchased":0,"postage_purchase_failed":0},"pickup":null,"label_url":null},'
                 b'"description":"batch.created","mode":"test","previous_attributes":null,"completed_urls":null,'
                 b'"user_id":"user_123...","status":"pending","object":"Event","id":"evt_123..."}')
OFFICIAL_SECRET = "sécret"
OFFICIAL_SIGNATURE = "hmac-sha256-hex=e93977c8ccb20363d51a62b3fe1fc402b7829be1152da9e88cf9e8d07115a46b"


def test_the_official_webhook_test_vector_verifies():
    assert verify_easypost_webhook(OFFICIAL_BODY, OFFICIAL_SIGNATURE, OFFICIAL_SECRET)
    assert verify_easypost_webhook(OFFICIAL_BODY, OFFICIAL_SIGNATURE, "se\u0301cret")   # same secret, decomposed
    event = parse_easypost_webhook({"x-hmac-signature": OFFICIAL_SIGNATURE}, OFFICIAL_BODY, OFFICIAL_SECRET)
    assert event["description"] == "batch.created" and tracking_update_from_event(event) is None


@pytest.mark.parametrize("body, header, secret", [
    (OFFICIAL_BODY.replace(b'"num_shipments":0', b'"num_shipments":1'), OFFICIAL_SIGNATURE, OFFICIAL_SECRET),
    (OFFICIAL_BODY + b" ", OFFICIAL_SIGNATURE, OFFICIAL_SECRET),
    (OFFICIAL_BODY, OFFICIAL_SIGNATURE, "secret"),
    (OFFICIAL_BODY, OFFICIAL_SIGNATURE[:-4] + "aaaa", OFFICIAL_SECRET),
    (OFFICIAL_BODY, OFFICIAL_SIGNATURE.removeprefix("hmac-sha256-hex="), OFFICIAL_SECRET),
    (OFFICIAL_BODY, "", OFFICIAL_SECRET),
])
def test_a_tampered_or_unsigned_webhook_is_rejected(body, header, secret):
    assert not verify_easypost_webhook(body, header, secret)
    with pytest.raises(WebhookRejected, match="missing X-Hmac-Signature" if not header else "bad signature"):
        parse_easypost_webhook({"X-Hmac-Signature": header}, body, secret)


def test_a_signed_body_that_is_not_an_easypost_event_is_rejected():
    body = b'["not", "an", "event"]'
    header = "hmac-sha256-hex=" + hmac.new(b"whsec", body, hashlib.sha256).hexdigest()

    with pytest.raises(WebhookRejected, match="not an EasyPost Event"):
        parse_easypost_webhook({"X-Hmac-Signature": header}, body, "whsec")


def test_a_webhook_cannot_be_checked_without_a_secret():
    with pytest.raises(ValueError, match="no EasyPost webhook secret configured"):
        verify_easypost_webhook(OFFICIAL_BODY, OFFICIAL_SIGNATURE, "")


def test_a_tracker_webhook_from_the_sandbox_verifies_and_reads_like_polling(world, sandbox, carrier, clock):
    label = book(carrier, world, "order-1014-p1")
    clock.advance(timedelta(days=1))

    body, headers = sandbox.tracker_event(label.tracking_number, secret="whsec-Ωmega")
    update = tracking_update_from_event(parse_easypost_webhook(headers, body, "whsec-Ωmega"))

    assert not list(Draft202012Validator(EVENT).iter_errors(json.loads(body)))
    with pytest.raises(WebhookRejected, match="bad signature"):
        parse_easypost_webhook(headers, body, "whsec-omega")
    assert (update.status, update.events) == (carrier.track(label).status, carrier.track(label).events)


# ---- credentials, check() and 4xx ----

def test_check_with_a_test_key_authenticates_and_says_accounts_are_unverified(url, carrier, contract):
    assert carrier.check().startswith(f"easypost: test API key accepted at {url}; 2 carrier account(s) not verified")


def test_check_with_a_production_key_names_the_connected_carrier_accounts(world, make_sandbox, make_carrier, url):
    make_sandbox(api_key="EZAK_sandbox_production")
    carrier = make_carrier(api_key="EZAK_sandbox_production")
    recorder = ShapeRecorder().attach(carrier.session)
    extra = world.carriers[0].model_copy(update={"carrier_id": "ca_00000000000000000000000000000099", "code": "fedex"})

    assert carrier.check() == f"easypost: 2 carrier account(s) connected (USPS, UPS) at {url}"
    with pytest.raises(PermanentApiError, match="ca_0+99 are not on this EasyPost account"):
        make_carrier(api_key="EZAK_sandbox_production", carriers=[*world.carriers, extra]).check()
    recorder.assert_clean()


def test_check_names_services_easypost_cannot_book(world, make_carrier, sandbox):
    service = world.carriers[0].services[0].model_copy(update={"code": "usps_media_mail"})
    odd = world.carriers[0].model_copy(update={"services": (*world.carriers[0].services, service)})

    with pytest.raises(PermanentApiError, match="usps_media_mail have no EasyPost equivalent"):
        make_carrier(carriers=[odd, *world.carriers[1:]]).check()


def test_a_wrong_api_key_is_a_permanent_error_in_easyposts_words(make_carrier, sandbox):
    carrier = make_carrier(api_key="EZTK_wrong_key_123")
    recorder = ShapeRecorder().attach(carrier.session)

    with pytest.raises(PermanentApiError, match="no longer active.*APIKEY.INACTIVE.*Basic user name") as raised:
        carrier.check()

    assert raised.value.status == 401 and "EZTK_wrong_key_123" not in str(raised.value)
    recorder.assert_clean()


def test_a_parcel_without_weight_is_refused_with_the_field_named(world, carrier, contract):
    with pytest.raises(PermanentApiError, match=r"422.*shipment\.parcel\.weight: must be greater than 0"):
        carrier.quote(parcel(world, "order-1008-p1", weight_kg=0.0))


def test_the_shape_check_catches_what_easypost_never_sends():
    rate = {"id": "rate_" + "0" * 32, "object": "Rate", "rate": 5.93}   # a number, and most keys missing
    problems = shape_problems("GET", "/v2/rates/rate_x", 200, rate)
    invented = shape_problems("GET", "/v2/shipments", 200, {"shipments": [], "has_more": False, "next_page": "x"})

    assert any("5.93 is not of type 'string'" in p for p in problems)
    assert any("'next_page' was unexpected" in p for p in invented)
