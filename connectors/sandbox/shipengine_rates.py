"""How the carrier sandboxes price a parcel: the world's service tariff (base + per kg), scaled
by the parcel's zone in the carrier's published zone chart, which is domain.zones (USPS-style
distance bands between the two states), the very chart Cumplido draws its lanes with."""
from __future__ import annotations

from config.world import Service
from domain import zones

UNKNOWN_ZONE = 5
ZONE_STEP = 0.08                                           # each zone adds 8 % to the tariff
WEIGHT_TO_KG = {"kilogram": 1.0, "gram": 0.001, "pound": 0.45359237, "ounce": 0.028349523}


def miles_between(state_a: str, state_b: str) -> float | None:
    """Between the states' centroids, as the chart measures (tracking routes parcels by it)."""
    return zones.miles_between(state_a, state_b)


def zone(state_from: str, state_to: str) -> int:
    """The chart's zone; a region that is not a US state is priced as a middling distance."""
    return zones.zone(state_from, state_to) or UNKNOWN_ZONE


def price(service: Service, *, weight_kg: float, zone_number: int) -> float:
    return round((service.base_rate + service.per_kg * weight_kg) * (1 + ZONE_STEP * (zone_number - 1)), 2)


def weight_in_kg(weight: dict) -> float:
    return float(weight["value"]) * WEIGHT_TO_KG[weight["unit"]]
