"""POST /shipments in the Shippo sandbox: the request checked field by field in Django REST
framework's words, then one rate per service of each requested carrier account, priced from the
world's tariffs by distance (shipengine_rates) and offered under Shippo's servicelevel tokens."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from config.world import Carrier
from connectors.carriers.shippo_parse import SERVICE_TOKENS
from connectors.sandbox.shipengine_rates import price, zone
from connectors.sandbox.shippo_objects import (
    ADDRESS_REQUIRED, KG_PER, PARCEL_REQUIRED, RateRecord, ShipmentRecord, ShippoError, address_view, field_error,
    parcel_view, shipment_view,
)

DISTANCE_UNITS = ("cm", "in", "ft", "m", "mm", "yd")
REQUIRED = "This field is required."


def _address_problems(raw) -> list | dict | None:
    if isinstance(raw, str):
        return ["Address object_id references are not supported by this sandbox; send the address itself."]
    if not isinstance(raw, dict):
        return [REQUIRED]
    return {k: [REQUIRED] for k in ADDRESS_REQUIRED if not raw.get(k)} or None


def _parcel_problems(raw: dict) -> dict:
    if not isinstance(raw, dict):
        return {"non_field_errors": ["Parcel object_id references are not supported by this sandbox."]}
    problems = {k: [REQUIRED] for k in PARCEL_REQUIRED if raw.get(k) in (None, "")}
    if raw.get("mass_unit") and raw["mass_unit"] not in KG_PER:
        problems["mass_unit"] = [f'"{raw["mass_unit"]}" is not a valid choice.']
    if raw.get("distance_unit") and raw["distance_unit"] not in DISTANCE_UNITS:
        problems["distance_unit"] = [f'"{raw["distance_unit"]}" is not a valid choice.']
    try:
        if "weight" not in problems and float(raw["weight"]) <= 0:
            problems["weight"] = ["Ensure this value is greater than 0."]
    except (TypeError, ValueError):
        problems["weight"] = ["A valid number is required."]
    return problems


class ShipmentDesk:
    """The sandbox's shipments and rates."""

    def __init__(self, accounts: dict[str, Carrier], *, new_id: Callable[[], str]):
        self.accounts, self._new_id = accounts, new_id
        self.shipments: dict[str, ShipmentRecord] = {}
        self.rates: dict[str, RateRecord] = {}

    def create(self, body: dict, *, now: datetime) -> tuple[ShipmentRecord, list[RateRecord]]:
        errors = {name: p for name in ("address_from", "address_to") if (p := _address_problems(body.get(name)))}
        parcels = body.get("parcels")
        if not isinstance(parcels, list) or not parcels:
            errors["parcels"] = [REQUIRED]
        elif any(problems := [_parcel_problems(p) for p in parcels]):
            errors["parcels"] = problems
        if errors:
            raise ShippoError(400, errors)
        requested = [str(a) for a in body.get("carrier_accounts") or []]
        shp = ShipmentRecord(
            self._new_id(), address_view(body["address_from"], object_id=self._new_id(), at=now),
            address_view(body["address_to"], object_id=self._new_id(), at=now),
            [parcel_view(p, object_id=self._new_id(), at=now) for p in parcels],
            sum(float(p["weight"]) * KG_PER[p["mass_unit"]] for p in parcels), str(body.get("metadata") or ""),
            bool((body.get("extra") or {}).get("is_return")), requested, now)
        shp.messages = [{"source": "Shippo", "code": "", "text": f"Carrier account {a} was not found or is not active."}
                        for a in requested if a not in self.accounts]
        self.shipments[shp.object_id] = shp
        distance_zone = zone(shp.origin["state"], shp.destination["state"])
        rates = []
        for carrier in (self.accounts[a] for a in requested or self.accounts if a in self.accounts):
            for service in carrier.services:
                amount = price(service, weight_kg=shp.weight_kg, zone_number=distance_zone)
                rate = RateRecord(self._new_id(), shp.object_id, carrier, service,
                                  SERVICE_TOKENS.get(service.code, service.code), amount, distance_zone, now)
                self.rates[rate.object_id] = rate
                shp.rate_ids.append(rate.object_id)
                rates.append(rate)
        return shp, rates

    def shipment(self, shipment_id: str) -> ShipmentRecord:
        if shipment_id not in self.shipments:
            raise ShippoError(404, {"detail": "Not found."})
        return self.shipments[shipment_id]

    def rate(self, rate_id: str, *, field_name: str | None = None) -> RateRecord:
        if rate_id not in self.rates:
            if field_name:
                raise field_error(400, field_name, f"Rate with object_id '{rate_id}' does not exist.")
            raise ShippoError(404, {"detail": "Not found."})
        return self.rates[rate_id]

    def rate_view(self, rate: RateRecord) -> dict:
        """GET /rates/{id}: the rate as its shipment lists it (attributes included)."""
        shp = self.shipments[rate.shipment_id]
        view = shipment_view(shp, [self.rates[r] for r in shp.rate_ids])
        return next(r for r in view["rates"] if r["object_id"] == rate.object_id)

    @staticmethod
    def service_levels(carrier: Carrier) -> list[dict]:
        return [{"name": s.name, "token": SERVICE_TOKENS.get(s.code, s.code), "supports_return_labels": True}
                for s in carrier.services]
