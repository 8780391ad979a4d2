"""ShipEngine's JSON objects and error envelope as the sandbox serves them (spec 1.1)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from config.world import Carrier, Service
from connectors.sandbox.shipengine_tracking import PlannedJourney, iso, tracking_url

ADDRESS_FIELDS = ("name", "phone", "email", "company_name", "address_line1", "address_line2", "address_line3",
                  "city_locality", "state_province", "postal_code", "country_code", "address_residential_indicator")
REQUIRED_ADDRESS = ("name", "address_line1", "city_locality", "state_province", "postal_code", "country_code")


class ShipEngineError(Exception):
    def __init__(self, status: int, message: str, *, code: str, type: str = "validation",
                 source: str = "shipengine", field_name: str | None = None):
        super().__init__(message)
        error = {"error_source": source, "error_type": type, "error_code": code, "message": message}
        if field_name:
            error["field_name"] = field_name
        self.status, self.body = status, envelope(error)


def envelope(*errors: dict) -> dict:
    return {"request_id": str(uuid.uuid4()), "errors": list(errors)}


def fault_body(status: int) -> dict:
    if status == 429:
        return envelope({"error_source": "shipengine", "error_type": "system", "error_code": "rate_limit_exceeded",
                         "message": "You have exceeded the rate limit. Please retry after the period in the "
                                    "Retry-After header."})
    return envelope({"error_source": "shipengine", "error_type": "system", "error_code": "unspecified",
                     "message": "An unexpected error occurred. Please try again."})


@dataclass
class ShipmentRecord:
    shipment_id: str
    external_shipment_id: str | None
    ship_to: dict
    ship_from: dict
    packages: list[dict]
    weight_kg: float
    created_at: datetime
    modified_at: datetime
    is_return: bool = False
    carrier_id: str | None = None
    service_code: str | None = None
    label_ids: list[str] = field(default_factory=list)


@dataclass
class RateRecord:
    rate_id: str
    shipment_id: str
    carrier: Carrier
    service: Service
    amount: float
    zone: int


@dataclass
class LabelRecord:
    label_id: str
    shipment_id: str
    carrier: Carrier
    service: Service
    amount: float
    tracking_number: str
    created_at: datetime
    journey: PlannedJourney
    download_base: str
    is_return: bool = False
    rma_number: str | None = None
    outbound_label_id: str | None = None
    voided_at: datetime | None = None
    batch_id: str | None = None


def ship_day(moment: datetime) -> str:
    """ShipEngine's `date` fields: the day, written as a date-time at midnight UTC."""
    return iso(moment)[:10] + "T00:00:00.000Z"


def address(raw: dict, *, where: str) -> dict:
    missing = [f for f in REQUIRED_ADDRESS if not raw.get(f)]
    if missing:
        raise ShipEngineError(400, f"{where}.{missing[0]} is required", code="field_value_required",
                              field_name=f"{where}.{missing[0]}")
    return {k: raw[k] for k in ADDRESS_FIELDS if raw.get(k) is not None}


def carrier_view(carrier: Carrier) -> dict:
    return {
        "carrier_id": carrier.carrier_id, "carrier_code": carrier.code, "account_number": f"SANDBOX-{carrier.code}",
        "requires_funded_amount": False, "balance": 0.0, "nickname": carrier.name, "friendly_name": carrier.name,
        "funding_source_id": None, "primary": True, "has_multi_package_supporting_services": True,
        "allows_returns": True, "supports_label_messages": True, "disabled_by_billing_plan": False,
        "services": [{"carrier_id": carrier.carrier_id, "service_code": s.code, "name": s.name, "domestic": True,
                      "international": False, "is_multi_package_supported": True, "is_return_supported": True}
                     for s in carrier.services],
        "packages": [], "options": [], "send_rates": True, "supports_user_managed_rates": False,
        "connection_status": "approved",
    }


