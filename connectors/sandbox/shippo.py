"""A local Shippo fronting the world's carrier accounts: shipments with rates, label purchases
(transactions) carrying our metadata, paged transaction lists, tracking that unfolds on the
simulated clock, scan-based return labels and label refunds.

Like Shippo, it has no idempotency key: buying a rate twice buys two labels, which is why the
client looks its reference up before buying again. Purchases and refunds answer at once, as with
`async: false` (the only way Cumplido asks); refunds settle a simulated day later. Extra fault knob: `duplicate_share`, the
share of list pages that start one record early, as when a new label lands while a client pages."""
from __future__ import annotations

import json
import random
import re
import threading
from datetime import datetime

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from config.world import World
from connectors.sandbox.clock import SimClock
from connectors.sandbox.faults import Faults, with_faults
from connectors.sandbox.shippo_objects import (
    LABEL_FILE_TYPES, RATE_MAX_AGE, RefundRecord, ShippoError, TransactionRecord, carrier_account_view, fault_body,
    field_error, page_envelope, refund_view, shipment_view, transaction_view,
)
from connectors.sandbox.shippo_shipments import ShipmentDesk
from connectors.sandbox.shippo_tracking import latest_status, track_view
from connectors.sandbox.shipengine_tracking import (
    Place, journey_rng, outbound_journey, return_journey, tracking_number, tracking_url,
)

SANDBOX_API_TOKEN = "shippo_test_sandbox"   # config.settings' default token, so the demo needs no setup
US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
ROUTES = Map([
    Rule("/carrier_accounts", endpoint="carrier_accounts", methods=["GET"]),
    Rule("/shipments", endpoint="create_shipment", methods=["POST"]),
    Rule("/shipments/<shipment_id>", endpoint="get_shipment", methods=["GET"]),
    Rule("/rates/<rate_id>", endpoint="get_rate", methods=["GET"]),
    Rule("/transactions", endpoint="list_transactions", methods=["GET"]),
    Rule("/transactions", endpoint="create_transaction", methods=["POST"]),
    Rule("/transactions/<transaction_id>", endpoint="get_transaction", methods=["GET"]),
    Rule("/tracks/<carrier>/<tracking_number>", endpoint="track", methods=["GET"]),
    Rule("/refunds", endpoint="create_refund", methods=["POST"]),
    Rule("/refunds/<refund_id>", endpoint="get_refund", methods=["GET"]),
], strict_slashes=False)   # Shippo's own examples write /shipments/ as often as /shipments


def _place(address: dict) -> Place:
    return Place(address.get("city", ""), address.get("state", ""), address.get("zip", ""))


