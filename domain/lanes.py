"""Lanes: parcels a carrier prices alike. A US carrier's price depends on where a parcel leaves
from, the zone its zone chart gives for the destination (domain.zones) and the billable weight,
so parcels sharing the origin postal code, the destination country, the zone and the weight
rounded up to the next half kilogram share their rates (and outbound and return parcels never do).
Where no zone can be computed (a destination or origin outside the US, a region that is not a US
state) the lane is the destination's postal prefix (the first three characters: one sectional
centre) and region instead, so such an address is never lent another place's rates.
Quoting one parcel per lane, at the lane's rounded-up weight, never quotes below what any
parcel of the lane costs, as long as the carrier prices by the zone chart the lanes are drawn
with (the simulators do; see domain.zones for a real carrier's ZIP3 chart)."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

from domain.records import Address, ParcelRequest
from domain.zones import zone

WEIGHT_STEP_KG = 0.5
PREFIX_LENGTH = 3
ZONED_COUNTRY = "US"   # the zone chart's country: a zone needs both ends in it


@dataclass(frozen=True)
class Lane:
    origin_country: str
    origin_postal_code: str
    destination_country: str
    zone: int | None              # None: no zone computed, the lane is the destination prefix and region
    destination_prefix: str       # "" when zoned
    destination_region: str       # "" when zoned
    billable_kg: float
    is_return: bool

    @property
    def reference(self) -> str:
        """A stable name for the lane (its quote's reference), never one of our parcel references."""
        key = "|".join(map(str, (self.origin_country, self.origin_postal_code, self.destination_country, self.zone,
                                 self.destination_prefix, self.destination_region, self.billable_kg, self.is_return)))
        return f"lane-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def billable_kg(weight_kg: float) -> float:
    """The weight rounded up to the next step (1.0 stays 1.0; 1.01 becomes 1.5)."""
    return math.ceil(round(weight_kg / WEIGHT_STEP_KG, 6)) * WEIGHT_STEP_KG


def _postal(code: str) -> str:
    return "".join(code.split()).upper()


def zone_of(ship_from: Address, ship_to: Address) -> int | None:
    """The zone between two US addresses, None when either is abroad or its region is no US state."""
    if ship_from.country.upper() != ZONED_COUNTRY or ship_to.country.upper() != ZONED_COUNTRY:
        return None
    return zone(ship_from.region, ship_to.region)


def lane_of(parcel: ParcelRequest) -> Lane:
    to, zone_number = parcel.ship_to, zone_of(parcel.ship_from, parcel.ship_to)
    prefix, region = ("", "") if zone_number else (_postal(to.postal_code)[:PREFIX_LENGTH], to.region.strip().upper())
    return Lane(origin_country=parcel.ship_from.country.upper(),
                origin_postal_code=_postal(parcel.ship_from.postal_code), destination_country=to.country.upper(),
                zone=zone_number, destination_prefix=prefix, destination_region=region,
                billable_kg=billable_kg(parcel.weight_kg), is_return=parcel.is_return)


def lanes_of(parcels: list[ParcelRequest]) -> dict[Lane, list[ParcelRequest]]:
    """The parcels by lane, lanes in the order their first parcel came."""
    lanes: dict[Lane, list[ParcelRequest]] = {}
    for parcel in parcels:
        lanes.setdefault(lane_of(parcel), []).append(parcel)
    return lanes


def representative(lane: Lane, parcels: list[ParcelRequest]) -> ParcelRequest:
    """The lane's first parcel under the lane's name, weighing the lane's billable weight."""
    return replace(parcels[0], reference=lane.reference, weight_kg=lane.billable_kg)
