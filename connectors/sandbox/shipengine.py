"""A local ShipEngine fronting the world's carriers: rates, labels (outbound and return),
look-up by external_shipment_id, void, and tracking that unfolds on the simulated clock; in bulk,
shipments by the hundred, bulk rates and label batches (see shipengine_batches).

A shipment is keyed by its external_shipment_id and holds at most one live (unvoided) label,
so a client that sends its own reference as that id can always find what it bought. A label is
refused for a US address whose postal code is not a ZIP code (the carrier cannot deliver it)."""
from __future__ import annotations

import itertools
import random
import re
import threading
from datetime import datetime

import orjson
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from config.world import Carrier, Service, World
from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults, with_faults
from connectors.sandbox.server import request_json
from connectors.sandbox.shipengine_batch_views import BatchRecord, RateRequest
from connectors.sandbox.shipengine_batches import BulkEndpoints
from connectors.sandbox.shipengine_objects import (
    LabelRecord, RateRecord, ShipEngineError, ShipmentRecord, address, carrier_view, envelope, fault_body,
    label_view, rate_view, shipment_view,
)
from connectors.sandbox.shipengine_rates import price, weight_in_kg, zone
from connectors.sandbox.shipengine_tracking import (
    DAY, Journey, Place, PlannedJourney, journey_rng, label_created, outbound_journey, return_journey,
    tracking_number, tracking_view,
)

SANDBOX_API_KEY = "TEST_sandbox"   # config.settings' default key, so the demo needs no setup
MAX_EXTERNAL_ID = 50               # ShipEngine truncates longer external_shipment_ids
US_ZIP = re.compile(r"\d{5}(-\d{4})?")
ROUTES = Map([
    Rule("/v1/carriers", endpoint="carriers", methods=["GET"]),
    Rule("/v1/rates", endpoint="rates", methods=["POST"]),
    Rule("/v1/rates/bulk", endpoint="bulk_rates", methods=["POST"]),
    Rule("/v1/labels", endpoint="create_label", methods=["POST"]),
    Rule("/v1/labels", endpoint="list_labels", methods=["GET"]),
    Rule("/v1/labels/rates/<rate_id>", endpoint="buy_rate", methods=["POST"]),
    Rule("/v1/labels/external_shipment_id/<path:external_id>", endpoint="label_by_external", methods=["GET"]),
    Rule("/v1/labels/<label_id>", endpoint="get_label", methods=["GET"]),
    Rule("/v1/labels/<label_id>/track", endpoint="track", methods=["GET"]),
    Rule("/v1/labels/<label_id>/void", endpoint="void", methods=["PUT"]),
    Rule("/v1/shipments", endpoint="create_shipments", methods=["POST"]),
    Rule("/v1/shipments/<shipment_id>", endpoint="get_shipment", methods=["GET"]),
    Rule("/v1/shipments/<shipment_id>/rates", endpoint="shipment_rates", methods=["GET"]),
    Rule("/v1/batches", endpoint="create_batch", methods=["POST"]),
    Rule("/v1/batches/external_batch_id/<path:external_batch_id>", endpoint="batch_by_external", methods=["GET"]),
    Rule("/v1/batches/<batch_id>", endpoint="get_batch", methods=["GET"]),
    Rule("/v1/batches/<batch_id>/process/labels", endpoint="process_batch", methods=["POST"]),
    Rule("/v1/batches/<batch_id>/errors", endpoint="batch_errors", methods=["GET"]),
])


def _place(addr: dict) -> Place:
    return Place(addr["city_locality"], addr["state_province"], addr["postal_code"])


