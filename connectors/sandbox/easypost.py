"""A local EasyPost (API v2) fronting the world's carrier accounts: shipments with their rates,
purchase, rerate, refund (EasyPost's void), trackers that unfold on the simulated clock, the
shipment index with `has_more` / `before_id` paging, and HTTP Basic auth with the API key as
the user name.

Like EasyPost it keeps no idempotency keys: a shipment's `reference` may be used in place of
its id (the most recent shipment with that reference answers), a shipment is bought once
(422 afterwards) and nothing stops two shipments from carrying one reference."""
from __future__ import annotations

import base64
import json
import random
import threading
from datetime import datetime

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from config.world import World
from connectors.sandbox.clock import SimClock
from connectors.sandbox.easypost_objects import (
    EASYPOST_SERVICES, EasyPostError, LabelRecord, RateRecord, ShipmentRecord, address_view, carrier_account_view,
    fault_body, index_filters, invalid, parcel_view, rate_view, required_address, shipment_view,
)
from connectors.sandbox.easypost_tracking import journey_for, public_url, signed_event, tracker_view
from connectors.sandbox.faults import Faults, with_faults
from connectors.sandbox.shipengine_rates import WEIGHT_TO_KG, price, zone
from connectors.sandbox.shipengine_tracking import journey_rng, tracking_number

SANDBOX_API_KEY = "EZTK_sandbox"   # config.settings' default key, so the demo needs no setup
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 100
NOT_FOUND = "The requested resource could not be found."
ROUTES = Map([
    Rule("/v2/carrier_accounts", endpoint="carrier_accounts", methods=["GET"]),
    Rule("/v2/shipments", endpoint="create_shipment", methods=["POST"]),
    Rule("/v2/shipments", endpoint="list_shipments", methods=["GET"]),
    Rule("/v2/shipments/<path:key>", endpoint="get_shipment", methods=["GET"]),
    Rule("/v2/shipments/<key>/buy", endpoint="buy", methods=["POST"]),
    Rule("/v2/shipments/<key>/rerate", endpoint="rerate", methods=["POST"]),
    Rule("/v2/shipments/<key>/refund", endpoint="refund", methods=["POST"]),
    Rule("/v2/rates/<rate_id>", endpoint="get_rate", methods=["GET"]),
    Rule("/v2/trackers/<tracker_id>", endpoint="get_tracker", methods=["GET"]),
])


