"""EasyPost's JSON objects and error envelope as the sandbox serves them, shaped like the
payloads recorded in EasyPost's client-library cassettes (easypost-python tests/cassettes:
test_shipment_buy.yaml, test_shipment_all.yaml, test_tracker_retrieve.yaml, test_error.yaml,
test_carrier_account_all.yaml)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from config.world import Carrier, Service
from connectors.sandbox.shipengine_tracking import Journey

# The EasyPost name of each of the world's services: the sandbox's own table, deliberately
# not imported from the client, so a wrong mapping there shows up in the tests.
EASYPOST_SERVICES = {
    "usps_ground_advantage": "GroundAdvantage", "usps_priority_mail": "Priority",
    "usps_priority_mail_express": "Express",
    "ups_ground": "Ground", "ups_2nd_day_air": "2ndDayAir", "ups_next_day_air": "NextDayAir",
    "fedex_ground": "FEDEX_GROUND", "fedex_2day": "FEDEX_2_DAY", "fedex_standard_overnight": "STANDARD_OVERNIGHT",
}
EASYPOST_CARRIERS = {"usps": ("USPS", "UspsAccount"), "ups": ("UPS", "UpsAccount"), "fedex": ("FedEx", "FedexAccount")}
ADDRESS_FIELDS = ("name", "company", "street1", "street2", "city", "state", "zip", "country", "phone", "email")
REQUIRED_ADDRESS = ("street1", "city", "zip", "country")
LABEL_FILES = "https://easypost-files.s3.us-west-2.amazonaws.com/files/postage_label"


class EasyPostError(Exception):
    """An answer in EasyPost's envelope: {"error": {"code", "message", "errors": [...]}}."""

    def __init__(self, status: int, code: str, message: str, *, errors: list | None = None):
        super().__init__(message)
        self.status, self.body = status, envelope(code, message, errors or [])


def envelope(code: str, message: str, errors: list) -> dict:
    return {"error": {"code": code, "message": message, "errors": errors}}


def fault_body(status: int) -> dict:
    """Bodies of injected faults. EasyPost documents 429/5xx but not their codes: these are ours."""
    if status == 429:
        return envelope("RATE_LIMITED", "You have exceeded the rate limit. Please slow down and retry.", [])
    return envelope("INTERNAL_SERVER_ERROR", "We're sorry, something went wrong. Please try again.", [])


