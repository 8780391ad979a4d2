"""EasyPost's vocabulary and payloads, translated to Cumplido's records: our service codes to
EasyPost's (carrier, service) pairs, tracker statuses to the canonical states, the error
envelope to one readable line, and the webhook signature check of EasyPost's client libraries."""
from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timezone

import requests

from connectors.webhooks import WebhookRejected
from domain.records import Address, Label, ParcelRequest, TrackingEvent, TrackingState, TrackingUpdate

OUNCES_PER_KG = 35.27396195          # EasyPost parcels weigh in ounces
# Our service code -> EasyPost's (carrier, service), as EasyPost names them in Rate objects.
SERVICES: dict[str, tuple[str, str]] = {
    "usps_ground_advantage": ("USPS", "GroundAdvantage"), "usps_priority_mail": ("USPS", "Priority"),
    "usps_priority_mail_express": ("USPS", "Express"), "usps_first_class": ("USPS", "First"),
    "usps_parcel_select": ("USPS", "ParcelSelect"),
    "ups_ground": ("UPS", "Ground"), "ups_3_day_select": ("UPS", "3DaySelect"),
    "ups_2nd_day_air": ("UPS", "2ndDayAir"), "ups_next_day_air_saver": ("UPS", "NextDayAirSaver"),
    "ups_next_day_air": ("UPS", "NextDayAir"),
    "fedex_ground": ("FedEx", "FEDEX_GROUND"), "fedex_2day": ("FedEx", "FEDEX_2_DAY"),
    "fedex_standard_overnight": ("FedEx", "STANDARD_OVERNIGHT"),
}
# Tracker.status (docs.easypost.com/docs/trackers). "error" means EasyPost could not read the
# carrier's feed, not that the parcel is in trouble, so it moves nothing ("unknown").
STATUSES: dict[str, TrackingState] = {
    "unknown": "unknown", "pre_transit": "pre_transit", "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery", "delivered": "delivered", "available_for_pickup": "available_for_pickup",
    "return_to_sender": "return_to_sender", "failure": "failure", "cancelled": "cancelled", "error": "unknown",
}
# EasyPost has no "exception" status: a delivery problem is an in_transit event whose
# status_detail says so.
EXCEPTION_DETAILS = frozenset({"address_correction", "delivery_exception", "transit_exception"})
IN_FLIGHT = frozenset({"unknown", "pre_transit", "in_transit", "out_for_delivery"})
LIVE_REFUND_STATES = frozenset({None, "rejected"})   # refund_status of a label still usable
WEBHOOK_PREFIX = "hmac-sha256-hex="
SIGNATURE_HEADER = "X-Hmac-Signature"


def canonical_state(status: str | None, status_detail: str | None = None) -> TrackingState:
    state = STATUSES.get(status or "", "unknown")
    if status_detail in EXCEPTION_DETAILS and state in IN_FLIGHT:   # an outcome outranks the detail
        return "exception"
    return state


