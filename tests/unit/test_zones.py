"""Zones: the state-level zone chart lanes are drawn with and the carrier simulators price by."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.geography import STATES
from domain.zones import FARTHEST_ZONE, ZONE_LIMITS_MILES, miles_between, zone

STATE = st.sampled_from(sorted(STATES))


def test_a_parcel_within_its_state_is_zone_1_and_across_the_country_zone_8():
    assert (zone("NJ", "NJ"), zone("NJ", "NY"), zone("NJ", "GA"), zone("NJ", "TX"), zone("NJ", "WA")) == (1, 2, 5, 7, 8)


def test_a_state_is_known_by_its_code_in_any_case_or_by_its_name():
    assert zone(" nj", "Washington") == zone("NJ", "WA") == 8
    assert miles_between("new jersey", "NY") == miles_between("NJ", "NY")


def test_a_region_that_is_not_a_us_state_has_no_zone():
    assert (zone("NJ", "ON"), zone("PR", "NJ"), zone("NJ", ""), zone(None, "NJ")) == (None, None, None, None)


@given(STATE, STATE)
def test_the_zone_is_the_distance_band_and_the_same_both_ways(origin, destination):
    miles = miles_between(origin, destination)
    bands = sum(miles > limit for limit in ZONE_LIMITS_MILES)

    assert zone(origin, destination) == zone(destination, origin) == bands + 1 <= FARTHEST_ZONE
