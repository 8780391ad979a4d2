"""The shared parcel journeys (shipengine_tracking) told in Shippo's tracking vocabulary:
statuses PRE_TRANSIT/TRANSIT/DELIVERED/RETURNED/FAILURE/UNKNOWN with the substatus codes of
Shippo's event definitions; GET /tracks/{carrier}/{tracking_number} as the Track object."""
from __future__ import annotations

import hashlib
from datetime import datetime

from connectors.sandbox.shipengine_tracking import Journey, Scan, iso

ACCEPTED = "Package has been accepted into the carrier network for delivery."
ARRIVED = "Package has arrived at an intermediate location in the carrier network."
ADDRESS_ISSUE = "Address information is incorrect. Contact carrier to ensure delivery."
# journey detail code -> (status, substatus code, substatus text, action required)
EVENTS = {
    "SHIPMENT_CREATED": ("PRE_TRANSIT", "information_received", "Information about the package received.", False),
    "PICKED_UP": ("TRANSIT", "package_accepted", ACCEPTED, False),
    "DROPPED_OFF": ("TRANSIT", "package_accepted", ACCEPTED, False),
    "HUB_SCAN_IN": ("TRANSIT", "package_arrived", ARRIVED, False),
    "OUT_FOR_DELIVERY": ("TRANSIT", "out_for_delivery", "Package is out for delivery.", False),
    "DELIVERED": ("DELIVERED", "delivered", "Package has been delivered.", False),
    "ADDRESS_QUERY": ("TRANSIT", "address_issue", ADDRESS_ISSUE, True),
    "RETURN_TO_SENDER": ("RETURNED", "return_to_sender", "Package is being returned to sender.", False),
}


def latest_status(scans: list[Scan]) -> str:
    return EVENTS[scans[-1].detail_code][0] if scans else "UNKNOWN"


def _status(scan: Scan, *, number: str, index: int) -> dict:
    status, code, text, action = EVENTS[scan.detail_code]
    at = iso(scan.at)
    return {"object_id": hashlib.md5(f"{number}:{index}".encode()).hexdigest(), "object_created": at,
            "object_updated": at, "status": status, "status_date": at, "status_details": scan.description,
            "substatus": {"code": code, "text": text, "action_required": action},
            "location": {"city": scan.place.city, "state": scan.place.state, "zip": scan.place.postal_code,
                         "country": "US"}}


def _nothing_yet(number: str, now: datetime) -> dict:
    at = iso(now)
    return {"object_id": hashlib.md5(f"{number}:unknown".encode()).hexdigest(), "object_created": at,
            "object_updated": at, "status": "UNKNOWN", "status_date": at,
            "status_details": "The carrier has not provided any tracking information for this number yet."}


def _place(address: dict) -> dict:
    return {"city": address.get("city", ""), "state": address.get("state", ""), "zip": address.get("zip", ""),
            "country": address.get("country", "US")}


def track_view(scans: list[Scan], *, carrier: str, number: str, now: datetime, journey: Journey | None = None,
               origin: dict | None = None, destination: dict | None = None, servicelevel: dict | None = None,
               transaction: str | None = None) -> dict:
    """tracking_history oldest first; tracking_status is its latest entry."""
    history = [_status(scan, number=number, index=i) for i, scan in enumerate(scans)]
    view = {"carrier": carrier, "tracking_number": number, "messages": [], "tracking_history": history,
            "tracking_status": history[-1] if history else _nothing_yet(number, now)}
    if journey is not None:
        view.update(eta=iso(journey.estimated_delivery), original_eta=iso(journey.estimated_delivery))
    if origin and destination:
        view.update(address_from=_place(origin), address_to=_place(destination))
    if servicelevel:
        view["servicelevel"] = servicelevel
    if transaction:
        view["transaction"] = transaction
    return view
