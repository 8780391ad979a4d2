"""Shippo's objects as the sandbox keeps and serves them (public-api.yaml, version 2018-02-08):
shipments with their rates, transactions (labels), refunds, carrier accounts; Django REST
framework error bodies; page envelopes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from config.world import Carrier, Service
from connectors.sandbox.shipengine_tracking import Journey, iso

OWNER = "ops@cumplido.example"     # object_owner: the account's user name
PROVIDER_IMAGES = "https://shippo-static.s3.amazonaws.com/providers"
REFUND_DAYS = 1                    # a refund stays QUEUED this long, then succeeds or is rejected
RATE_MAX_AGE = timedelta(days=7)   # "only rates less than 7 days old can be purchased"
KG_PER = {"g": 0.001, "kg": 1.0, "lb": 0.45359237, "oz": 0.028349523125}
ADDRESS_REQUIRED = ("street1", "city", "zip", "country")
PARCEL_REQUIRED = ("length", "width", "height", "distance_unit", "weight", "mass_unit")
LABEL_FILE_TYPES = ("PNG", "PNG_2.3x7.5", "PDF", "PDF_2.3x7.5", "PDF_4x6", "PDF_4x8", "PDF_A4", "PDF_A5", "PDF_A6",
                    "ZPLII")


class ShippoError(Exception):
    """An answer in Django REST framework's shape: {"detail": "..."} or {"field": ["..."]}."""

    def __init__(self, status: int, body: dict):
        super().__init__(str(body))
        self.status, self.body = status, body


def field_error(status: int, name: str, message) -> ShippoError:
    return ShippoError(status, {name: message if isinstance(message, (dict, list)) else [message]})


def fault_body(status: int) -> dict:
    if status == 429:
        return {"detail": "Request was throttled. Expected available in 1 second."}
    return {"detail": "A server error occurred."}


@dataclass
class ShipmentRecord:
    object_id: str
    address_from: dict
    address_to: dict
    parcels: list[dict]
    weight_kg: float
    metadata: str
    is_return: bool
    carrier_accounts: list[str]
    created_at: datetime
    rate_ids: list[str] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)

    @property
    def origin(self) -> dict:
        """Where the parcel really leaves from: a return goes the other way (Shippo swaps)."""
        return self.address_to if self.is_return else self.address_from

    @property
    def destination(self) -> dict:
        return self.address_from if self.is_return else self.address_to


@dataclass
class RateRecord:
    object_id: str
    shipment_id: str
    carrier: Carrier
    service: Service
    token: str
    amount: float
    zone: int
    created_at: datetime


@dataclass
class RefundRecord:
    object_id: str
    transaction_id: str
    created_at: datetime
    rejected: bool                # the carrier had already scanned the label

    def status(self, now: datetime) -> str:
        if now < self.created_at + timedelta(days=REFUND_DAYS):
            return "QUEUED"
        return "ERROR" if self.rejected else "SUCCESS"


@dataclass
class TransactionRecord:
    object_id: str
    rate: RateRecord
    metadata: str
    label_file_type: str
    created_at: datetime
    label_url: str = ""
    tracking_number: str = ""
    journey: Journey | None = None      # None: the carrier refused the label (status ERROR)
    messages: list[dict] = field(default_factory=list)
    refund: RefundRecord | None = None

    def status(self, now: datetime) -> str:
        if self.journey is None:
            return "ERROR"
        if self.refund is None:
            return "SUCCESS"
        return {"QUEUED": "REFUNDPENDING", "ERROR": "REFUNDREJECTED"}.get(self.refund.status(now), "REFUNDED")

    def cut_at(self) -> datetime | None:
        """A refunded label never ships: its journey stops where the refund was asked for."""
        return self.refund.created_at if self.refund and not self.refund.rejected else None


def address_view(raw: dict, *, object_id: str, at: datetime) -> dict:
    fields = ("name", "company", "street1", "street2", "city", "state", "zip", "country", "phone", "email")
    return {**{k: str(raw.get(k) or "") for k in fields}, "object_id": object_id, "is_complete": True,
            "object_created": iso(at), "object_updated": iso(at), "object_owner": OWNER, "test": True}


def parcel_view(raw: dict, *, object_id: str, at: datetime) -> dict:
    return {**{k: str(raw[k]) for k in PARCEL_REQUIRED}, "object_id": object_id, "object_state": "VALID",
            "object_created": iso(at), "object_updated": iso(at), "object_owner": OWNER, "metadata": "",
            "extra": {}, "test": True}


