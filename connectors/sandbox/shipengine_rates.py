"""How the ShipEngine sandbox prices a parcel: the world's service tariff (base + per kg),
scaled by a USPS-style zone from the distance between the two states."""
from __future__ import annotations

import math

from config.world import Service

# Approximate population centres (lat, lon) per US state: enough to tell near from far.
STATE_CENTRES: dict[str, tuple[float, float]] = {
    "AL": (33.0, -86.8), "AK": (61.4, -150.0), "AZ": (33.5, -112.0), "AR": (34.8, -92.3),
    "CA": (35.5, -119.4), "CO": (39.6, -105.0), "CT": (41.6, -72.7), "DE": (39.3, -75.6),
    "DC": (38.9, -77.0), "FL": (27.8, -81.7), "GA": (33.6, -84.1), "HI": (21.3, -157.8),
    "ID": (43.6, -116.2), "IL": (41.3, -88.4), "IN": (39.8, -86.3), "IA": (41.9, -93.1),
    "KS": (38.5, -97.4), "KY": (37.8, -85.2), "LA": (30.7, -91.5), "ME": (44.3, -69.8),
    "MD": (39.1, -76.8), "MA": (42.3, -71.4), "MI": (42.7, -84.2), "MN": (45.1, -93.5),
    "MS": (32.6, -89.7), "MO": (38.4, -92.2), "MT": (46.7, -110.0), "NE": (41.1, -97.2),
    "NV": (36.8, -115.6), "NH": (43.2, -71.5), "NJ": (40.4, -74.4), "NM": (34.6, -106.3),
    "NY": (41.5, -74.6), "NC": (35.6, -79.4), "ND": (47.4, -99.5), "OH": (40.3, -82.8),
    "OK": (35.6, -97.0), "OR": (44.6, -122.7), "PA": (40.5, -76.9), "RI": (41.7, -71.5),
    "SC": (34.0, -81.0), "SD": (44.0, -99.4), "TN": (35.8, -86.4), "TX": (31.1, -97.6),
    "UT": (40.5, -111.8), "VT": (44.1, -72.7), "VA": (37.8, -77.8), "WA": (47.4, -121.5),
    "WV": (38.6, -80.9), "WI": (43.8, -89.0), "WY": (42.8, -107.3),
}
ZONE_LIMITS_MILES = (50, 150, 300, 600, 1000, 1400, 1800)   # zones 1..7; beyond is zone 8
UNKNOWN_ZONE = 5
ZONE_STEP = 0.08                                           # each zone adds 8 % to the tariff
WEIGHT_TO_KG = {"kilogram": 1.0, "gram": 0.001, "pound": 0.45359237, "ounce": 0.028349523}


def miles_between(state_a: str, state_b: str) -> float | None:
    a, b = STATE_CENTRES.get(state_a.upper()), STATE_CENTRES.get(state_b.upper())
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    hav = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 3958.8 * 2 * math.asin(math.sqrt(hav))


def zone(state_from: str, state_to: str) -> int:
    miles = miles_between(state_from, state_to)
    if miles is None:
        return UNKNOWN_ZONE
    return next((i + 1 for i, limit in enumerate(ZONE_LIMITS_MILES) if miles <= limit), 8)


def price(service: Service, *, weight_kg: float, zone_number: int) -> float:
    return round((service.base_rate + service.per_kg * weight_kg) * (1 + ZONE_STEP * (zone_number - 1)), 2)


def weight_in_kg(weight: dict) -> float:
    return float(weight["value"]) * WEIGHT_TO_KG[weight["unit"]]
