"""US state centroids (approximate geographic centres, degrees) for warehouse ranking."""
from __future__ import annotations

import numpy as np

# code: (name, latitude, longitude) — the 50 states and DC.
STATES: dict[str, tuple[str, float, float]] = {
    "AL": ("Alabama", 32.806671, -86.791130), "AK": ("Alaska", 61.370716, -152.404419),
    "AZ": ("Arizona", 33.729759, -111.431221), "AR": ("Arkansas", 34.969704, -92.373123),
    "CA": ("California", 36.116203, -119.681564), "CO": ("Colorado", 39.059811, -105.311104),
    "CT": ("Connecticut", 41.597782, -72.755371), "DE": ("Delaware", 39.318523, -75.507141),
    "DC": ("District of Columbia", 38.897438, -77.026817), "FL": ("Florida", 27.766279, -81.686783),
    "GA": ("Georgia", 33.040619, -83.643074), "HI": ("Hawaii", 21.094318, -157.498337),
    "ID": ("Idaho", 44.240459, -114.478828), "IL": ("Illinois", 40.349457, -88.986137),
    "IN": ("Indiana", 39.849426, -86.258278), "IA": ("Iowa", 42.011539, -93.210526),
    "KS": ("Kansas", 38.526600, -96.726486), "KY": ("Kentucky", 37.668140, -84.670067),
    "LA": ("Louisiana", 31.169546, -91.867805), "ME": ("Maine", 44.693947, -69.381927),
    "MD": ("Maryland", 39.063946, -76.802101), "MA": ("Massachusetts", 42.230171, -71.530106),
    "MI": ("Michigan", 43.326618, -84.536095), "MN": ("Minnesota", 45.694454, -93.900192),
    "MS": ("Mississippi", 32.741646, -89.678696), "MO": ("Missouri", 38.456085, -92.288368),
    "MT": ("Montana", 46.921925, -110.454353), "NE": ("Nebraska", 41.125370, -98.268082),
    "NV": ("Nevada", 38.313515, -117.055374), "NH": ("New Hampshire", 43.452492, -71.563896),
    "NJ": ("New Jersey", 40.298904, -74.521011), "NM": ("New Mexico", 34.840515, -106.248482),
    "NY": ("New York", 42.165726, -74.948051), "NC": ("North Carolina", 35.630066, -79.806419),
    "ND": ("North Dakota", 47.528912, -99.784012), "OH": ("Ohio", 40.388783, -82.764915),
    "OK": ("Oklahoma", 35.565342, -96.928917), "OR": ("Oregon", 44.572021, -122.070938),
    "PA": ("Pennsylvania", 40.590752, -77.209755), "RI": ("Rhode Island", 41.680893, -71.511780),
    "SC": ("South Carolina", 33.856892, -80.945007), "SD": ("South Dakota", 44.299782, -99.438828),
    "TN": ("Tennessee", 35.747845, -86.692345), "TX": ("Texas", 31.054487, -97.563461),
    "UT": ("Utah", 40.150032, -111.862434), "VT": ("Vermont", 44.045876, -72.710686),
    "VA": ("Virginia", 37.769337, -78.169968), "WA": ("Washington", 47.400902, -121.490494),
    "WV": ("West Virginia", 38.491226, -80.954453), "WI": ("Wisconsin", 44.268543, -89.616508),
    "WY": ("Wyoming", 42.755966, -107.302490),
}
_BY_KEY = {**{code: code for code in STATES}, **{name.upper(): code for code, (name, _, _) in STATES.items()}}
EARTH_RADIUS_KM = 6371.0


def state_code(region: object) -> str | None:
    """'nj', ' NJ ', 'New Jersey' → 'NJ'; anything else → None."""
    if not isinstance(region, str):
        return None
    return _BY_KEY.get(region.strip().upper())


def centroid(region: object) -> tuple[float, float]:
    """(lat, lon) of a state, or (nan, nan) when the region is not a US state."""
    code = state_code(region)
    return STATES[code][1:] if code else (np.nan, np.nan)


def great_circle_km(lat1, lon1, lat2, lon2):
    """Haversine distance in km; works on scalars and numpy arrays (nan in → nan out)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
