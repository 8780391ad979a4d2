"""Lanes: parcels a carrier prices alike (one origin, zone and weight band) share one quote,
which is never below any of theirs."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from domain.geography import STATES
from domain.lanes import billable_kg, lane_of, lanes_of, representative, zone_of
from domain.records import Address, ParcelRequest

ORIGIN = Address("EWR", "1 Dock Rd", "Newark", "NJ", "07114", "US")
AUSTIN = Address("Ann Lee", "1 Main St", "Austin", "TX", "78701", "US")
AUSTIN_NORTH = Address("Bo Diaz", "9 Elm Ave", "Austin", "TX", "78758-4100", "US")
ALBANY = Address("Cy Park", "4 Bay Rd", "Albany", "NY", "12207", "US")
PHILADELPHIA = Address("Di Moss", "2 Oak St", "Philadelphia", "PA", "19103", "US")     # zone 2 from Newark, as Albany
HARTFORD = Address("Ed Roe", "3 Elm St", "Hartford", "Connecticut", "06103", "US")   # zone 2, its state spelt out
TORONTO = Address("Flo Ng", "5 King St W", "Toronto", "ON", "M5V 2T6", "CA")


def parcel(reference: str, *, to: Address = AUSTIN, weight_kg: float = 1.2, **changes) -> ParcelRequest:
    return replace(ParcelRequest(reference, ORIGIN, to, weight_kg), **changes)


def test_weight_is_rounded_up_to_the_next_half_kilogram():
    assert [billable_kg(w) for w in (0.05, 0.5, 0.51, 1.0, 1.2, 2.49, 2.5)] == [0.5, 0.5, 1.0, 1.0, 1.5, 2.5, 2.5]


def test_parcels_to_the_same_postal_prefix_and_weight_step_share_a_lane():
    lanes = lanes_of([parcel("a"), parcel("b", to=AUSTIN_NORTH, weight_kg=1.5), parcel("c", to=ALBANY),
                      parcel("d", weight_kg=1.6), parcel("e", is_return=True)])

    assert [[p.reference for p in members] for members in lanes.values()] == [["a", "b"], ["c"], ["d"], ["e"]]


def test_parcels_to_different_states_of_one_zone_share_a_lane():
    lanes = lanes_of([parcel("a", to=ALBANY), parcel("b", to=PHILADELPHIA), parcel("c", to=HARTFORD), parcel("d")])

    assert [[p.reference for p in members] for members in lanes.values()] == [["a", "b", "c"], ["d"]]
    assert [lane.zone for lane in lanes] == [2, 7]


def test_a_destination_off_the_zone_chart_keeps_its_postal_prefix_and_region():
    toronto_east = replace(TORONTO, postal_code="M4C 1A1")
    lanes = lanes_of([parcel("a", to=TORONTO), parcel("b", to=replace(TORONTO, postal_code="m5v3l9")),
                      parcel("c", to=toronto_east), parcel("d", to=replace(AUSTIN, region="Tejas"))])

    assert [[p.reference for p in members] for members in lanes.values()] == [["a", "b"], ["c"], ["d"]]
    assert [(lane.zone, lane.destination_prefix, lane.destination_region) for lane in lanes] == \
        [(None, "M5V", "ON"), (None, "M4C", "ON"), (None, "787", "TEJAS")]


def test_an_origin_abroad_has_no_zone():
    assert zone_of(replace(ORIGIN, country="MX"), AUSTIN) is None
    assert zone_of(ORIGIN, AUSTIN) == 7


def test_another_origin_is_another_lane():
    elsewhere = replace(ORIGIN, postal_code="90001", region="CA")
    assert lane_of(parcel("a")) != lane_of(parcel("b", ship_from=elsewhere))


def test_an_address_whose_state_disagrees_with_its_zip_is_not_lent_another_states_rates():
    assert lane_of(parcel("a")) != lane_of(parcel("b", to=replace(AUSTIN, region="NY")))


def test_the_representative_weighs_the_lane_and_carries_the_lane_name_not_a_parcel_reference():
    lane, members = next(iter(lanes_of([parcel("a", weight_kg=1.1), parcel("b", weight_kg=1.4)]).items()))

    quoted = representative(lane, members)

    assert (quoted.weight_kg, quoted.ship_to, quoted.ship_from) == (1.5, AUSTIN, ORIGIN)
    assert quoted.reference == lane.reference and quoted.reference.startswith("lane-")


@given(st.lists(st.floats(min_value=0.01, max_value=70), min_size=1, max_size=20))
def test_no_parcel_weighs_more_than_its_lane_is_quoted_for(weights):
    parcels = [parcel(f"p{i}", weight_kg=w) for i, w in enumerate(weights)]

    for lane, members in lanes_of(parcels).items():
        assert all(p.weight_kg <= representative(lane, members).weight_kg < p.weight_kg + 0.5 + 1e-9 for p in members)
    assert sum(len(members) for members in lanes_of(parcels).values()) == len(parcels)


@given(st.lists(st.tuples(st.sampled_from(sorted(STATES)), st.floats(min_value=0.01, max_value=70)),
                min_size=1, max_size=30))
def test_every_parcel_of_a_lane_is_in_the_lanes_zone_and_weighs_no_more_than_its_quote(destinations):
    parcels = [parcel(f"p{i}", to=replace(AUSTIN, region=state), weight_kg=weight)
               for i, (state, weight) in enumerate(destinations)]

    for lane, members in lanes_of(parcels).items():
        quoted = representative(lane, members)
        zones = {zone_of(p.ship_from, p.ship_to) for p in [quoted, *members]}
        assert zones == {lane.zone}
        assert all(p.weight_kg <= quoted.weight_kg for p in members)