class ShipEngineSandbox(BulkEndpoints):
    def __init__(self, *, clock: SimClock, world: World, seed: int, late_share: float = 0.12,
                 exception_share: float = 0.04, api_key: str = SANDBOX_API_KEY, faults: Faults | None = None,
                 batch_polls: int = 0):
        self.clock, self.seed, self.api_key = clock, seed, api_key
        self.late_share, self.exception_share = late_share, exception_share
        self.batch_polls = batch_polls             # GETs a processed batch reads "processing" before it completes
        self.faults = faults or Faults(seed=seed)   # tune in place: the middleware holds this object
        self._accounts = {c.carrier_id: c for c in world.carriers}
        self._ids = itertools.count(random.Random(seed).randint(10_000_000, 89_999_999))
        self._lock = threading.RLock()
        self._shipments: dict[str, ShipmentRecord] = {}
        self._by_external: dict[str, str] = {}
        self._quoted: dict[str, RateRecord] = {}
        self._labels: dict[str, LabelRecord] = {}
        self._label_ids: list[str] = []            # purchase order, for paging without a scan
        self._by_tracking: dict[str, str] = {}
        self._rate_requests: dict[str, RateRequest] = {}   # shipment_id -> its latest rating
        self._batches: dict[str, BatchRecord] = {}
        self._batch_ids_by_external: dict[str, str] = {}
        self.wsgi_app = with_faults(self._app, self.faults, error_body=fault_body)

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    # ---- ground truth (Python only, no HTTP) ----

    def delivered_at(self, tracking_number: str) -> datetime | None:
        """When the parcel was delivered, if it has been by the clock's now."""
        with self._lock:
            label = self._labels.get(self._by_tracking.get(tracking_number, ""))
            if label is None or label.voided_at is not None:
                return None
            return label.journey.delivered_at(self.clock.now())

    def labels(self) -> list[dict]:
        """Every label ever bought or created (voided ones too), in purchase order."""
        with self._lock:
            return [self._label_view(label) for label in self._labels.values()]

    # ---- HTTP ----

    def _app(self, environ, start_response):
        request = Request(environ)
        try:
            if request.headers.get("API-Key") != self.api_key:
                raise ShipEngineError(401, "The API key is invalid. Please see https://www.shipengine.com/docs/auth",
                                      code="unauthorized", type="security")
            endpoint, args = ROUTES.bind_to_environ(environ).match()
            request.get_data()   # the body off the socket (cached) before the lock: a slow sender holds up no one
            with self._lock:
                status, body = 200, getattr(self, f"_{endpoint}")(request, **args)
        except HTTPException:
            status, body = 404, envelope({"error_source": "shipengine", "error_type": "validation",
                                          "error_code": "invalid_identifier",
                                          "message": f"No resource at {request.method} {request.path}"})
        except ShipEngineError as exc:
            status, body = exc.status, exc.body
        if body is None:
            return Response(status=204)(environ, start_response)
        # orjson: a rating's answer is a few kilobytes, and the standard encoder took a quarter of its time
        return Response(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), status=status,
                        content_type="application/json")(environ, start_response)

    def _new_id(self) -> str:
        return f"se-{next(self._ids)}"

    @staticmethod
    def _body(request: Request) -> dict:
        body = request_json(request)
        if not isinstance(body, dict):
            raise ShipEngineError(400, "Body of request cannot be null.", code="request_body_required")
        return body

    # ---- endpoints ----

    def _carriers(self, request: Request) -> dict:
        return {"carriers": [carrier_view(c) for c in self._accounts.values()], **envelope()}

    def _rates(self, request: Request) -> dict:
        body = self._body(request)
        options = body.get("rate_options") or {}
        carriers = self._rating_carriers(options)
        if body.get("shipment_id"):
            shp = self._shipment(body["shipment_id"])
        else:
            shp = self._upsert_shipment(body.get("shipment"), is_return=bool(options.get("is_return")))
        rated = self._rate_shipment(shp, carriers, set(options.get("service_codes") or []))
        now = rated.created_at
        rates = [rate_view(r, ship_date=now, estimated=now + DAY * r.service.transit_days)
                 for r in map(self._quoted.get, rated.rate_ids)]
        return {**shipment_view(shp, status="pending"), "rate_response": {
            "rates": rates, "invalid_rates": [], "rate_request_id": rated.rate_request_id,
            "shipment_id": shp.shipment_id, "status": "completed", "errors": []}}

    def _buy_rate(self, request: Request, rate_id: str) -> dict:
        rate = self._quoted.get(rate_id)
        if rate is None:
            raise ShipEngineError(404, f"rate_id {rate_id} was not found", code="invalid_identifier")
        shp = self._shipments[rate.shipment_id]
        self._refuse_second_label(shp)
        self._check_deliverable(shp)
        return self._issue_label(shp, rate.carrier, rate.service, rate.amount, request)

    def _create_label(self, request: Request) -> dict:
        """POST /v1/labels: a label straight from shipment details; Cumplido uses it for return
        labels (is_return_label), because only this way carries our external_shipment_id."""
        body = self._body(request)
        raw = body.get("shipment") or {}
        carrier = self._carrier(raw.get("carrier_id"), "shipment.carrier_id")
        service = self._service(carrier, raw)
        outbound = body.get("outbound_label_id")
        if outbound is not None and outbound not in self._labels:
            raise ShipEngineError(400, f"outbound_label_id {outbound} was not found", code="invalid_identifier",
                                  field_name="outbound_label_id")
        shp = self._upsert_shipment(raw, is_return=bool(body.get("is_return_label")))
        self._check_deliverable(shp)
        amount = price(service, weight_kg=shp.weight_kg,
                       zone_number=zone(shp.ship_from["state_province"], shp.ship_to["state_province"]))
        return self._issue_label(shp, carrier, service, amount, request, rma_number=body.get("rma_number"),
                                 outbound_label_id=outbound)

    def _label_by_external(self, request: Request, external_id: str) -> dict:
        shp = self._shipments.get(self._by_external.get(external_id, ""))
        if shp is None or not shp.label_ids:
            raise ShipEngineError(404, f"No label found with external_shipment_id '{external_id}'",
                                  code="invalid_identifier")
        return self._label_view(self._labels[shp.label_ids[-1]])

    def _get_label(self, request: Request, label_id: str) -> dict:
        return self._label_view(self._label(label_id))

    def _track(self, request: Request, label_id: str) -> dict:
        label = self._label(label_id)
        scans = label.journey.seen_by(self.clock.now(), voided_at=label.voided_at)
        return tracking_view(scans, number=label.tracking_number, carrier=label.carrier.code,
                             journey=label.journey, shipped=label.created_at)

    def _void(self, request: Request, label_id: str) -> dict:
        label = self._label(label_id)
        if label.voided_at is not None:
            return {"approved": False, "message": "This label has already been voided.",
                    "reason_code": "label_already_voided"}
        if any(s.status_code != "AC" for s in label.journey.seen_by(self.clock.now())):
            return {"approved": False, "message": "The carrier has already scanned this label; it cannot be voided.",
                    "reason_code": "label_already_used"}
        label.voided_at = self.clock.now()
        return {"approved": True, "message": "Request for refund submitted.  This label has been voided."}

    def _get_shipment(self, request: Request, shipment_id: str) -> dict:
        shp = self._shipment(shipment_id)
        return shipment_view(shp, status="label_purchased" if self._live_label(shp) else "pending")

    # ---- state ----

    def _rating_carriers(self, options: dict) -> list[Carrier]:
        carriers = [self._carrier(cid, "rate_options.carrier_ids") for cid in options.get("carrier_ids") or []]
        if not carriers:
            raise ShipEngineError(400, "rate_options.carrier_ids must list at least one carrier",
                                  code="field_value_required", field_name="rate_options.carrier_ids")
        return carriers

    def _rate_shipment(self, shp: ShipmentRecord, carriers: list[Carrier], wanted: set[str]) -> RateRequest:
        """Rate every wanted service of the carriers; the shipment remembers this as its latest rating."""
        shipment_zone = zone(shp.ship_from["state_province"], shp.ship_to["state_province"])
        rate_ids = []
        for carrier in carriers:
            for service in (s for s in carrier.services if not wanted or s.code in wanted):
                rate = RateRecord(self._new_id(), shp.shipment_id, carrier, service, zone=shipment_zone,
                                  amount=price(service, weight_kg=shp.weight_kg, zone_number=shipment_zone))
                self._quoted[rate.rate_id] = rate
                rate_ids.append(rate.rate_id)
        rated = RateRequest(self._new_id(), shp.shipment_id, self.clock.now(), rate_ids)
        self._rate_requests[shp.shipment_id] = rated
        return rated

    @staticmethod
    def _service(carrier: Carrier, raw: dict) -> Service:
        service = next((s for s in carrier.services if s.code == raw.get("service_code")), None)
        if service is None:
            raise ShipEngineError(400, f"service_code {raw.get('service_code')!r} is not offered by {carrier.carrier_id}",
                                  code="invalid_field_value", field_name="shipment.service_code")
        return service

    @staticmethod
    def _check_deliverable(shp: ShipmentRecord) -> None:
        to = shp.ship_to
        if to["country_code"] == "US" and not US_ZIP.fullmatch(to["postal_code"]):
            raise ShipEngineError(400, f"Recipient address could not be verified: postal_code "
                                       f"'{to['postal_code']}' is not a US ZIP code", code="invalid_address",
                                  field_name="ship_to.postal_code")

    def _carrier(self, carrier_id: str | None, field_name: str) -> Carrier:
        if carrier_id not in self._accounts:
            raise ShipEngineError(400, f"carrier_id {carrier_id} is not connected to this account",
                                  code="invalid_identifier", field_name=field_name)
        return self._accounts[carrier_id]

    def _shipment(self, shipment_id: str) -> ShipmentRecord:
        if shipment_id not in self._shipments:
            raise ShipEngineError(404, f"shipment_id {shipment_id} was not found", code="invalid_identifier")
        return self._shipments[shipment_id]

    def _label(self, label_id: str) -> LabelRecord:
        if label_id not in self._labels:
            raise ShipEngineError(404, f"label_id {label_id} was not found", code="invalid_identifier")
        return self._labels[label_id]

    def _live_label(self, shp: ShipmentRecord) -> LabelRecord | None:
        live = [self._labels[i] for i in shp.label_ids if self._labels[i].voided_at is None]
        return live[-1] if live else None

    def _refuse_second_label(self, shp: ShipmentRecord) -> None:
        live = self._live_label(shp)
        if live is not None:
            raise ShipEngineError(400, f"Shipment {shp.shipment_id} (external_shipment_id "
                                       f"'{shp.external_shipment_id}') already has label {live.label_id}; "
                                       "void it before buying another", code="identifier_conflict",
                                  type="business_rules")

    def _shipment_details(self, raw: dict | None, *, where: str) -> tuple[dict, dict, list[dict], float]:
        """ship_to, ship_from, packages and weight of a shipment in a request, or the request's 400."""
        if not isinstance(raw, dict):
            raise ShipEngineError(400, f"{where} is required", code="field_value_required", field_name=where)
        ship_to, ship_from = address(raw.get("ship_to") or {}, where=f"{where}.ship_to"), \
            address(raw.get("ship_from") or {}, where=f"{where}.ship_from")
        packages = raw.get("packages") or []
        try:
            weight = sum(weight_in_kg(p["weight"]) for p in packages)
        except (KeyError, TypeError, ValueError):
            weight = 0.0
        if not packages or weight <= 0:
            raise ShipEngineError(400, "Every package needs a weight greater than zero", code="invalid_field_value",
                                  field_name=f"{where}.packages")
        return ship_to, ship_from, packages, weight

    def _upsert_shipment(self, raw: dict | None, *, is_return: bool, where: str = "shipment") -> ShipmentRecord:
        """A new shipment, or the one already holding this external_shipment_id re-rated with the new
        details, as long as it has no live label."""
        ship_to, ship_from, packages, weight = self._shipment_details(raw, where=where)
        external = (raw.get("external_shipment_id") or None) and raw["external_shipment_id"][:MAX_EXTERNAL_ID]
        now = self.clock.now()
        shp = self._shipments.get(self._by_external.get(external or "", ""))
        if shp is None:
            shp = ShipmentRecord(self._new_id(), external, ship_to, ship_from, [], 0.0, created_at=now, modified_at=now)
            self._shipments[shp.shipment_id] = shp
            if external:
                self._by_external[external] = shp.shipment_id
        self._refuse_second_label(shp)
        shp.ship_to, shp.ship_from, shp.weight_kg, shp.modified_at = ship_to, ship_from, weight, now
        shp.packages = [{"weight": p["weight"]} for p in packages]
        shp.is_return = is_return or bool(raw.get("is_return"))
        return shp

    def _issue_label(self, shp: ShipmentRecord, carrier: Carrier, service: Service, amount: float,
                     request: Request, *, rma_number: str | None = None, outbound_label_id: str | None = None) -> dict:
        return self._label_view(self._new_label(shp, carrier, service, amount, rma_number=rma_number,
                                                outbound_label_id=outbound_label_id,
                                                download_base=request.host_url.rstrip("/")))

    def _new_label(self, shp: ShipmentRecord, carrier: Carrier, service: Service, amount: float, *,
                   download_base: str, rma_number: str | None = None, outbound_label_id: str | None = None,
                   batch_id: str | None = None) -> LabelRecord:
        label_id, now = self._new_id(), self.clock.now()
        number = tracking_number(journey_rng(self.seed, label_id), carrier.code, service.code)

        def decide() -> Journey:   # the same stream as the tracking number's, drawn on after it
            rng = journey_rng(self.seed, label_id)
            tracking_number(rng, carrier.code, service.code)
            if shp.is_return:
                return return_journey(rng, issued_at=now, customer=_place(shp.ship_from),
                                      warehouse=_place(shp.ship_to), carrier=carrier.code)
            return outbound_journey(rng, purchased_at=now, transit_days=service.transit_days,
                                    origin=_place(shp.ship_from), destination=_place(shp.ship_to),
                                    carrier=carrier.code, late_share=self.late_share,
                                    exception_share=self.exception_share)

        first = label_created(now, carrier=carrier.code, place=_place(shp.ship_from), is_return=shp.is_return)
        label = LabelRecord(label_id, shp.shipment_id, carrier, service, amount, number, now,
                            PlannedJourney(decide, first=first),
                            download_base=download_base, is_return=shp.is_return, rma_number=rma_number,
                            outbound_label_id=outbound_label_id, batch_id=batch_id)
        self._labels[label_id], self._by_tracking[number] = label, label_id
        self._label_ids.append(label_id)
        shp.carrier_id, shp.service_code, shp.modified_at = carrier.carrier_id, service.code, now
        shp.label_ids.append(label_id)
        return label

    def _label_view(self, label: LabelRecord) -> dict:
        scans = label.journey.seen_by(self.clock.now(), voided_at=label.voided_at)
        return label_view(label, self._shipments[label.shipment_id], status_code=scans[-1].status_code if scans else "UN")