def rate_view(rate: RateRecord, *, ship_date: datetime, estimated: datetime) -> dict:
    zero = {"currency": "usd", "amount": 0.0}
    return {
        "rate_id": rate.rate_id, "rate_type": "shipment", "carrier_id": rate.carrier.carrier_id,
        "shipping_amount": {"currency": "usd", "amount": rate.amount}, "insurance_amount": zero,
        "confirmation_amount": zero, "other_amount": zero, "rate_details": [], "zone": rate.zone,
        "package_type": "package", "delivery_days": rate.service.transit_days, "guaranteed_service": False,
        "estimated_delivery_date": iso(estimated), "carrier_delivery_days": str(rate.service.transit_days),
        "ship_date": iso(ship_date), "negotiated_rate": False, "service_type": rate.service.name,
        "service_code": rate.service.code, "trackable": True, "carrier_code": rate.carrier.code,
        "carrier_nickname": rate.carrier.name, "carrier_friendly_name": rate.carrier.name,
        "validation_status": "valid", "warning_messages": [], "error_messages": [],
    }


def shipment_view(shp: ShipmentRecord, *, status: str) -> dict:
    view = {
        "shipment_id": shp.shipment_id, "external_shipment_id": shp.external_shipment_id,
        "external_order_id": None, "items": [], "tax_identifiers": None, "shipment_number": shp.external_shipment_id,
        "ship_date": ship_day(shp.created_at), "created_at": iso(shp.created_at), "modified_at": iso(shp.modified_at),
        "shipment_status": status, "ship_to": dict(shp.ship_to), "ship_from": dict(shp.ship_from),
        "warehouse_id": None, "return_to": dict(shp.ship_from), "is_return": shp.is_return, "confirmation": "none",
        "customs": None, "advanced_options": {}, "insurance_provider": "none", "tags": [],
        "packages": [_package(shp, p, i) for i, p in enumerate(shp.packages)],
        "total_weight": {"value": round(shp.weight_kg, 3), "unit": "kilogram"},
    }
    if shp.carrier_id:
        view.update(carrier_id=shp.carrier_id, service_code=shp.service_code)
    return view


def _package(shp: ShipmentRecord, package: dict, index: int) -> dict:
    return {"shipment_package_id": f"{shp.shipment_id}-{index + 1}", "package_code": "package",
            "weight": package["weight"], "insured_value": {"currency": "usd", "amount": 0.0}, "products": []}


def label_view(label: LabelRecord, shp: ShipmentRecord, *, status_code: str) -> dict:
    """The label as every /v1/labels endpoint returns it. `batch_id` is left out of labels bought
    outside a batch: ShipEngine sends "" for those, which its own se_id pattern refuses."""
    link = f"{label.download_base}/v1/downloads/10/{label.label_id[3:]}/label-{label.label_id[3:]}"
    download = {"href": f"{link}.pdf", "pdf": f"{link}.pdf", "png": f"{link}.png", "zpl": f"{link}.zpl"}
    voided = label.voided_at is not None
    return {
        "label_id": label.label_id, "status": "voided" if voided else "completed",
        "shipment_id": shp.shipment_id, "external_shipment_id": shp.external_shipment_id,
        "external_order_id": None, "ship_date": ship_day(label.created_at), "created_at": iso(label.created_at),
        "shipment_cost": {"currency": "usd", "amount": label.amount},
        "insurance_cost": {"currency": "usd", "amount": 0.0}, "rate_details": [],
        "tracking_number": label.tracking_number, "is_return_label": label.is_return,
        "rma_number": label.rma_number, "is_international": False, "carrier_id": label.carrier.carrier_id,
        "charge_event": "carrier_default", "service_code": label.service.code, "package_code": "package",
        "voided": voided, "voided_at": iso(label.voided_at) if voided else None, "label_format": "pdf",
        "display_scheme": "label", "label_layout": "4x6", "trackable": True, "label_image_id": None,
        "carrier_code": label.carrier.code,
        "tracking_status": {"DE": "delivered", "EX": "error", "AC": "unknown"}.get(status_code, "in_transit"),
        "confirmation": "none", "label_download": download, "form_download": None, "qr_code_download": None,
        "paperless_download": None, "insurance_claim": None,
        "packages": [{"package_id": 1, "package_code": "package", "weight": p["weight"],
                      "insured_value": {"currency": "usd", "amount": 0.0}, "tracking_number": label.tracking_number,
                      "label_download": download, "sequence": i + 1, "has_label_documents": True,
                      "has_form_documents": False, "has_qr_code_documents": False,
                      "has_paperless_label_documents": False} for i, p in enumerate(shp.packages)],
        "alternative_identifiers": None, "tracking_url": tracking_url(label.carrier.code, label.tracking_number),
        "ship_to": dict(shp.ship_to), "void_type": None, "refund_details": None,
        **({"batch_id": label.batch_id} if label.batch_id else {}),
    }
