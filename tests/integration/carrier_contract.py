"""Business rules every Carrier must keep, whatever the vendor. A carrier test module imports
these tests and provides the fixtures world, sandbox, carrier, make_carrier, contract (every
exchange validated) and label_fields: the names, in its simulator's ground truth, of the field
holding our reference and of the label's id."""
from __future__ import annotations

from tests.integration.common import CUSTOMERS, book, parcel


def test_farther_and_heavier_parcels_cost_more(world, carrier, contract):
    def ground(reference: str, **options) -> float:
        return next(r.amount for r in carrier.quote(parcel(world, reference, **options)) if r.service == "ups_ground")

    near = ground("order-1-p1", to=CUSTOMERS[1])                      # Newark -> Albany
    far = ground("order-2-p1", to=CUSTOMERS[2])                       # Newark -> Seattle
    heavy = ground("order-3-p1", to=CUSTOMERS[2], weight_kg=9.0)
    assert near < far < heavy


def test_a_label_bought_just_before_a_crash_is_found_by_its_reference(world, sandbox, carrier, make_carrier,
                                                                    contract, label_fields):
    bought = book(carrier, world, "order-1002-p1")   # ...and the process dies before recording it
    restarted = make_carrier()
    contract.attach(restarted.session)

    found = restarted.find_label("order-1002-p1")

    assert (found.label_ref, found.tracking_number, found.reference) == \
        (bought.label_ref, bought.tracking_number, "order-1002-p1")
    assert (found.carrier, found.service, found.amount) == ("usps", "usps_ground_advantage", bought.amount)
    reference_field, id_field = label_fields
    assert [label[id_field] for label in sandbox.labels() if label[reference_field] == "order-1002-p1"] == \
        [bought.label_ref]


def test_a_reference_never_booked_has_no_label(carrier, contract):
    assert carrier.find_label("order-never-booked") is None
