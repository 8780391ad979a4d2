"""ShipEngine as Cumplido's carrier account: rates from every connected carrier, labels that
can always be found again by our reference, and tracking mapped onto the canonical states.

Our reference travels as the shipment's `external_shipment_id`, set when the parcel is quoted
alone, when it is batched for its label (or, for return labels, when the label is created), so `GET /v1/labels/external_shipment_id/…`
finds the label even if we crashed before reading the purchase's answer. Many parcels at once
go through ShipEngine's bulk endpoints, quoted one parcel per lane: see shipengine_quotes and
shipengine_bulk."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import quote

import requests

from config.world import Carrier
from connectors.carriers.shipengine_bulk import ShipEngineBulk
from connectors.carriers.shipengine_shipment import MAX_EXTERNAL_ID, external_id, shipment_body
from connectors.errors import PermanentApiError
from connectors.http import ApiClient
from connectors.protocols import QuoteMemory
from domain.records import Label, ParcelRequest, Rate, TrackingEvent, TrackingState, TrackingUpdate

STATUS_CODES: dict[str, TrackingState] = {
    "NY": "pre_transit", "AC": "pre_transit", "IT": "in_transit", "DE": "delivered", "EX": "exception",
    "AT": "exception", "SP": "available_for_pickup", "UN": "unknown",
}
# Detail codes that say more than their status code does (the rest follow the status code).
DETAIL_CODES: dict[str, TrackingState] = {
    "OUT_FOR_DELIVERY": "out_for_delivery",
    "RETURN_TO_SENDER": "return_to_sender", "UNDELIVERABLE_RETURNED_TO_SENDER": "return_to_sender",
    "DELIVERED_TO_PICKUP_POINT": "available_for_pickup", "AWAITING_COLLECTION_FROM_PICKUP_POINT": "available_for_pickup",
    "CUSTOMER_TO_COLLECT_FROM_CARRIER": "available_for_pickup", "COLLECT_AT_LOCAL_PO": "available_for_pickup",
    "PARCEL_LOST": "failure", "PARCEL_DISPOSED": "failure", "CANCELLED": "cancelled",
}
LABEL_OPTIONS = {"label_format": "pdf", "label_layout": "4x6", "label_download_type": "url"}


def canonical_state(status_code: str | None, detail_code: str | None) -> TrackingState:
    return DETAIL_CODES.get(detail_code or "") or STATUS_CODES.get(status_code or "", "unknown")


def shipengine_error_message(response: requests.Response) -> str:
    """The `errors[]` of ShipEngine's envelope, with codes and fields, plus the request id."""
    try:
        body = response.json()
        errors = body.get("errors") or []
    except (ValueError, AttributeError):
        return response.text[:300] or response.reason
    parts = []
    for error in errors[:3]:
        detail = ", ".join(filter(None, (error.get("error_code"),
                                         error.get("field_name") and f"field {error['field_name']}")))
        parts.append(f"{error.get('message', 'error')} ({detail})" if detail else error.get("message", "error"))
    message = "; ".join(parts) or response.reason
    return f"{message} [request {body['request_id']}]" if body.get("request_id") else message


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


