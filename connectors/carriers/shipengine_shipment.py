"""A parcel as ShipEngine's shipment object, carrying our reference as its external_shipment_id."""
from __future__ import annotations

import hashlib

from domain.records import Address, ParcelRequest

MAX_EXTERNAL_ID = 50
REQUIRED_ADDRESS = ("name", "address_line1", "city_locality", "state_province", "postal_code", "country_code")


def external_id(reference: str) -> str:
    """ShipEngine truncates external_shipment_id at 50 characters, after which a longer reference
    could never be found again: shorten it deterministically (prefix + hash) instead."""
    if len(reference) <= MAX_EXTERNAL_ID:
        return reference
    return f"{reference[:33]}~{hashlib.sha256(reference.encode()).hexdigest()[:16]}"


def _address(address: Address, *, phone_fallback: str = "") -> dict:
    out = {"name": address.name, "address_line1": address.line1, "city_locality": address.city,
           "state_province": address.region, "postal_code": address.postal_code, "country_code": address.country,
           "address_residential_indicator": "unknown"}
    # Carriers want a phone at the origin; a customer without one gets the other party's as contact.
    if address.phone or phone_fallback:
        out["phone"] = address.phone or phone_fallback
    return out


def shipment_body(parcel: ParcelRequest) -> dict:
    """The parcel as a ShipEngine shipment carrying our reference."""
    return {"external_shipment_id": external_id(parcel.reference), "is_return": parcel.is_return,
            "ship_to": _address(parcel.ship_to),
            "ship_from": _address(parcel.ship_from, phone_fallback=parcel.ship_to.phone),
            "packages": [{"weight": {"value": round(parcel.weight_kg, 3), "unit": "kilogram"}}]}


def rating_body(parcel: ParcelRequest) -> dict:
    """The parcel as a shipment that is only rated, never bought (a lane's representative): without
    an external_shipment_id, which ShipEngine holds unique per account and refuses a second time,
    while a lane is rated again run after run."""
    body = shipment_body(parcel)
    del body["external_shipment_id"]
    return body


def shipment_problem(shipment: dict) -> str | None:
    """What the spec refuses in this shipment (an empty required address field, a country that is
    not two letters, no weight), found before sending it: in a bulk request one such shipment
    would get the whole request refused."""
    for side in ("ship_to", "ship_from"):
        address = shipment[side]
        missing = next((f for f in REQUIRED_ADDRESS if not address.get(f)), None)
        if missing:
            return f"shipment.{side}.{missing} is required"
        if len(address["country_code"]) != 2:
            return f"shipment.{side}.country_code must be a two-letter ISO 3166 code"
    if not all(p["weight"]["value"] > 0 for p in shipment["packages"]):
        return "Every package needs a weight greater than zero"
    return None