class EasyPostSandbox:
    def __init__(self, *, clock: SimClock, world: World, seed: int, late_share: float = 0.12,
                 exception_share: float = 0.04, api_key: str = SANDBOX_API_KEY, faults: Faults | None = None,
                 repeat_page_edges: bool = False):
        self.clock, self.seed, self.api_key = clock, seed, api_key
        self.late_share, self.exception_share = late_share, exception_share
        self.repeat_page_edges = repeat_page_edges   # fault knob: each next page repeats the previous page's last
        self.mode = "production" if api_key.startswith("EZAK") else "test"
        self.faults = faults or Faults(seed=seed)    # tune in place: the middleware holds this object
        self._accounts = {c.carrier_id: c for c in world.carriers}
        self._opened = clock.now()
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._shipments: dict[str, ShipmentRecord] = {}   # creation order
        self._order: dict[str, int] = {}
        self._by_reference: dict[str, str] = {}           # reference -> most recent shipment
        self._rates: dict[str, RateRecord] = {}
        self._trackers: dict[str, str] = {}
        self._by_tracking: dict[str, str] = {}
        self._purchases: list[str] = []
        self.wsgi_app = with_faults(self._app, self.faults, error_body=fault_body)

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    # ---- ground truth (Python only, no HTTP) ----

    def delivered_at(self, tracking_number: str) -> datetime | None:
        """When the parcel was delivered, if it has been by the clock's now (never, once refunded)."""
        with self._lock:
            shp = self._shipments.get(self._by_tracking.get(tracking_number, ""))
            if shp is None or shp.refund_status(self.clock.now()) in ("submitted", "refunded"):
                return None
            return shp.label.journey.delivered_at(self.clock.now())

    def labels(self) -> list[dict]:
        """Every shipment ever bought (refunded ones too), in purchase order, as GET returns it."""
        with self._lock:
            return [self._view(self._shipments[i]) for i in self._purchases]

    def tracker_event(self, tracking_number: str, *, secret: str) -> tuple[bytes, dict[str, str]]:
        """The signed `tracker.updated` webhook EasyPost would send for this parcel now."""
        with self._lock:
            shp = self._shipments[self._by_tracking[tracking_number]]
            return signed_event(tracker_view(shp, now=self.clock.now()), secret=secret,
                                event_id=self._new_id("evt"), now=self.clock.now())

    # ---- HTTP ----

    def _app(self, environ, start_response):
        request = Request(environ)
        try:
            self._authenticate(request)
            endpoint, args = ROUTES.bind_to_environ(environ).match()
            request.get_data()   # the body off the socket (cached) before the lock: a slow sender holds up no one
            with self._lock:
                status, body = getattr(self, f"_{endpoint}")(request, **args)
        except HTTPException:
            status, body = 404, EasyPostError(404, "NOT_FOUND", NOT_FOUND).body
        except EasyPostError as exc:
            status, body = exc.status, exc.body
        return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")(
            environ, start_response)

    def _authenticate(self, request: Request) -> None:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            user = base64.b64decode(encoded).decode().partition(":")[0] if scheme.lower() == "basic" else ""
        except ValueError:
            user = ""
        if user != self.api_key:
            raise EasyPostError(401, "APIKEY.INACTIVE", "This api key is no longer active. Please use a different "
                                                        "api key or reactivate this key.")

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{self._rng.getrandbits(128):032x}"

    def _resolve(self, key: str) -> ShipmentRecord:
        shp = self._shipments.get(key) or self._shipments.get(self._by_reference.get(key, ""))
        if shp is None:
            raise EasyPostError(404, "NOT_FOUND", NOT_FOUND)
        return shp

    def _view(self, shp: ShipmentRecord) -> dict:
        now = self.clock.now()
        return shipment_view(shp, rates=[self._rates[r] for r in shp.rate_ids], now=now,
                             tracker=tracker_view(shp, now=now) if shp.label else None)

    # ---- endpoints ----

    def _carrier_accounts(self, request: Request) -> tuple[int, list]:
        return 200, [carrier_account_view(c, created_at=self._opened) for c in self._accounts.values()]

    def _create_shipment(self, request: Request) -> tuple[int, dict]:
        raw = (request.get_json(silent=True) or {}).get("shipment")
        if not isinstance(raw, dict) or not raw:
            raise EasyPostError(422, "PARAMETER.REQUIRED", "Missing required parameter.",
                                errors=[{"field": "shipment", "message": "cannot be blank"}])
        to_address, from_address = (self._address(raw.get(k), f"shipment.{k}") for k in ("to_address", "from_address"))
        try:   # ounces, as a number or a numeric string
            weight = float((raw.get("parcel") or {}).get("weight") or 0)
        except (TypeError, ValueError):
            weight = 0.0
        if weight <= 0:
            raise invalid("shipment.parcel.weight", "must be greater than 0")
        is_return, now = bool(raw.get("is_return")), self.clock.now()
        if is_return:   # EasyPost takes the outbound's addresses and swaps them for the return
            to_address, from_address = from_address, to_address
        shp = ShipmentRecord(self._new_id("shp"), raw.get("reference"), to_address, from_address,
                             parcel_view(self._new_id("prcl"), weight, at=now, mode=self.mode),
                             is_return, now, self.mode, now)
        self._shipments[shp.id], self._order[shp.id] = shp, len(self._order)
        if shp.reference:
            self._by_reference[shp.reference] = shp.id
        shp.carrier_accounts = [a["id"] if isinstance(a, dict) else a for a in raw.get("carrier_accounts") or []]
        shp.messages = self._rate(shp)
        return 201, self._view(shp)

    def _list_shipments(self, request: Request) -> tuple[int, dict]:
        """Newest first; `purchased` (default true), `start_datetime`/`end_datetime` on created_at,
        `before_id`/`after_id`, `page_size` (20 by default, 100 at most)."""
        args = request.args
        size, bought, start, end = index_filters(args, max_page_size=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE)
        before = self._order[self._resolve(args["before_id"]).id] if "before_id" in args else len(self._order)
        after = self._order[self._resolve(args["after_id"]).id] if "after_id" in args else -1
        matching = [s for s in reversed(self._shipments.values())
                    if (s.label is not None) == bought and after < self._order[s.id] < before
                    and (start is None or s.created_at >= start) and (end is None or s.created_at < end)]
        page = matching[:size]
        if self.repeat_page_edges and "before_id" in args:
            page = [self._resolve(args["before_id"]), *page]
        return 200, {"shipments": [self._view(s) for s in page], "has_more": len(matching) > size}

    def _get_shipment(self, request: Request, key: str) -> tuple[int, dict]:
        return 200, self._view(self._resolve(key))

    def _buy(self, request: Request, key: str) -> tuple[int, dict]:
        shp = self._resolve(key)
        if shp.label is not None:
            raise EasyPostError(422, "SHIPMENT.POSTAGE.EXISTS", f"Postage already exists for shipment {shp.id}.")
        rate_id = ((request.get_json(silent=True) or {}).get("rate") or {}).get("id")
        if rate_id not in self._rates or self._rates[rate_id].shipment_id != shp.id:   # rerated ones still count
            raise invalid("rate.id", f"{rate_id} is not a rate of {shp.id}")
        rate, now = self._rates[rate_id], self.clock.now()
        rng = journey_rng(self.seed, shp.id)
        journey = journey_for(shp, rate, rng, now=now, late_share=self.late_share,
                              exception_share=self.exception_share)
        number, tracker_id = tracking_number(rng, rate.carrier.code, rate.service.code), self._new_id("trk")
        shp.label = LabelRecord(self._new_id("pl"), tracker_id, number, now, journey, public_url(tracker_id))
        shp.selected_rate, shp.updated_at = rate, now
        self._trackers[tracker_id], self._by_tracking[shp.label.tracking_code] = shp.id, shp.id
        self._purchases.append(shp.id)
        return 200, self._view(shp)

    def _rerate(self, request: Request, key: str) -> tuple[int, dict]:
        shp = self._resolve(key)
        self._rate(shp)
        return 200, {"rates": [rate_view(self._rates[r], mode=shp.mode) for r in shp.rate_ids]}

    def _refund(self, request: Request, key: str) -> tuple[int, dict]:
        """Granted while the carrier has not scanned the parcel (status `submitted`, `refunded` a
        day later); `rejected` once it has. Asking again is refused."""
        shp, now = self._resolve(key), self.clock.now()
        if shp.label is None or shp.refund_requested_at is not None or shp.refund_rejected:
            raise EasyPostError(422, "SHIPMENT.REFUND.FAILURE", f"Shipment {shp.id} cannot be refunded: it has "
                                "no postage or a refund was already requested.")
        if any(s.detail_code != "SHIPMENT_CREATED" for s in shp.label.journey.seen_by(now)):
            shp.refund_rejected = True
        else:
            shp.refund_requested_at = now
        shp.updated_at = now
        return 200, self._view(shp)

    def _get_rate(self, request: Request, rate_id: str) -> tuple[int, dict]:
        if rate_id not in self._rates:
            raise EasyPostError(404, "NOT_FOUND", NOT_FOUND)
        return 200, rate_view(self._rates[rate_id], mode=self.mode)

    def _get_tracker(self, request: Request, tracker_id: str) -> tuple[int, dict]:
        if tracker_id not in self._trackers:
            raise EasyPostError(404, "NOT_FOUND", NOT_FOUND)
        return 200, tracker_view(self._shipments[self._trackers[tracker_id]], now=self.clock.now())

    # ---- state ----

    def _address(self, raw, where: str) -> dict:
        return address_view(self._new_id("adr"), required_address(raw, where), at=self.clock.now(), mode=self.mode)

    def _rate(self, shp: ShipmentRecord) -> list[dict]:
        """(Re)price every mapped service of the shipment's accounts (all when it names none);
        accounts this user does not have become messages, as carrier errors do at EasyPost."""
        ids = shp.carrier_accounts or list(self._accounts)
        weight_kg = shp.parcel["weight"] * WEIGHT_TO_KG["ounce"]
        shipment_zone, now = zone(shp.from_address["state"] or "", shp.to_address["state"] or ""), self.clock.now()
        shp.rate_ids = []
        for account in (self._accounts[i] for i in ids if i in self._accounts):
            for service in (s for s in account.services if s.code in EASYPOST_SERVICES):
                rate = RateRecord(self._new_id("rate"), shp.id, account, service,
                                  price(service, weight_kg=weight_kg, zone_number=shipment_zone), now)
                self._rates[rate.id] = rate
                shp.rate_ids.append(rate.id)
        return [{"carrier": None, "carrier_account_id": i, "type": "rate_error",
                 "message": f"carrier account {i} was not found"} for i in ids if i not in self._accounts]
