"""How the EasyPost sandbox reports a parcel: the journeys of shipengine_tracking (decided
once at purchase from the seed: late parcels, address exceptions, returns) told in EasyPost's
Tracker vocabulary, and the signed `tracker.updated` Event EasyPost would POST to a webhook."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import unicodedata
from datetime import datetime

from connectors.sandbox.easypost_objects import EASYPOST_CARRIERS, RateRecord, ShipmentRecord, ts
from connectors.sandbox.shipengine_tracking import DETAILS, Journey, Place, Scan, outbound_journey, return_journey

# Shared journey step -> EasyPost (Tracker.status, status_detail). A failed delivery attempt
# is an in_transit event whose detail says what went wrong: EasyPost has no exception status.
EASYPOST_STATUS = {
    "SHIPMENT_CREATED": ("pre_transit", "label_created"), "PICKED_UP": ("in_transit", "arrived_at_facility"),
    "DROPPED_OFF": ("in_transit", "received_at_origin_facility"), "HUB_SCAN_IN": ("in_transit", "arrived_at_facility"),
    "OUT_FOR_DELIVERY": ("out_for_delivery", "out_for_delivery"), "DELIVERED": ("delivered", "arrived_at_destination"),
    "ADDRESS_QUERY": ("in_transit", "address_correction"), "RETURN_TO_SENDER": ("return_to_sender", "return"),
}
FINAL = frozenset({"delivered", "return_to_sender", "failure", "cancelled"})


def journey_for(shp: ShipmentRecord, rate: RateRecord, rng: random.Random, *, now: datetime, late_share: float,
                exception_share: float) -> Journey:
    """The parcel's whole journey, decided at purchase: a return goes from the customer (its
    from_address, once EasyPost has swapped the addresses) back to the warehouse."""
    def place(address: dict) -> Place:
        return Place(address["city"], address["state"], address["zip"])
    if shp.is_return:
        return return_journey(rng, issued_at=now, customer=place(shp.from_address), warehouse=place(shp.to_address),
                              carrier=rate.carrier.code)
    return outbound_journey(rng, purchased_at=now, transit_days=rate.service.transit_days,
                            origin=place(shp.from_address), destination=place(shp.to_address),
                            carrier=rate.carrier.code, late_share=late_share, exception_share=exception_share)


def public_url(tracker_id: str) -> str:
    return "https://track.easypost.com/" + base64.urlsafe_b64encode(f"v1:{tracker_id}".encode()).decode().rstrip("=")


def _location(city: str | None, state: str | None, zip_code: str | None) -> dict:
    return {"object": "TrackingLocation", "city": city, "state": state, "country": "US" if state else None,
            "zip": zip_code}


def _detail(scan: Scan, carrier: str) -> dict:
    status, detail = EASYPOST_STATUS[scan.detail_code]
    return {"object": "TrackingDetail", "message": scan.description, "description": scan.description,
            "status": status, "status_detail": detail, "datetime": ts(scan.at), "source": carrier,
            "carrier_code": DETAILS[scan.detail_code][1],
            "tracking_location": _location(scan.place.city.upper(), scan.place.state, scan.place.postal_code)}


def _cancelled(at: datetime, carrier: str) -> dict:
    return {"object": "TrackingDetail", "message": "Label refunded: shipment cancelled", "description": None,
            "status": "cancelled", "status_detail": "cancelled", "datetime": ts(at), "source": "EasyPost",
            "carrier_code": None, "tracking_location": _location(None, None, None)}


def tracker_view(shp: ShipmentRecord, *, now: datetime) -> dict:
    """The part of the journey the clock has reached, oldest first; a refunded label stops
    where it was and ends cancelled."""
    label, rate = shp.label, shp.selected_rate
    carrier = EASYPOST_CARRIERS.get(rate.carrier.code, (rate.carrier.name, ""))[0]
    refunded = shp.refund_requested_at if not shp.refund_rejected else None
    scans = label.journey.seen_by(now, voided_at=refunded)
    details = [_detail(s, carrier) for s in scans]
    if refunded is not None and refunded <= now:
        details.append(_cancelled(refunded, carrier))
    status, status_detail = (details[-1]["status"], details[-1]["status_detail"]) if details else ("unknown", "unknown")
    origin, destination = shp.from_address, shp.to_address
    return {
        "id": label.tracker_id, "object": "Tracker", "mode": shp.mode, "tracking_code": label.tracking_code,
        "status": status, "status_detail": status_detail, "created_at": ts(label.purchased_at),
        "updated_at": details[-1]["datetime"] if details else ts(label.purchased_at),
        "signed_by": None, "weight": shp.parcel["weight"], "est_delivery_date": ts(label.journey.estimated_delivery),
        "shipment_id": shp.id, "carrier": carrier, "tracking_details": details, "fees": [],
        "carrier_detail": {
            "object": "CarrierDetail", "service": rate.service.name, "container_type": None,
            "est_delivery_date_local": f"{label.journey.estimated_delivery:%Y-%m-%d}", "est_delivery_time_local": None,
            "origin_location": f"{origin['city']} {origin['state']} {origin['zip']}".upper(),
            "origin_tracking_location": _location(origin["city"].upper(), origin["state"], origin["zip"]),
            "destination_location": f"{destination['city']} {destination['state']} {destination['zip']}".upper(),
            "destination_tracking_location": None, "guaranteed_delivery_date": None, "alternate_identifier": None,
            "initial_delivery_attempt": None},
        "finalized": status in FINAL, "is_return": shp.is_return, "public_url": public_url(label.tracker_id),
    }


def signed_event(tracker: dict, *, secret: str, event_id: str, now: datetime) -> tuple[bytes, dict[str, str]]:
    """A `tracker.updated` Event and its `X-Hmac-Signature` header: HMAC-SHA256 of the exact
    body bytes, keyed with the NFKD-normalised secret, hex, prefixed `hmac-sha256-hex=`."""
    event = {"description": "tracker.updated", "mode": tracker["mode"], "previous_attributes": {},
             "created_at": ts(now), "pending_urls": [], "completed_urls": [], "updated_at": ts(now),
             "id": event_id, "user_id": "user_sandbox", "status": "pending", "object": "Event", "result": tracker}
    body = json.dumps(event, separators=(",", ":")).encode()
    key = unicodedata.normalize("NFKD", secret).encode()
    return body, {"X-Hmac-Signature": "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()}
