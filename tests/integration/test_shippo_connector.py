"""ShippoCarrier against the local Shippo sandbox over real HTTP; contract tests check every
exchange against Shippo's official OpenAPI 3.1 spec (public-api.yaml, API version 2018-02-08)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from connectors.carriers.shippo import ShippoCarrier
from connectors.carriers.shippo_parse import (
    API_VERSION,
    SERVICE_TOKENS,
    canonical_state,
)
from connectors.errors import PermanentApiError
from connectors.protocols import Carrier
from connectors.sandbox.faults import Faults
from connectors.sandbox.shippo import SANDBOX_API_TOKEN, ShippoSandbox
from domain.records import Address
from tests.integration.carrier_contract import (  # noqa: F401 - collected here, run against this carrier
    test_a_label_bought_just_before_a_crash_is_found_by_its_reference,
    test_a_reference_never_booked_has_no_label,
    test_farther_and_heavier_parcels_cost_more,
)
from tests.integration.common import (
    CUSTOMERS,
    PROGRESS,
    book,
    book_each_once,
    carrier_fixtures,
    parcel,
)
from tests.integration.spec_validation import (
    SHIPPO,
    ContractRecorder,
    spec_or_skip,
    validate_exchange,
)


@pytest.fixture
def label_fields() -> tuple[str, str]:
    return 'metadata', 'object_id'   # reference and label id in the simulator's ground truth


make_sandbox, sandbox, make_carrier, carrier = carrier_fixtures(ShippoSandbox, ShippoCarrier, api_token=SANDBOX_API_TOKEN)


@pytest.fixture
def contract(url, carrier):
    """Every exchange of the test is validated against the spec; violations fail the test."""
    recorder = ContractRecorder(SHIPPO, url).attach(carrier.session)
    yield recorder
    recorder.assert_clean()


def calls_of(client: ShippoCarrier) -> list[tuple[str, str]]:
    """(method, path) of every HTTP exchange the client makes from now on."""
    seen = []
    client.session.hooks["response"].append(
        lambda r, *a, **k: seen.append((r.request.method, urlsplit(r.request.url).path)))
    return seen


def labels_for(sandbox, reference: str) -> list[dict]:
    return [label for label in sandbox.labels() if label["metadata"] == reference]


def test_carrier_implements_the_carrier_protocol(carrier):
    assert isinstance(carrier, Carrier)


def test_every_service_is_quoted_cheapest_first_in_our_codes_with_token_and_api_version(world, carrier, contract):
    headers = []
    carrier.session.hooks["response"].append(lambda r, *a, **k: headers.append(r.request.headers))

    rates = carrier.quote(parcel(world, "order-1001-p1"))

    assert {(r.carrier, r.service) for r in rates} == {(c.code, s.code) for c in world.carriers for s in c.services}
    assert [r.amount for r in rates] == sorted(r.amount for r in rates)
    by_service = {r.service: r for r in rates}
    assert by_service["usps_ground_advantage"].amount < by_service["usps_priority_mail_express"].amount
    assert (by_service["ups_next_day_air"].transit_days, by_service["ups_ground"].transit_days) == (1, 4)
    assert {r.currency for r in rates} == {"USD"}
    assert [(h["Authorization"], h["SHIPPO-API-VERSION"]) for h in headers] == \
        [(f"ShippoToken {SANDBOX_API_TOKEN}", API_VERSION)]


def test_our_service_codes_map_to_servicelevel_tokens_shippo_defines(world):
    spec_or_skip(SHIPPO)
    doc = yaml.load(SHIPPO.path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    tokens = {t for name, schema in doc["components"]["schemas"].items()
              if name.startswith("ServiceLevel") and name.endswith("Enum") for t in schema.get("enum", [])}

    assert {s.code for c in world.carriers for s in c.services} <= set(SERVICE_TOKENS)
    assert set(SERVICE_TOKENS.values()) <= tokens








def test_after_one_full_read_a_look_up_costs_one_page_of_new_transactions(world, url, carrier, make_carrier):
    for i in range(120):
        book(carrier, world, f"order-{4000 + i}-p1")
    restarted = make_carrier()
    contract = ContractRecorder(SHIPPO, url).attach(restarted.session)
    calls = calls_of(restarted)

    assert restarted.find_label("order-4007-p1").reference == "order-4007-p1"
    first = calls.count(("GET", "/transactions"))
    book(carrier, world, "order-4200-p1")            # another process books meanwhile
    calls.clear()
    assert restarted.find_label("order-4200-p1") is not None and restarted.find_label("order-9-p1") is None

    assert first == 2                                  # 121 transactions, 100 a page
    assert calls.count(("GET", "/transactions")) == 2  # one page per look-up from then on
    contract.assert_clean()


def test_references_longer_than_shippo_keeps_are_still_found(world, carrier, contract):
    reference = "shopify-main/gid://shopify/Order/5551234567890/fulfillment/1/" + "x" * 60
    bought = book(carrier, world, reference)

    assert carrier.find_label(reference).label_ref == bought.label_ref
    assert carrier.find_label(reference[:100]) is None


def test_a_purchase_whose_answer_was_cut_short_is_found_instead_of_bought_again(world, url, sandbox, carrier, sleeps):
    recorder = ContractRecorder(SHIPPO, url).attach(carrier.session)
    rates = carrier.quote(parcel(world, "order-1009-p1"))
    sandbox.faults.truncate_next = 1

    label = carrier.buy_label(rate=rates[0], reference="order-1009-p1")

    assert [t["object_id"] for t in labels_for(sandbox, "order-1009-p1")] == [label.label_ref]
    assert label.tracking_number and sleeps == []
    assert "GET /transactions -> 200" in recorder.operations          # asked by rate, then found
    if not recorder.skipped:                                           # the spec part needs ../shared/specs
        (cut_short,) = recorder.errors                                 # every other exchange keeps the spec
        assert cut_short.startswith("POST /transactions -> 201: response: DataValidationError")


def test_a_refunded_label_frees_its_reference_for_a_new_booking(world, sandbox, carrier, clock, contract):
    first = book(carrier, world, "order-1005-p1")

    assert carrier.void_label(first.label_ref) == "QUEUED"
    assert carrier.void_label(first.label_ref) == "REFUNDPENDING"      # asked once only
    assert carrier.find_label("order-1005-p1") is None
    again = book(carrier, world, "order-1005-p1", service="ups_ground")
    clock.advance(timedelta(days=8))

    assert carrier.find_label("order-1005-p1").label_ref == again.label_ref
    assert [t["status"] for t in labels_for(sandbox, "order-1005-p1")] == ["REFUNDED", "SUCCESS"]
    assert sandbox.delivered_at(first.tracking_number) is None and carrier.track(first).status == "pre_transit"


def test_a_refund_the_carrier_rejects_leaves_the_label_live(world, sandbox, carrier, clock, contract):
    label = book(carrier, world, "order-1010-p1")
    clock.advance(timedelta(hours=12))                  # picked up: the label has been used

    assert carrier.void_label(label.label_ref) == "QUEUED"
    clock.advance(timedelta(days=1))

    assert carrier.find_label("order-1010-p1").label_ref == label.label_ref
    assert labels_for(sandbox, "order-1010-p1")[0]["status"] == "REFUNDREJECTED"


def test_tracking_moves_forward_with_the_clock_through_canonical_states(world, make_sandbox, make_carrier, url,
                                                                       clock):
    sandbox = make_sandbox(late_share=0.0, exception_share=0.0)
    carrier = make_carrier()
    recorder = ContractRecorder(SHIPPO, url).attach(carrier.session)
    label = book(carrier, world, "order-1006-p1", service="ups_2nd_day_air")

    seen = []
    for _ in range(12 * 5):                          # every two hours: out for delivery lasts 2-5
        seen.append(carrier.track(label).status)
        clock.advance(timedelta(hours=2))
    update = carrier.track(label)

    assert [PROGRESS[s] for s in seen] == sorted(PROGRESS[s] for s in seen)
    assert set(seen) == set(PROGRESS)
    assert update.status == "delivered" and update.tracking_number == label.tracking_number
    assert [e.occurred_at for e in update.events] == sorted(e.occurred_at for e in update.events)
    assert update.events[-1].occurred_at == sandbox.delivered_at(label.tracking_number)
    assert (update.events[0].carrier_status, update.events[-1].carrier_status) == ("information_received", "delivered")
    recorder.assert_clean()


def test_a_label_ref_alone_is_enough_to_track_and_is_resolved_once(world, carrier, make_carrier, contract):
    label = book(carrier, world, "order-1011-p1", service="ups_ground")
    restarted = make_carrier()
    contract.attach(restarted.session)
    calls = calls_of(restarted)

    first, second = restarted.track(label.label_ref), restarted.track(label.label_ref)

    assert first.tracking_number == second.tracking_number == label.tracking_number
    assert [path.split("/")[1] for _, path in calls] == ["transactions", "rates", "tracks", "tracks"]
    assert calls[-1][1] == f"/tracks/ups/{label.tracking_number}"


@pytest.mark.parametrize(("status", "substatus", "action", "state"), [
    ("PRE_TRANSIT", "information_received", False, "pre_transit"),
    ("TRANSIT", "package_departed", False, "in_transit"),
    ("TRANSIT", "out_for_delivery", False, "out_for_delivery"),
    ("TRANSIT", "pickup_available", False, "available_for_pickup"),
    ("TRANSIT", "delivery_attempted", True, "exception"),
    ("TRANSIT", "some_new_code", True, "exception"),
    ("TRANSIT", "delayed", False, "in_transit"),
    ("DELIVERED", "delivered", False, "delivered"),
    ("RETURNED", "package_unclaimed", True, "return_to_sender"),
    ("FAILURE", "package_lost", True, "failure"),
    ("UNKNOWN", "other", False, "unknown"),
    ("SOMETHING_ELSE", None, False, "unknown"),
])
def test_shippo_statuses_and_substatuses_map_onto_canonical_states(status, substatus, action, state):
    sub = {"code": substatus, "text": "", "action_required": action} if substatus else None
    assert canonical_state(status, sub) == state


def test_late_and_exception_parcels_occur_across_a_sample(world, sandbox, carrier, clock):
    labels = [book(carrier, world, f"order-{2000 + i}-p1", to=CUSTOMERS[i % 3]) for i in range(150)]
    clock.advance(timedelta(days=12))

    updates = [carrier.track(label) for label in labels]

    def late(update) -> bool:
        due = datetime.fromisoformat(update.raw["eta"]).date()
        return update.status == "delivered" and update.events[-1].occurred_at.date() > due

    troubled = [u for u in updates if any(e.status == "exception" for e in u.events)]
    assert 0.04 < sum(map(late, updates)) / len(updates) < 0.30
    assert troubled and {u.status for u in troubled} <= {"delivered", "return_to_sender"}
    assert {u.status for u in updates} <= {"delivered", "return_to_sender"}


def test_return_label_is_created_once_per_reference_with_the_outbound_carrier_and_travels_back(
        world, sandbox, carrier, clock, contract):
    outbound = book(carrier, world, "order-1007-p1", to=CUSTOMERS[2], service="ups_ground")

    first = carrier.create_return_label(outbound_label_ref=outbound.label_ref, reference="return-1007-1")
    again = carrier.create_return_label(outbound_label_ref=outbound.label_ref, reference="return-1007-1")

    assert again.label_ref == first.label_ref != outbound.label_ref
    (truth,) = labels_for(sandbox, "return-1007-1")
    assert truth["is_return"] and (truth["ship_from"]["city"], truth["ship_to"]["city"]) == ("Seattle", "Newark")
    assert (first.carrier, first.service) == ("ups", "ups_ground")      # the cheapest UPS service
    clock.advance(timedelta(days=7))
    assert carrier.track(first).status == "delivered"
    assert sandbox.delivered_at(first.tracking_number) is not None


def test_check_names_the_connected_carrier_accounts(url, carrier, contract):
    assert carrier.check() == f"shippo: 2 carrier account(s) connected (USPS, UPS) at {url}"


def test_check_fails_when_a_configured_carrier_account_is_not_connected(world, make_carrier, sandbox):
    extra = world.carriers[0].model_copy(update={"carrier_id": "b741b99f95e841639b54272834bc478c", "code": "fedex"})

    with pytest.raises(PermanentApiError, match="b741b99f95e841639b54272834bc478c are not connected"):
        make_carrier(carriers=[*world.carriers, extra]).check()


def test_a_wrong_token_is_a_permanent_error_in_shippos_words_without_the_token(make_carrier, sandbox):
    with pytest.raises(PermanentApiError, match="Invalid token.*shippo_test_") as raised:
        make_carrier(api_token="shippo_test_0123456789abcdef").check()

    assert raised.value.status == 401 and "0123456789abcdef" not in str(raised.value)


def test_a_parcel_without_weight_is_refused_with_the_field_named(world, carrier, contract):
    with pytest.raises(PermanentApiError, match=r"parcels\[0\]\.weight: Ensure this value is greater than 0"):
        carrier.quote(parcel(world, "order-1008-p1", weight_kg=0.0))


def test_an_address_the_carrier_cannot_find_fails_the_purchase_in_the_carriers_words(world, sandbox, carrier,
                                                                                    contract):
    nowhere = Address("Di Ruiz", "5 Oak Ln", "Austin", "TX", "7870", "US")

    with pytest.raises(PermanentApiError, match=r"failed \(ERROR\): USPS: The address as submitted could not"):
        book(carrier, world, "order-1012-p1", to=nowhere)

    assert labels_for(sandbox, "order-1012-p1") == [] and carrier.find_label("order-1012-p1") is None


def test_the_contract_check_catches_what_the_spec_does_not_allow(url):
    response = requests.Response()
    response.status_code, response.headers["Content-Type"] = 200, "application/json"
    response._content = json.dumps({"object_id": "abc", "status": "PRINTED", "metadata": "order-1"}).encode()
    response.request = requests.Request("GET", f"{url}/transactions/abc",
                                        headers={"Authorization": "ShippoToken k"}).prepare()

    problems = validate_exchange(spec_or_skip(SHIPPO), response, base_url=url, server=SHIPPO.server)

    assert problems and "'PRINTED' is not one of" in problems[0]


def test_a_full_read_of_the_transactions_under_faults_loses_and_repeats_nothing(world, make_sandbox, carrier,
                                                                               make_carrier, sleeps):
    sandbox = make_sandbox(duplicate_share=0.5)
    booked = {f"order-{5000 + i}-p1": book(carrier, world, f"order-{5000 + i}-p1").label_ref for i in range(230)}
    sandbox.faults.throttle_share, sandbox.faults.error_share, sandbox.faults.truncate_next = 0.1, 0.1, 1
    reader = make_carrier(max_retries=6)

    found = {reference: reader.find_label(reference) for reference in booked}

    assert {r: label.label_ref for r, label in found.items()} == booked
    assert sorted(t["metadata"] for t in sandbox.labels()) == sorted(booked)
    assert reader.find_label("order-never-booked") is None
    faults = sandbox.faults.injected
    assert faults["truncated"] == 1 and faults["429"] > 0 and faults["5xx"] > 0
    assert sandbox.duplicates_served > 0
    assert len(sleeps) == faults["429"] + faults["5xx"]


def test_find_before_buy_under_faults_books_exactly_one_label_per_reference(world, make_sandbox, make_carrier,
                                                                            sleeps):
    faults = Faults(throttle_share=0.1, error_share=0.1, truncate_next=4, retry_after="0", seed=9)
    sandbox = make_sandbox(faults=faults)
    carrier = make_carrier(max_retries=6)
    references = [f"order-{3000 + i}-p1" for i in range(30)]

    labels = book_each_once(carrier, world, references)

    truth = sandbox.labels()
    assert sorted(label["metadata"] for label in truth) == sorted(references)
    assert {r: label.label_ref for r, label in labels.items()} == {t["metadata"]: t["object_id"] for t in truth}
    assert faults.injected["truncated"] == 4 and faults.injected["429"] > 0 and faults.injected["5xx"] > 0
    assert len(sleeps) == faults.injected["429"] + faults.injected["5xx"]