class ShippoSandbox:
    def __init__(self, *, clock: SimClock, world: World, seed: int, late_share: float = 0.12,
                 exception_share: float = 0.04, api_token: str = SANDBOX_API_TOKEN, faults: Faults | None = None,
                 duplicate_share: float = 0.0):
        self.clock, self.seed, self.api_token = clock, seed, api_token
        self.late_share, self.exception_share, self.duplicate_share = late_share, exception_share, duplicate_share
        self.faults = faults or Faults(seed=seed)   # tune in place: the middleware holds this object
        self._lock = threading.RLock()
        self._rng = random.Random(f"shippo:{seed}")               # object ids
        self._page_rng = random.Random(f"shippo-pages:{seed}")    # which pages start early
        self._accounts = {c.carrier_id: c for c in world.carriers}
        self._desk = ShipmentDesk(self._accounts, new_id=self._new_id)
        self._transactions: dict[str, TransactionRecord] = {}
        self._by_tracking: dict[str, str] = {}
        self._refunds: dict[str, RefundRecord] = {}
        self.duplicates_served = 0                  # list pages that started one record early
        self.wsgi_app = with_faults(self._app, self.faults, error_body=fault_body)

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    # ---- ground truth (Python only, no HTTP) ----

    def delivered_at(self, tracking_number: str) -> datetime | None:
        """When the parcel was delivered, if it has been by the clock's now (refunded labels never ship)."""
        with self._lock:
            txn = self._transactions.get(self._by_tracking.get(tracking_number, ""))
            if txn is None or txn.cut_at() is not None:
                return None
            return txn.journey.delivered_at(self.clock.now())

    def labels(self) -> list[dict]:
        """Every label bought (refunded ones too; failed purchases are no label), in purchase order,
        as GET /transactions/{id} shows it plus where the parcel travels."""
        with self._lock:
            out = []
            for txn in (t for t in self._transactions.values() if t.journey is not None):
                shp = self._desk.shipments[txn.rate.shipment_id]
                out.append({**self._transaction_view(txn), "is_return": shp.is_return,
                            "ship_from": shp.origin, "ship_to": shp.destination})
            return out

    # ---- HTTP ----

    def _app(self, environ, start_response):
        request = Request(environ)
        try:
            self._authenticate(request)
            endpoint, args = ROUTES.bind_to_environ(environ).match()
            request.get_data()   # the body off the socket (cached) before the lock: a slow sender holds up no one
            with self._lock:
                status, body = getattr(self, f"_{endpoint}")(request, **args)
        except HTTPException as exc:
            status, body = exc.code or 404, {"detail": "Not found." if exc.code == 404 else exc.description}
        except ShippoError as exc:
            status, body = exc.status, exc.body
        return Response(json.dumps(body), status=status, content_type="application/json")(environ, start_response)

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization")
        if not header:
            raise ShippoError(401, {"detail": "Authentication credentials were not provided."})
        scheme, _, token = header.partition(" ")
        if scheme != "ShippoToken" or token != self.api_token:
            raise ShippoError(401, {"detail": "Invalid token."})

    def _new_id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    @staticmethod
    def _body(request: Request) -> dict:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ShippoError(400, {"detail": "JSON parse error - the body must be a JSON object."})
        return body

    def _page(self, request: Request, items: list, *, default: int, render=None) -> dict:
        shift = bool(self.duplicate_share) and request.args.get("page", "1") != "1" and \
            self._page_rng.random() < self.duplicate_share
        self.duplicates_served += shift
        body = page_envelope(request, items, default=default, shift=shift)
        return {**body, "results": [render(item) for item in body["results"]]} if render else body

    # ---- endpoints ----

    def _carrier_accounts(self, request: Request):
        levels = request.args.get("service_levels") == "true"
        views = [carrier_account_view(c, service_levels=self._desk.service_levels(c) if levels else None)
                 for c in self._accounts.values()]
        return 200, self._page(request, views, default=5)

    def _create_shipment(self, request: Request):
        shp, rates = self._desk.create(self._body(request), now=self.clock.now())
        return 201, shipment_view(shp, rates)

    def _get_shipment(self, request: Request, shipment_id: str):
        shp = self._desk.shipment(shipment_id)
        return 200, shipment_view(shp, [self._desk.rates[r] for r in shp.rate_ids])

    def _get_rate(self, request: Request, rate_id: str):
        return 200, self._desk.rate_view(self._desk.rate(rate_id))

    def _list_transactions(self, request: Request):
        now, args = self.clock.now(), request.args
        chosen = [t for t in reversed(self._transactions.values())   # newest first, as Shippo lists them
                  if args.get("rate", t.rate.object_id) == t.rate.object_id
                  and args.get("object_status", t.status(now)) == t.status(now)
                  and ("tracking_status" not in args or latest_status(self._scans(t)) == args["tracking_status"])]
        return 200, self._page(request, chosen, default=25, render=self._transaction_view)

    def _create_transaction(self, request: Request):
        body, now = self._body(request), self.clock.now()
        if not body.get("rate"):
            raise field_error(400, "rate", "This field is required.")
        rate = self._desk.rate(str(body["rate"]), field_name="rate")
        if now - rate.created_at > RATE_MAX_AGE:
            raise field_error(400, "rate", "Rate is older than 7 days and can no longer be purchased; create a "
                                           "new shipment for current rates.")
        metadata, file_type = str(body.get("metadata") or ""), str(body.get("label_file_type") or "PDF_4x6")
        if len(metadata) > 100:
            raise field_error(400, "metadata", "Ensure this field has no more than 100 characters.")
        if file_type not in LABEL_FILE_TYPES:
            raise field_error(400, "label_file_type", f'"{file_type}" is not a valid choice.')
        txn = TransactionRecord(self._new_id(), rate, metadata, file_type, now)
        self._issue(txn, request)
        self._transactions[txn.object_id] = txn
        return 201, self._transaction_view(txn)

    def _get_transaction(self, request: Request, transaction_id: str):
        return 200, self._transaction_view(self._transaction(transaction_id))

    def _track(self, request: Request, carrier: str, tracking_number: str):
        txn = self._transactions.get(self._by_tracking.get(tracking_number, ""))
        now = self.clock.now()
        if txn is None or txn.rate.carrier.code != carrier:
            return 200, track_view([], carrier=carrier, number=tracking_number, now=now)
        shp = self._desk.shipments[txn.rate.shipment_id]
        return 200, track_view(self._scans(txn), carrier=carrier, number=tracking_number, now=now,
                               journey=txn.journey, origin=shp.origin, destination=shp.destination,
                               servicelevel={"token": txn.rate.token, "name": txn.rate.service.name},
                               transaction=txn.object_id)

    def _create_refund(self, request: Request):
        txn = self._transaction(str(self._body(request).get("transaction") or ""), field_name="transaction")
        if txn.journey is None:
            raise field_error(400, "transaction", "This transaction has no label to refund.")
        if txn.refund is not None:
            raise field_error(400, "transaction", f"A refund for transaction {txn.object_id} already exists.")
        now = self.clock.now()
        used = any(s.detail_code != "SHIPMENT_CREATED" for s in txn.journey.seen_by(now))
        txn.refund = RefundRecord(self._new_id(), txn.object_id, now, rejected=used)
        self._refunds[txn.refund.object_id] = txn.refund
        return 201, refund_view(txn.refund, now=now)

    def _get_refund(self, request: Request, refund_id: str):
        if refund_id not in self._refunds:
            raise ShippoError(404, {"detail": "Not found."})
        return 200, refund_view(self._refunds[refund_id], now=self.clock.now())

    # ---- state ----

    def _transaction(self, transaction_id: str, *, field_name: str | None = None) -> TransactionRecord:
        if transaction_id not in self._transactions:
            if field_name:
                raise field_error(400, field_name, f"Transaction with object_id '{transaction_id}' does not exist.")
            raise ShippoError(404, {"detail": "Not found."})
        return self._transactions[transaction_id]

    def _issue(self, txn: TransactionRecord, request: Request) -> None:
        """The carrier prints the label, or refuses it with its own words (an address it cannot find)."""
        shp, carrier = self._desk.shipments[txn.rate.shipment_id], txn.rate.carrier
        bad = [a for a in (shp.address_from, shp.address_to) if a.get("country") == "US" and not US_ZIP.match(a["zip"])]
        if bad:
            txn.messages = [{"source": carrier.name, "code": "", "text": f"The address as submitted could not be "
                             f"found (ZIP code {bad[0]['zip']!r}). Check the ZIP code and the street address."}]
            return
        rng = journey_rng(self.seed, txn.object_id)
        txn.tracking_number = tracking_number(rng, carrier.code, txn.rate.service.code)
        txn.label_url = f"{request.host_url}labels/{txn.object_id}.pdf"
        if shp.is_return:
            txn.journey = return_journey(rng, issued_at=txn.created_at, customer=_place(shp.origin),
                                         warehouse=_place(shp.destination), carrier=carrier.code)
        else:
            txn.journey = outbound_journey(rng, purchased_at=txn.created_at, transit_days=txn.rate.service.transit_days,
                                           origin=_place(shp.origin), destination=_place(shp.destination),
                                           carrier=carrier.code, late_share=self.late_share,
                                           exception_share=self.exception_share)
        self._by_tracking[txn.tracking_number] = txn.object_id

    def _scans(self, txn: TransactionRecord):
        return txn.journey.seen_by(self.clock.now(), voided_at=txn.cut_at()) if txn.journey else []

    def _transaction_view(self, txn: TransactionRecord) -> dict:
        scans = self._scans(txn)
        url = tracking_url(txn.rate.carrier.code, txn.tracking_number) if txn.tracking_number else ""
        return transaction_view(txn, now=self.clock.now(), tracking_status=latest_status(scans), tracking_url=url)