def rate_view(rate: RateRecord, *, attributes: list[str]) -> dict:
    amount = f"{rate.amount:.2f}"
    days = rate.service.transit_days
    return {"object_id": rate.object_id, "object_created": iso(rate.created_at), "object_owner": OWNER,
            "shipment": rate.shipment_id, "attributes": attributes, "amount": amount, "currency": "USD",
            "amount_local": amount, "currency_local": "USD", "provider": rate.carrier.name,
            "provider_image_75": f"{PROVIDER_IMAGES}/75/{rate.carrier.code.upper()}.png",
            "provider_image_200": f"{PROVIDER_IMAGES}/200/{rate.carrier.code.upper()}.png",
            "servicelevel": {"name": rate.service.name, "token": rate.token, "terms": ""},
            "estimated_days": days, "duration_terms": f"Delivery in {days} business day{'s' * (days > 1)}.",
            "carrier_account": rate.carrier.carrier_id, "zone": str(rate.zone), "messages": [], "test": True}


def shipment_view(shp: ShipmentRecord, rates: list[RateRecord]) -> dict:
    cheapest = min(rates, key=lambda r: r.amount, default=None)
    fastest = min(rates, key=lambda r: (r.service.transit_days, r.amount), default=None)
    views = [rate_view(r, attributes=[a for a, best in (("CHEAPEST", cheapest), ("FASTEST", fastest)) if best is r])
             for r in rates]
    return {"object_id": shp.object_id, "object_created": iso(shp.created_at), "object_updated": iso(shp.created_at),
            "object_owner": OWNER, "status": "SUCCESS", "metadata": shp.metadata, "shipment_date": iso(shp.created_at),
            "extra": {"is_return": True} if shp.is_return else {}, "address_from": shp.address_from,
            "address_to": shp.address_to, "parcels": shp.parcels, "carrier_accounts": shp.carrier_accounts,
            "rates": views, "messages": shp.messages, "test": True}


def transaction_view(txn: TransactionRecord, *, now: datetime, tracking_status: str, tracking_url: str) -> dict:
    status = txn.status(now)
    updated = max(txn.created_at, txn.refund.created_at) if txn.refund else txn.created_at
    view = {"object_id": txn.object_id, "object_state": "INVALID" if status == "ERROR" else "VALID",
            "status": status, "object_created": iso(txn.created_at), "object_updated": iso(updated),
            "object_owner": OWNER, "test": True, "rate": txn.rate.object_id, "metadata": txn.metadata,
            "label_file_type": txn.label_file_type, "tracking_number": txn.tracking_number,
            "tracking_status": tracking_status, "tracking_url_provider": tracking_url, "label_url": txn.label_url,
            "commercial_invoice_url": "", "qr_code_url": "", "messages": txn.messages, "created_by": None}
    if txn.journey is not None:
        view["eta"] = iso(txn.journey.estimated_delivery)
    return view


def refund_view(refund: RefundRecord, *, now: datetime) -> dict:
    settled = refund.created_at + timedelta(days=REFUND_DAYS)
    return {"object_id": refund.object_id, "object_created": iso(refund.created_at),
            "object_updated": iso(settled if now >= settled else refund.created_at), "object_owner": OWNER,
            "status": refund.status(now), "transaction": refund.transaction_id, "test": True}


def carrier_account_view(carrier: Carrier, *, service_levels: list[dict] | None) -> dict:
    view = {"object_id": carrier.carrier_id, "carrier": carrier.code, "account_id": f"sandbox-{carrier.code}",
            "active": True, "test": True, "is_shippo_account": True, "carrier_name": carrier.name, "metadata": "",
            "object_owner": OWNER, "object_info": {"authentication": {"type": "default", "status": "connected"}}}
    return {**view, "service_levels": service_levels} if service_levels is not None else view


def page_envelope(request: Request, items: list, *, default: int, shift: bool = False) -> dict:
    """Shippo's page envelope: ?page=&results= (max 100), `next`/`previous` as full URLs, left out
    (not null: the spec types them string) where there is none. `shift` starts the page one
    record early, as when a new record lands at the top while a client pages."""
    try:
        page, size = int(request.args.get("page", 1)), min(int(request.args.get("results", default)), 100)
    except ValueError:
        raise field_error(400, "page", "A valid integer is required.") from None
    start = (page - 1) * size
    if page < 1 or size < 1 or (page > 1 and start >= len(items)):
        raise ShippoError(404, {"detail": "Invalid page."})
    body = {"results": items[start - shift:start + size]}

    def link(number: int) -> str:
        return f"{request.base_url}?{urlencode({**request.args.to_dict(), 'page': number})}"

    if page * size < len(items):
        body["next"] = link(page + 1)
    if page > 1:
        body["previous"] = link(page - 1)
    return body