def ounces(weight_kg: float) -> float:
    return round(weight_kg * OUNCES_PER_KG, 1)


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def iso(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def address_payload(address: Address, *, phone_fallback: str = "") -> dict:
    out = {"name": address.name, "street1": address.line1, "city": address.city, "state": address.region,
           "zip": address.postal_code, "country": address.country}
    # Carriers want a phone at the origin; a customer without one gets the other party's as contact.
    if address.phone or phone_fallback:
        out["phone"] = address.phone or phone_fallback
    return out


def shipment_payload(parcel: ParcelRequest, *, carrier_accounts: list[str]) -> dict:
    """The `shipment` of POST /v2/shipments: weight in ounces, our reference, the accounts to rate."""
    origin = address_payload(parcel.ship_from, phone_fallback=parcel.ship_to.phone)
    destination = address_payload(parcel.ship_to)
    if parcel.is_return:   # EasyPost wants a return with the outbound's addresses and swaps them itself
        origin, destination = destination, origin
    return {"to_address": destination, "from_address": origin, "parcel": {"weight": ounces(parcel.weight_kg)},
            "carrier_accounts": carrier_accounts, "reference": parcel.reference, "is_return": parcel.is_return}


def address_from(raw: dict) -> Address:
    return Address(name=raw.get("name") or "", line1=raw.get("street1") or "", city=raw.get("city") or "",
                   region=raw.get("state") or "", postal_code=raw.get("zip") or "", country=raw.get("country") or "",
                   phone=raw.get("phone") or "")


def is_live_label(shipment: dict, reference: str) -> bool:
    """Bought under this reference and not refunded (a rejected refund leaves the label usable)."""
    return (shipment.get("reference") == reference and bool(shipment.get("postage_label"))
            and shipment.get("refund_status") in LIVE_REFUND_STATES)


def same_parcel(existing: dict, body: dict) -> bool:
    """Could this unbought shipment have been quoted for `body`? EasyPost shipments cannot be edited."""
    def zips(a: dict | None, b: dict | None) -> list[str]:   # either way round: returns swap them
        return sorted(str((x or {}).get("zip") or "")[:5] for x in (a, b))
    weight = float((existing.get("parcel") or {}).get("weight") or 0)
    return abs(weight - body["parcel"]["weight"]) < 0.05 and \
        zips(existing.get("to_address"), existing.get("from_address")) == zips(body["to_address"], body["from_address"])


def easypost_error_message(response: requests.Response) -> str:
    """`{"error": {"code", "message", "errors": [FieldError | str]}}` as one line, with a hint
    where the fix is on our side (the API key)."""
    try:
        error = response.json()["error"]
        code, message = error.get("code", ""), error.get("message") or response.reason
    except (ValueError, KeyError, TypeError, AttributeError):
        return response.text[:300] or response.reason
    fields = [f"{e.get('field')}: {e.get('message')}" if isinstance(e, dict) else str(e)
              for e in (error.get("errors") or [])[:3]]
    text = f"{message} ({code})" if code else message
    if fields:
        text += " [" + "; ".join(fields) + "]"
    if code.startswith("APIKEY"):
        text += "; check the EasyPost API key (sent as the HTTP Basic user name)"
    return text


def label_from(shipment: dict, *, reference: str, carrier: str, service: str) -> Label:
    rate, label = shipment.get("selected_rate") or {}, shipment.get("postage_label") or {}
    return Label(label_ref=shipment["id"], reference=reference, carrier=carrier, service=service,
                 tracking_number=shipment.get("tracking_code") or "", amount=round(float(rate.get("rate") or 0), 2),
                 currency=str(rate.get("currency") or "USD").upper(),
                 label_url=label.get("label_pdf_url") or label.get("label_url") or "", raw=shipment)


def tracking_update(tracker: dict) -> TrackingUpdate:
    events = sorted((_event(d) for d in tracker.get("tracking_details") or [] if d.get("datetime")),
                    key=lambda e: e.occurred_at)
    return TrackingUpdate(tracking_number=tracker.get("tracking_code") or "", events=tuple(events), raw=tracker,
                          status=canonical_state(tracker.get("status"), tracker.get("status_detail")))


def _event(detail: dict) -> TrackingEvent:
    place = detail.get("tracking_location") or {}
    status = detail.get("status") or "unknown"
    return TrackingEvent(occurred_at=when(detail["datetime"]),
                         status=canonical_state(status, detail.get("status_detail")),
                         carrier_status=detail.get("carrier_code") or f"{status}/{detail.get('status_detail') or ''}",
                         description=detail.get("message") or detail.get("description") or "",
                         location=", ".join(filter(None, (place.get("city"), place.get("state")))))


def verify_easypost_webhook(body: bytes, header: str, secret: str) -> bool:
    """EasyPost signs the raw body: `X-Hmac-Signature: hmac-sha256-hex=<hex>`, keyed with the
    webhook secret NFKD-normalised and UTF-8 encoded, as EasyPost's client libraries check it
    (easypost-python `validate_webhook`). Compared in constant time."""
    if not secret:
        # An empty key is a misconfiguration, and anyone could compute its HMAC.
        raise ValueError("no EasyPost webhook secret configured")
    if not header:
        return False
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    expected = WEBHOOK_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header is attacker-controlled.
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8"))


def parse_easypost_webhook(headers: Mapping[str, str], body: bytes, secret: str) -> dict:
    """The Event of a verified delivery; else WebhookRejected. The signature is checked before
    anything in the body is read."""
    signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
    if not signature:
        raise WebhookRejected(f"missing {SIGNATURE_HEADER} header", vendor="easypost")
    if not verify_easypost_webhook(body, signature, secret):
        raise WebhookRejected(f"bad signature: {SIGNATURE_HEADER} does not match the body (wrong webhook "
                              "secret, or the body was altered)", vendor="easypost")
    try:
        event = json.loads(body)
    except ValueError:
        raise WebhookRejected("body is not JSON", vendor="easypost") from None
    if not isinstance(event, dict) or event.get("object") != "Event":
        raise WebhookRejected("body is not an EasyPost Event", vendor="easypost")
    return event


def tracking_update_from_event(event: dict) -> TrackingUpdate | None:
    """A `tracker.created|updated` Event as a TrackingUpdate; other events are None."""
    result = event.get("result") or {}
    if result.get("object") != "Tracker" or not str(event.get("description", "")).startswith("tracker."):
        return None
    return tracking_update(result)