class ShipEngineCarrier(ShipEngineBulk):
    name = "shipengine"

    def __init__(self, *, api_base: str, api_key: str, carriers: Sequence[Carrier], timeout: float = 20,
                 max_retries: int = 4, sleep: Callable[[float], None] = time.sleep, batch_wait_seconds: float = 900,
                 quote_memory: QuoteMemory | None = None):
        self._api = ApiClient("shipengine", api_base, headers={"API-Key": api_key}, timeout=timeout,
                              max_retries=max_retries, error_message=shipengine_error_message, sleep=sleep)
        self._sleep, self._batch_wait = sleep, batch_wait_seconds   # polling a batch: how, and for how long
        self._codes = {c.carrier_id: c.code for c in carriers}
        self._carrier_ids = {c.code: c.carrier_id for c in carriers}   # a rate names our code; a shipment, the id
        self._transit = {(c.carrier_id, s.code): s.transit_days for c in carriers for s in c.services}
        # lane quotes are remembered per account and carrier set: another key or carrier list prices anew
        self._quote_memory = quote_memory
        account = "|".join([api_base, api_key, *sorted(f"{c.carrier_id}={c.code}" for c in carriers)])
        self._quote_scope = f"shipengine:{hashlib.sha256(account.encode()).hexdigest()[:40]}"

    @property
    def session(self) -> requests.Session:
        return self._api.session

    def quote(self, parcel: ParcelRequest) -> list[Rate]:
        """Every service of every configured carrier, cheapest first."""
        options = {"carrier_ids": list(self._codes), "is_return": parcel.is_return}
        body = self._api.json("POST", "/v1/rates", json={"rate_options": options, "shipment": shipment_body(parcel)})
        return self._ranked(body.get("rate_response") or {}, parcel.reference)

    def find_label(self, reference: str) -> Label | None:
        """The live label bought under our reference; a voided one counts as none."""
        body = self._api.json_or_none(f"/v1/labels/external_shipment_id/{quote(external_id(reference), safe='')}")
        if body is None:
            return None
        return None if body.get("voided") or body.get("status") == "voided" else self._label(body, reference)

    def buy_label(self, *, rate: Rate, reference: str) -> Label:
        """Buy the quoted rate. ShipEngine holds one live label per shipment, so if an earlier
        attempt already bought it (its answer lost), the purchase is refused and we return that label."""
        try:
            body = self._api.json("POST", f"/v1/labels/rates/{quote(rate.rate_id, safe='')}", json=LABEL_OPTIONS)
        except PermanentApiError as exc:
            return self._already_bought(reference, exc)
        if body.get("external_shipment_id") != external_id(reference):
            raise ValueError(f"rate {rate.rate_id} was quoted for {body.get('external_shipment_id')!r}, not "
                             f"{reference!r}; label {body.get('label_id')} belongs to that reference")
        return self._label(body, reference)

    def track(self, label: Label | str) -> TrackingUpdate:
        label_id = label.label_ref if isinstance(label, Label) else label
        body = self._api.json("GET", f"/v1/labels/{quote(label_id, safe='')}/track")
        events = sorted((self._event(e) for e in body.get("events") or []), key=lambda e: e.occurred_at)
        return TrackingUpdate(tracking_number=body.get("tracking_number", ""), events=tuple(events), raw=body,
                              status=canonical_state(body.get("status_code"), body.get("status_detail_code")))

    def create_return_label(self, *, outbound_label_ref: str, reference: str) -> Label:
        """Same carrier and service as the outbound parcel, from the customer back to where it left.
        Made with POST /v1/labels (not /labels/{id}/return) because only that carries our reference."""
        existing = self.find_label(reference)
        if existing is not None:
            return existing
        outbound = self._api.json("GET", f"/v1/labels/{quote(outbound_label_ref, safe='')}")
        shipment = self._api.json("GET", f"/v1/shipments/{quote(outbound['shipment_id'], safe='')}")
        customer, origin = dict(shipment["ship_to"]), shipment["ship_from"]
        if not customer.get("phone") and origin.get("phone"):  # the origin of a return needs a contact phone
            customer["phone"] = origin["phone"]
        body = {**LABEL_OPTIONS, "is_return_label": True, "outbound_label_id": outbound_label_ref,
                "rma_number": reference[:MAX_EXTERNAL_ID], "charge_event": "carrier_default",
                "shipment": {"carrier_id": outbound["carrier_id"], "service_code": outbound["service_code"],
                             "external_shipment_id": external_id(reference), "ship_from": customer, "ship_to": origin,
                             "packages": [{"weight": p["weight"]} for p in shipment["packages"]]}}
        try:
            return self._label(self._api.json("POST", "/v1/labels", json=body), reference)
        except PermanentApiError as exc:
            return self._already_bought(reference, exc)

    def check(self) -> str:
        connected = {c["carrier_id"]: c.get("friendly_name", c["carrier_id"])
                     for c in self._api.json("GET", "/v1/carriers").get("carriers", [])}
        missing = sorted(set(self._codes) - set(connected))
        if missing:
            raise PermanentApiError("shipengine", f"carrier account(s) {', '.join(missing)} are not connected to "
                                    "this ShipEngine account: connect them or fix `carriers` in the world file")
        names = ", ".join(connected[c] for c in self._codes)
        return f"shipengine: {len(self._codes)} carrier account(s) connected ({names}) at {self._api.base_url}"

    def close(self) -> None:
        self._api.close()

    # ---- helpers ----

    def _already_bought(self, reference: str, exc: PermanentApiError) -> Label:
        if exc.status in (400, 409):
            existing = self.find_label(reference)
            if existing is not None:
                return existing
        raise exc

    def _ranked(self, rates_information: dict, reference: str) -> list[Rate]:
        """The rates of one rating, cheapest first; none at all, with errors, is the parcel's error."""
        rates = [self._rate(r) for r in rates_information.get("rates") or [] if r.get("carrier_id") in self._codes]
        if not rates and rates_information.get("errors"):
            raise PermanentApiError("shipengine", f"no rates for parcel {reference}: "
                                    + "; ".join(e.get("message", "?") for e in rates_information["errors"]))
        return sorted(rates, key=lambda r: (r.amount, r.transit_days))

    def _rate(self, raw: dict) -> Rate:
        amount = sum(float((raw.get(k) or {}).get("amount", 0))
                     for k in ("shipping_amount", "insurance_amount", "confirmation_amount", "other_amount"))
        return Rate(rate_id=raw["rate_id"], carrier=self._codes[raw["carrier_id"]], service=raw["service_code"],
                    amount=round(amount, 2), currency=raw["shipping_amount"]["currency"].upper(),
                    transit_days=raw.get("delivery_days") or self._transit.get((raw["carrier_id"], raw["service_code"]), 0))

    def _label(self, raw: dict, reference: str) -> Label:
        cost, insurance = raw.get("shipment_cost") or {}, raw.get("insurance_cost") or {}
        download = raw.get("label_download") or {}
        return Label(label_ref=raw["label_id"], reference=reference,
                     carrier=self._codes.get(raw.get("carrier_id"), raw.get("carrier_code", "")),
                     service=raw.get("service_code", ""), tracking_number=raw.get("tracking_number", ""),
                     amount=round(float(cost.get("amount", 0)) + float(insurance.get("amount", 0)), 2),
                     currency=str(cost.get("currency", "usd")).upper(),
                     label_url=download.get("pdf") or download.get("href", ""), raw=raw)

    @staticmethod
    def _event(raw: dict) -> TrackingEvent:
        place = ", ".join(filter(None, (raw.get("city_locality"), raw.get("state_province"))))
        return TrackingEvent(occurred_at=_when(raw["occurred_at"]),
                             status=canonical_state(raw.get("status_code"), raw.get("status_detail_code")),
                             carrier_status=raw.get("carrier_status_code") or raw.get("status_code", ""),
                             description=raw.get("carrier_status_description") or raw.get("status_description", ""),
                             location=place)
