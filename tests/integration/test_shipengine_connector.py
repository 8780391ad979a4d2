"""ShipEngineCarrier against the local ShipEngine sandbox over real HTTP; contract tests check
every exchange against ShipEngine's official OpenAPI spec."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import requests

from connectors.carriers.shipengine import ShipEngineCarrier
from connectors.errors import PermanentApiError, TransientApiError
from connectors.protocols import Carrier
from connectors.sandbox.faults import Faults
from connectors.sandbox.shipengine import SANDBOX_API_KEY, ShipEngineSandbox
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
    SHIPENGINE,
    ContractRecorder,
    spec_or_skip,
    validate_exchange,
)


@pytest.fixture
def label_fields() -> tuple[str, str]:
    return 'external_shipment_id', 'label_id'   # reference and label id in the simulator's ground truth


make_sandbox, sandbox, make_carrier, carrier = carrier_fixtures(ShipEngineSandbox, ShipEngineCarrier, api_key=SANDBOX_API_KEY)


@pytest.fixture
def contract(url, carrier):
    """Every exchange of the test is validated against the spec; violations fail the test."""
    recorder = ContractRecorder(SHIPENGINE, url).attach(carrier.session)
    yield recorder
    recorder.assert_clean()


def labels_for(sandbox, reference: str) -> list[dict]:
    return [label for label in sandbox.labels() if label["external_shipment_id"] == reference]


def test_carrier_implements_the_carrier_protocol(carrier):
    assert isinstance(carrier, Carrier)


def test_every_service_of_every_carrier_is_quoted_cheapest_first(world, carrier, contract):
    rates = carrier.quote(parcel(world, "order-1001-p1"))

    assert {(r.carrier, r.service) for r in rates} == {(c.code, s.code) for c in world.carriers for s in c.services}
    assert [r.amount for r in rates] == sorted(r.amount for r in rates)
    by_service = {r.service: r for r in rates}
    assert by_service["usps_ground_advantage"].amount < by_service["usps_priority_mail_express"].amount
    assert (by_service["ups_next_day_air"].transit_days, by_service["ups_ground"].transit_days) == (1, 4)
    assert {r.currency for r in rates} == {"USD"}








def test_buying_a_second_rate_for_a_booked_reference_returns_the_label_already_bought(world, sandbox, carrier,
                                                                                     contract):
    rates = carrier.quote(parcel(world, "order-1003-p1"))
    first = carrier.buy_label(rate=rates[0], reference="order-1003-p1")

    second = carrier.buy_label(rate=rates[-1], reference="order-1003-p1")

    assert second.label_ref == first.label_ref
    assert len(labels_for(sandbox, "order-1003-p1")) == 1


def test_quoting_a_reference_that_already_has_a_label_is_refused(world, carrier, contract):
    book(carrier, world, "order-1004-p1")

    with pytest.raises(PermanentApiError, match="already has label"):
        carrier.quote(parcel(world, "order-1004-p1"))


def test_references_longer_than_shipengine_keeps_are_still_found(world, carrier, contract):
    reference = "shopify-main/gid://shopify/Order/5551234567890/fulfillment/1"
    bought = book(carrier, world, reference)

    assert carrier.find_label(reference).label_ref == bought.label_ref
    assert carrier.find_label(reference[:50]) is None


def test_a_voided_label_frees_its_reference_for_a_new_booking(world, sandbox, url, carrier, contract):
    first = book(carrier, world, "order-1005-p1")
    voided = carrier.session.put(f"{url}/v1/labels/{first.label_ref}/void")

    assert voided.json()["approved"] is True
    assert carrier.find_label("order-1005-p1") is None
    again = book(carrier, world, "order-1005-p1", service="ups_ground")
    assert again.label_ref != first.label_ref
    assert carrier.find_label("order-1005-p1").label_ref == again.label_ref


def test_tracking_moves_forward_with_the_clock_through_canonical_states(world, make_sandbox, make_carrier, url,
                                                                       clock):
    sandbox = make_sandbox(late_share=0.0, exception_share=0.0)
    carrier = make_carrier()
    recorder = ContractRecorder(SHIPENGINE, url).attach(carrier.session)
    label = book(carrier, world, "order-1006-p1", service="ups_2nd_day_air")

    seen = []
    for _ in range(4 * 5):
        seen.append(carrier.track(label).status)
        clock.advance(timedelta(hours=6))
    update = carrier.track(label)

    assert [PROGRESS[s] for s in seen] == sorted(PROGRESS[s] for s in seen)
    assert set(seen) == set(PROGRESS)
    assert update.status == "delivered" and update.tracking_number == label.tracking_number
    assert [e.occurred_at for e in update.events] == sorted(e.occurred_at for e in update.events)
    assert update.events[-1].occurred_at == sandbox.delivered_at(label.tracking_number)
    assert update.events[0].status == "pre_transit" and update.events[-1].carrier_status
    recorder.assert_clean()


def test_late_and_exception_parcels_occur_across_a_sample(world, sandbox, carrier, clock):
    labels = [book(carrier, world, f"order-{2000 + i}-p1", to=CUSTOMERS[i % 3]) for i in range(150)]
    clock.advance(timedelta(days=12))

    updates = [carrier.track(label) for label in labels]

    def late(update) -> bool:
        due = datetime.fromisoformat(update.raw["estimated_delivery_date"]).date()
        return update.status == "delivered" and update.events[-1].occurred_at.date() > due

    troubled = [u for u in updates if any(e.status == "exception" for e in u.events)]
    assert 0.04 < sum(map(late, updates)) / len(updates) < 0.30
    assert troubled and {u.status for u in troubled} <= {"delivered", "return_to_sender"}
    assert {u.status for u in updates} <= {"delivered", "return_to_sender"}


def test_return_label_is_created_once_per_reference_and_travels_back(world, sandbox, carrier, clock, contract):
    outbound = book(carrier, world, "order-1007-p1", to=CUSTOMERS[2])

    first = carrier.create_return_label(outbound_label_ref=outbound.label_ref, reference="return-1007-1")
    again = carrier.create_return_label(outbound_label_ref=outbound.label_ref, reference="return-1007-1")

    assert again.label_ref == first.label_ref != outbound.label_ref
    (truth,) = labels_for(sandbox, "return-1007-1")
    assert truth["is_return_label"] and truth["ship_to"]["city_locality"] == "Newark"
    assert (first.carrier, first.service) == (outbound.carrier, outbound.service)
    clock.advance(timedelta(days=7))
    assert carrier.track(first).status == "delivered"
    assert sandbox.delivered_at(first.tracking_number) is not None


def test_check_names_the_connected_carriers(url, carrier, contract):
    assert carrier.check() == f"shipengine: 2 carrier account(s) connected (USPS, UPS) at {url}"


def test_check_fails_when_a_configured_carrier_is_not_connected(world, make_carrier, sandbox):
    extra = world.carriers[0].model_copy(update={"carrier_id": "se-999999", "code": "fedex"})

    with pytest.raises(PermanentApiError, match="se-999999 are not connected"):
        make_carrier(carriers=[*world.carriers, extra]).check()


def test_a_wrong_api_key_is_a_permanent_error(make_carrier, sandbox):
    with pytest.raises(PermanentApiError, match="API key is invalid") as raised:
        make_carrier(api_key="TEST_wrong").check()

    assert raised.value.status == 401


def test_a_parcel_without_weight_is_refused_with_the_field_named(world, carrier):
    with pytest.raises(PermanentApiError, match="field shipment.packages"):
        carrier.quote(parcel(world, "order-1008-p1", weight_kg=0.0))


def test_the_contract_check_catches_what_the_spec_does_not_allow(url):
    response = requests.Response()
    response.status_code, response.headers["Content-Type"] = 200, "application/json"
    response._content = json.dumps({"approved": True, "message": "ok", "refund_id": 12}).encode()
    response.request = requests.Request("PUT", f"{url}/v1/labels/se-123/void", headers={"API-Key": "k"}).prepare()

    problems = validate_exchange(spec_or_skip(SHIPENGINE), response, base_url=url, server=SHIPENGINE.server)

    assert problems and "'refund_id' was unexpected" in problems[0]


def test_a_purchase_whose_answer_was_cut_short_is_found_instead_of_bought_again(world, sandbox, carrier):
    rates = carrier.quote(parcel(world, "order-1009-p1"))
    sandbox.faults.truncate_next = 1

    with pytest.raises(TransientApiError):
        carrier.buy_label(rate=rates[0], reference="order-1009-p1")

    assert carrier.find_label("order-1009-p1").label_ref == labels_for(sandbox, "order-1009-p1")[0]["label_id"]
    assert len(labels_for(sandbox, "order-1009-p1")) == 1


def test_find_before_buy_under_faults_books_exactly_one_label_per_reference(world, make_sandbox, make_carrier,
                                                                            sleeps):
    faults = Faults(throttle_share=0.1, error_share=0.1, truncate_next=4, retry_after="0", seed=9)
    sandbox = make_sandbox(faults=faults)
    carrier = make_carrier(max_retries=6)
    references = [f"order-{3000 + i}-p1" for i in range(30)]

    labels = book_each_once(carrier, world, references)

    truth = sandbox.labels()
    assert sorted(label["external_shipment_id"] for label in truth) == sorted(references)
    assert {r: label.label_ref for r, label in labels.items()} == {l["external_shipment_id"]: l["label_id"] for l in truth}
    assert faults.injected["truncated"] == 4 and faults.injected["429"] > 0 and faults.injected["5xx"] > 0
    assert len(sleeps) == faults.injected["429"] + faults.injected["5xx"]
