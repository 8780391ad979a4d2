"""Shippo's vocabulary, translated: service-level tokens, tracking statuses, request bodies,
error envelopes and tracking payloads (API version 2018-02-08, the official public-api.yaml)."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

import requests

from domain.records import Address, TrackingEvent, TrackingState, TrackingUpdate

API_VERSION = "2018-02-08"        # sent as SHIPPO-API-VERSION so an account upgrade never changes our payloads
MAX_METADATA = 100                # "a string of up to 100 characters" (Transaction.metadata)
LABEL_FILE_TYPE = "PDF_4x6"
# A parcel needs dimensions at Shippo; ours carry only a weight, so every parcel is quoted as the
# warehouse's standard shipping carton.
CARTON_CM = {"length": "30", "width": "22", "height": "15", "distance_unit": "cm"}

# Our service codes (config/world.yaml) -> Shippo servicelevel tokens (spec: ServiceLevel*Enum).
SERVICE_TOKENS = {
    "usps_ground_advantage": "usps_ground_advantage", "usps_priority_mail": "usps_priority",
    "usps_priority_mail_express": "usps_priority_express",
    "ups_ground": "ups_ground", "ups_2nd_day_air": "ups_second_day_air", "ups_next_day_air": "ups_next_day_air",
}
# Any other token (fedex_ground, ups_3_day_select, ...) is taken as our code unchanged: name new
# services in the world file after their Shippo token, or add them above.
SERVICE_CODES = {token: code for code, token in SERVICE_TOKENS.items()}


def service_code(rate: dict) -> str:
    """Our service code for a Rate (servicelevel.token) or a transaction's CoreRate (servicelevel_token)."""
    token = (rate.get("servicelevel") or {}).get("token") or rate.get("servicelevel_token") or ""
    return SERVICE_CODES.get(token, token)


# Transaction.status: which ones hold a label that can ship. REFUNDREJECTED: the carrier refused
# the refund (the label was used), so it is as live as ever; REFUNDPENDING counts as gone, because
# only we ask for refunds and we do so to replace or drop the label.
LIVE = frozenset({"SUCCESS", "REFUNDREJECTED"})
PENDING = frozenset({"WAITING", "QUEUED"})
GONE_FOR_GOOD = frozenset({"ERROR", "REFUNDED"})

STATUS_STATES: dict[str, TrackingState] = {
    "PRE_TRANSIT": "pre_transit", "TRANSIT": "in_transit", "DELIVERED": "delivered",
    "RETURNED": "return_to_sender", "FAILURE": "failure", "UNKNOWN": "unknown",
    "CANCELED": "cancelled",   # not in the 2018-02-08 enum, but met in the wild: better than "unknown"
}
# Substatus codes (docs.goshippo.com/docs/tracking/tracking/#event-definitions, linked from the
# spec's TrackingStatusSubstatus) that say more than their status does; the rest follow the status.
SUBSTATUS_STATES: dict[str, TrackingState] = {
    "information_received": "pre_transit", "out_for_delivery": "out_for_delivery",
    "pickup_available": "available_for_pickup",
    "address_issue": "exception", "contact_carrier": "exception", "delivery_attempted": "exception",
    "location_inaccessible": "exception", "notice_left": "exception", "package_damaged": "exception",
    "package_held": "exception", "reschedule_delivery": "exception",
    "return_to_sender": "return_to_sender", "package_unclaimed": "return_to_sender",
    "package_undeliverable": "failure", "package_lost": "failure", "package_disposed": "failure",
    "delivered": "delivered",
}


def canonical_state(status: str | None, substatus: dict | None = None) -> TrackingState:
    """A substatus we know wins; an unknown one that asks for action in transit is an exception;
    otherwise the status decides."""
    code = (substatus or {}).get("code") or ""
    if code in SUBSTATUS_STATES:
        return SUBSTATUS_STATES[code]
    state = STATUS_STATES.get(status or "", "unknown")
    if state == "in_transit" and (substatus or {}).get("action_required"):
        return "exception"
    return state


def metadata_key(reference: str) -> str:
    """Shippo keeps 100 characters of metadata, after which a longer reference could never be
    matched again: shorten it deterministically (prefix + hash) instead."""
    if len(reference) <= MAX_METADATA:
        return reference
    return f"{reference[:83]}~{hashlib.sha256(reference.encode()).hexdigest()[:16]}"


def address_body(address: Address) -> dict:
    body = {"name": address.name, "street1": address.line1, "city": address.city, "state": address.region,
            "zip": address.postal_code, "country": address.country}
    return {**body, "phone": address.phone} if address.phone else body


def parcel_body(weight_kg: float) -> dict:
    return {**CARTON_CM, "weight": f"{weight_kg:.3f}", "mass_unit": "kg"}


def copy_fields(raw: dict, fields: tuple[str, ...]) -> dict:
    """An address or parcel as read back from Shippo, reduced to what a create request takes."""
    return {k: raw[k] for k in fields if raw.get(k) not in (None, "")}


ADDRESS_FIELDS = ("name", "company", "street1", "street2", "city", "state", "zip", "country", "phone", "email")
PARCEL_FIELDS = ("length", "width", "height", "distance_unit", "weight", "mass_unit")


def next_params(page: dict) -> dict | None:
    """The query of the `next` page URL (None on the last page). Only the query is kept: the
    token must never follow a URL to another host."""
    link = page.get("next")
    return dict(parse_qsl(urlsplit(link).query)) if link else None


def _flatten(node, path: str = "") -> Iterator[str]:
    """Django REST framework errors: {"field": ["msg"]}, nested per object and list item."""
    if isinstance(node, dict):
        for key, value in node.items():
            inner = path if key in ("detail", "__all__", "non_field_errors") else f"{path}.{key}".lstrip(".")
            yield from _flatten(value, inner)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _flatten(item, path if isinstance(item, str) else f"{path}[{i}]")
    elif node not in (None, ""):
        yield f"{path}: {node}" if path else str(node)


def shippo_error_message(response: requests.Response) -> str:
    try:
        parts = list(_flatten(response.json()))
    except ValueError:
        parts = [response.text[:300]] if response.text else []
    message = "; ".join(parts[:5])[:400] or response.reason
    if response.status_code in (401, 403):
        message += " (check the Shippo API token: test tokens start shippo_test_, live ones shippo_live_)"
    return message


def messages_text(messages: list | None) -> str:
    """Shippo's `messages[]` ({source, code, text}) as one line."""
    parts = [f"{m.get('source') or 'Shippo'}: {m.get('text') or m.get('code')}" for m in messages or []
             if isinstance(m, dict)]
    return "; ".join(parts) or "no reason given"


def when(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def tracking_event(raw: dict) -> TrackingEvent:
    place = raw.get("location") or {}
    substatus = raw.get("substatus") or {}
    return TrackingEvent(occurred_at=when(raw.get("status_date") or raw["object_created"]),
                         status=canonical_state(raw.get("status"), substatus),
                         carrier_status=substatus.get("code") or raw.get("status") or "",
                         description=raw.get("status_details") or substatus.get("text") or "",
                         location=", ".join(filter(None, (place.get("city"), place.get("state")))))


def tracking_update(body: dict) -> TrackingUpdate:
    events = sorted((tracking_event(e) for e in body.get("tracking_history") or []), key=lambda e: e.occurred_at)
    latest = body.get("tracking_status") or {}
    status = canonical_state(latest.get("status"), latest.get("substatus")) if latest else \
        (events[-1].status if events else "unknown")
    return TrackingUpdate(tracking_number=body.get("tracking_number", ""), status=status, events=tuple(events),
                          raw=body)
