"""Carrier zones: how far a parcel travels, in the bands a US carrier writes its prices in.

A US carrier prices a parcel by the zone its published zone chart gives for the origin and the
destination (USPS: the distance between the two ZIP3 sectional centres, in bands of 50, 150,
300, 600, 1000, 1400 and 1800 miles, zone 8 beyond). This module is the state-level
approximation of that ZIP3 chart: the great-circle distance between the two states' centroids
(domain.geography). Our lanes (domain.lanes) are drawn with it, and the carrier simulators price
with it, so that the chart the carrier publishes and our lanes agree. Against a real carrier's
ZIP3 chart two places in one (large) state may lie a zone apart: load that chart here to keep
lanes exact there."""
from __future__ import annotations

from functools import lru_cache

from domain.geography import STATES, great_circle_km, state_code

ZONE_LIMITS_MILES = (50, 150, 300, 600, 1000, 1400, 1800)   # zones 1..7; beyond is zone 8
FARTHEST_ZONE = len(ZONE_LIMITS_MILES) + 1
KM_PER_MILE = 1.609344


def miles_between(origin_region: object, destination_region: object) -> float | None:
    """Centroid to centroid, or None when either is not a US state ('NJ', 'nj' and 'New Jersey' are)."""
    origin, destination = state_code(origin_region), state_code(destination_region)
    if origin is None or destination is None:
        return None
    return _miles(origin, destination)


def zone(origin_region: object, destination_region: object) -> int | None:
    """The zone (1..8) between two US states, or None when either is not one."""
    miles = miles_between(origin_region, destination_region)
    if miles is None:
        return None
    return next((number for number, limit in enumerate(ZONE_LIMITS_MILES, start=1) if miles <= limit), FARTHEST_ZONE)


@lru_cache(maxsize=None)   # 51 x 51 state pairs at most, asked for every parcel: numpy on one pair is slow
def _miles(origin: str, destination: str) -> float:
    return float(great_circle_km(*STATES[origin][1:], *STATES[destination][1:])) / KM_PER_MILE
