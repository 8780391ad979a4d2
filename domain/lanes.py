"""Lanes: parcels a carrier prices alike. A carrier's price depends on where a parcel leaves
from, the destination's zone and the billable weight, so parcels sharing the origin postal
code, the destination country and postal prefix (the first three characters: a US ZIP3, one
sectional centre) and the weight rounded up to the next half kilogram share their rates. The
destination region is part of the lane too: a ZIP3 lies in one state, so it costs no extra
lane on clean addresses, while an address whose state and ZIP disagree (priced by its state,
as the sandbox does) is never lent another state's rates.
Quoting one parcel per lane, at the lane's rounded-up weight, never quotes below what any
parcel of the lane costs."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

from domain.records import ParcelRequest

WEIGHT_STEP_KG = 0.5
PREFIX_LENGTH = 3


@dataclass(frozen=True)
class Lane:
    origin_country: str
    origin_postal_code: str
    destination_country: str
    destination_prefix: str
    destination_region: str
    billable_kg: float
    is_return: bool

    @property
    def reference(self) -> str:
        """A stable name for the lane's quoting shipment, never one of our parcel references."""
        key = "|".join(map(str, (self.origin_country, self.origin_postal_code, self.destination_country,
                                 self.destination_prefix, self.destination_region, self.billable_kg, self.is_return)))
        return f"lane-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def billable_kg(weight_kg: float) -> float:
    """The weight rounded up to the next step (1.0 stays 1.0; 1.01 becomes 1.5)."""
    return math.ceil(round(weight_kg / WEIGHT_STEP_KG, 6)) * WEIGHT_STEP_KG


def _postal(code: str) -> str:
    return "".join(code.split()).upper()


def lane_of(parcel: ParcelRequest) -> Lane:
    return Lane(origin_country=parcel.ship_from.country.upper(), origin_postal_code=_postal(parcel.ship_from.postal_code),
                destination_country=parcel.ship_to.country.upper(),
                destination_prefix=_postal(parcel.ship_to.postal_code)[:PREFIX_LENGTH],
                destination_region=parcel.ship_to.region.strip().upper(),
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