def ts(moment: datetime) -> str:
    """EasyPost's timestamps: UTC, whole seconds, Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RateRecord:
    id: str
    shipment_id: str
    carrier: Carrier
    service: Service
    amount: float
    created_at: datetime

    @property
    def easypost_carrier(self) -> str:
        return EASYPOST_CARRIERS.get(self.carrier.code, (self.carrier.name, ""))[0]


@dataclass
class LabelRecord:
    postage_label_id: str
    tracker_id: str
    tracking_code: str
    purchased_at: datetime
    journey: Journey
    public_url: str


@dataclass
class ShipmentRecord:
    id: str
    reference: str | None
    to_address: dict
    from_address: dict
    parcel: dict
    is_return: bool
    created_at: datetime
    mode: str
    updated_at: datetime
    rate_ids: list[str] = field(default_factory=list)
    carrier_accounts: list[str] = field(default_factory=list)   # as asked for; empty = all
    messages: list[dict] = field(default_factory=list)          # carriers that could not rate it
    selected_rate: RateRecord | None = None
    label: LabelRecord | None = None
    refund_requested_at: datetime | None = None
    refund_rejected: bool = False

    def refund_status(self, now: datetime) -> str | None:
        """USPS-style: submitted at the request, refunded a day later; rejected once scanned."""
        if self.refund_rejected:
            return "rejected"
        if self.refund_requested_at is None:
            return None
        return "refunded" if (now - self.refund_requested_at).days >= 1 else "submitted"


def required_address(raw, where: str) -> dict:
    missing = [f for f in REQUIRED_ADDRESS if not raw.get(f)] if isinstance(raw, dict) else ["street1"]
    if missing:
        raise EasyPostError(422, "PARAMETER.REQUIRED", "Missing required parameter.",
                            errors=[{"field": f"{where}.{f}", "message": "cannot be blank"} for f in missing])
    return {k: raw.get(k) for k in ADDRESS_FIELDS}


def index_filters(args, *, max_page_size: int, default: int) -> tuple[int, bool, datetime | None, datetime | None]:
    """page_size, purchased (true unless "false"), start_datetime, end_datetime of an index request."""
    try:
        size = int(args.get("page_size", default))
    except ValueError:
        size = 0
    if not 0 < size <= max_page_size:
        raise invalid("page_size", f"must be between 1 and {max_page_size}")
    bounds = []
    for name in ("start_datetime", "end_datetime"):
        try:
            bounds.append(datetime.fromisoformat(args[name]) if name in args else None)
        except ValueError:
            raise invalid(name, "must be an ISO 8601 datetime") from None
    return size, args.get("purchased", "true").lower() != "false", bounds[0], bounds[1]


def invalid(field_name: str, message: str) -> EasyPostError:
    return EasyPostError(422, "PARAMETER.INVALID", "Invalid parameter.",
                         errors=[{"field": field_name, "message": message}])


def address_view(address_id: str, raw: dict, *, at: datetime, mode: str) -> dict:
    stamp = at.astimezone(timezone.utc).isoformat()
    view = {"id": address_id, "object": "Address", "created_at": stamp, "updated_at": stamp}
    view.update({k: raw.get(k) for k in ADDRESS_FIELDS})
    view.update(mode=mode, carrier_facility=None, residential=None, federal_tax_id=None, state_tax_id=None,
                verifications={})
    return view


def parcel_view(parcel_id: str, weight_oz: float, *, at: datetime, mode: str) -> dict:
    return {"id": parcel_id, "object": "Parcel", "created_at": ts(at), "updated_at": ts(at), "length": None,
            "width": None, "height": None, "predefined_package": None, "weight": weight_oz, "mode": mode}


def rate_view(rate: RateRecord, *, mode: str) -> dict:
    retail = round(rate.amount * 1.18, 2)   # what the counter would charge: shown, never billed
    return {
        "id": rate.id, "object": "Rate", "created_at": ts(rate.created_at), "updated_at": ts(rate.created_at),
        "mode": mode, "service": EASYPOST_SERVICES[rate.service.code], "carrier": rate.easypost_carrier,
        "rate": f"{rate.amount:.2f}", "currency": "USD", "retail_rate": f"{retail:.2f}", "retail_currency": "USD",
        "list_rate": f"{rate.amount:.2f}", "list_currency": "USD", "billing_type": "easypost",
        "delivery_days": rate.service.transit_days, "delivery_date": None, "delivery_date_guaranteed": False,
        "est_delivery_days": rate.service.transit_days, "shipment_id": rate.shipment_id,
        "carrier_account_id": rate.carrier.carrier_id,
    }


def postage_label_view(label: LabelRecord) -> dict:
    at, name = ts(label.purchased_at), label.postage_label_id[3:]
    return {"object": "PostageLabel", "id": label.postage_label_id, "created_at": at, "updated_at": at,
            "date_advance": 0, "integrated_form": "none", "label_date": at, "label_resolution": 300,
            "label_size": "4x6", "label_type": "default", "label_file_type": "image/png",
            "label_url": f"{LABEL_FILES}/{label.purchased_at:%Y%m%d}/{name}.png", "label_pdf_url": None,
            "label_zpl_url": None, "label_epl2_url": None, "label_file": None}


def shipment_view(shp: ShipmentRecord, *, rates: list[RateRecord], tracker: dict | None, now: datetime) -> dict:
    label, rate = shp.label, shp.selected_rate
    fees = [] if rate is None else [
        {"object": "Fee", "type": "LabelFee", "amount": "0.00000", "charged": True, "refunded": False},
        {"object": "Fee", "type": "PostageFee", "amount": f"{rate.amount:.5f}", "charged": True,
         "refunded": shp.refund_status(now) == "refunded"}]
    return {
        "id": shp.id, "object": "Shipment", "created_at": ts(shp.created_at), "updated_at": ts(shp.updated_at),
        "is_return": shp.is_return, "messages": list(shp.messages), "mode": shp.mode,
        "options": {"currency": "USD", "payment": {"type": "SENDER"}, "date_advance": 0}, "reference": shp.reference,
        "status": tracker["status"] if tracker else "unknown", "tracking_code": label.tracking_code if label else None,
        "batch_id": None, "batch_status": None, "batch_message": None, "customs_info": None,
        "from_address": shp.from_address, "insurance": None, "order_id": None, "parcel": shp.parcel,
        "postage_label": postage_label_view(label) if label else None,
        "rates": [rate_view(r, mode=shp.mode) for r in rates], "refund_status": shp.refund_status(now),
        "scan_form": None, "selected_rate": rate_view(rate, mode=shp.mode) if rate else None, "tracker": tracker,
        "to_address": shp.to_address, "usps_zone": None, "return_address": shp.from_address,
        "buyer_address": shp.to_address, "forms": [], "fees": fees,
    }


def carrier_account_view(carrier: Carrier, *, created_at: datetime) -> dict:
    readable, kind = EASYPOST_CARRIERS.get(carrier.code, (carrier.name, f"{carrier.name}Account"))
    return {"id": carrier.carrier_id, "object": "CarrierAccount", "type": kind, "clone": False,
            "created_at": ts(created_at), "updated_at": ts(created_at), "description": f"{readable} Account",
            "reference": None, "billing_type": "easypost", "readable": readable, "logo": None,
            "fields": {"credentials": {}}, "credentials": {}, "test_credentials": {}}
