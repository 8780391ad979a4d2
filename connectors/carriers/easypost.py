"""EasyPost (API v2) as Cumplido's carrier account: rates from the world's carrier accounts,
labels that can be found again by our reference, refunds (EasyPost's void) and tracking
mapped onto the canonical states. Auth is HTTP Basic with the API key as the user name.

EasyPost takes no idempotency key, so our reference travels as the Shipment's `reference`
and is looked up before anything is created:
- find_label: `GET /v2/shipments/{reference}` (a reference "may be used in place of id",
  docs.easypost.com/docs/shipments); a 404 means no shipment ever carried it: 1 request.
  EasyPost does not promise references are unique, so when that answer is not a live label,
  the purchased shipments created within DUPLICATE_WINDOW of it are listed (`purchased=true`,
  `start_datetime`/`end_datetime`, `page_size=100`, paged with `before_id` while `has_more`)
  and matched on reference: 1 + ceil(n/100) requests for n labels bought in that window, paid
  only after a quote was left unbought (a crash between quote and purchase) or a refund.
- quote reuses the unbought shipment that already holds the reference (fresh rates from
  `POST /v2/shipments/{id}/rerate`), so such a crash leaves one shipment, not two to choose
  from; a reference that holds a live label is refused.
- buy_label: EasyPost refuses a second purchase of a shipment (a 4xx, 422 in the sandbox);
  we look the shipment up and return the label it already holds.
EasyPost publishes no rate-limit headers; its index endpoints allow 5 requests a second
(docs.easypost.com/guides/rate-limiting-guide), so list pages are paced below that, and
429/5xx are retried by ApiClient honouring Retry-After."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

import requests

from config.world import Carrier
from connectors.carriers.easypost_parse import (
    OUNCES_PER_KG, SERVICES, address_from, easypost_error_message, is_live_label, iso, label_from,
    parse_easypost_webhook, same_parcel, shipment_payload, tracking_update, tracking_update_from_event,
    verify_easypost_webhook, when,
)
from connectors.carriers.one_by_one import OneByOne
from connectors.errors import PermanentApiError
from connectors.http import ApiClient
from domain.records import Label, ParcelRequest, Rate, TrackingUpdate

__all__ = ["EasyPostCarrier", "parse_easypost_webhook", "tracking_update_from_event", "verify_easypost_webhook"]
log = logging.getLogger(__name__)
DUPLICATE_WINDOW = timedelta(days=1)   # our duplicates come from retries within a run, not weeks apart
INDEX_INTERVAL = 0.2                   # seconds between list requests: EasyPost allows 5/s
PAGE_SIZE = 100                        # EasyPost's maximum page size
REFUNDED = frozenset({"submitted", "refunded"})
REFUSED = frozenset({400, 422})        # how EasyPost turns down a purchase or refund already made


def _path(*parts: str) -> str:
    return "/v2/" + "/".join(quote(p, safe="") for p in parts)


class EasyPostCarrier(OneByOne):  # batch methods: one parcel at a time
    name = "easypost"

    def __init__(self, *, api_base: str, carriers: Sequence[Carrier], api_key: str, timeout: float = 20,
                 max_retries: int = 4, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic):
        self._api = ApiClient("easypost", api_base, auth=(api_key, ""), timeout=timeout, max_retries=max_retries,
                              error_message=easypost_error_message, sleep=sleep)
        self._sleep, self._monotonic = sleep, monotonic
        self._production = api_key.startswith("EZAK")   # EasyPost keys: EZAK… production, EZTK… test
        self._accounts = {c.carrier_id: c for c in carriers}
        # (carrier account, EasyPost carrier, EasyPost service) -> our service
        self._services = {(c.carrier_id, *SERVICES[s.code]): s for c in carriers for s in c.services
                          if s.code in SERVICES}
        self._quoted: dict[str, tuple[str, str]] = {}    # rate id -> (shipment id, reference)
        self._last_index: float | None = None
        self.paced = 0                                   # waits taken to stay under the index limit

    @property
    def session(self) -> requests.Session:
        return self._api.session

    def quote(self, parcel: ParcelRequest) -> list[Rate]:
        """Every mapped service of every configured carrier account, cheapest first."""
        shipment = self._shipment_for(parcel)
        raw_rates = shipment.get("rates") or []
        rates = [rate for raw in raw_rates if (rate := self._rate(raw)) is not None]
        if len(rates) < len(raw_rates):
            log.debug("%d EasyPost rates of services outside the world file skipped", len(raw_rates) - len(rates))
        if not rates:
            problems = "; ".join(f"{m.get('carrier')}: {m.get('message')}" for m in shipment.get("messages") or [])
            raise PermanentApiError("easypost", f"no rates for parcel {parcel.reference}: "
                                    f"{problems or 'no configured carrier service answered'}")
        self._quoted.update((r.rate_id, (shipment["id"], parcel.reference)) for r in rates)
        return sorted(rates, key=lambda r: (r.amount, r.transit_days))

    def find_label(self, reference: str) -> Label | None:
        """The live label bought under our reference; a refunded one counts as none."""
        shipment = self._by_reference(reference)
        if shipment is not None and not is_live_label(shipment, reference):
            shipment = self._scan_purchased(reference, around=when(shipment["created_at"]))
        return self._label(shipment, reference) if shipment is not None else None

    def buy_label(self, *, rate: Rate, reference: str) -> Label:
        """Buy a quoted rate; if EasyPost refuses because that shipment is bought already, its label."""
        shipment_id, quoted_for = self._quoted.get(rate.rate_id) or \
            (self._api.json("GET", _path("rates", rate.rate_id))["shipment_id"], reference)
        if quoted_for != reference:
            raise ValueError(f"rate {rate.rate_id} was quoted for {quoted_for!r}, not {reference!r}")
        try:
            shipment = self._api.json("POST", _path("shipments", shipment_id, "buy"),
                                      json={"rate": {"id": rate.rate_id}})
        except PermanentApiError as exc:
            return self._already_bought(shipment_id, reference, exc)
        if shipment.get("reference") != reference:
            raise ValueError(f"shipment {shipment_id} carries reference {shipment.get('reference')!r}, "
                             f"not {reference!r}")
        return self._label(shipment, reference)

    def track(self, label: Label | str) -> TrackingUpdate:
        """The tracker of a bought shipment: `GET /v2/trackers/{id}` when the label carries its
        tracker, else the one embedded in `GET /v2/shipments/{id}` (label_ref is the shipment id)."""
        tracker_id = (label.raw.get("tracker") or {}).get("id") if isinstance(label, Label) else None
        if tracker_id:
            return tracking_update(self._api.json("GET", _path("trackers", tracker_id)))
        shipment_id = label.label_ref if isinstance(label, Label) else label
        tracker = self._api.json("GET", _path("shipments", shipment_id)).get("tracker")
        if not tracker:
            raise PermanentApiError("easypost", f"shipment {shipment_id} has no tracker: no label was bought for it")
        return tracking_update(tracker)

    def create_return_label(self, *, outbound_label_ref: str, reference: str) -> Label:
        """A return shipment (`is_return: true`, the outbound's addresses, which EasyPost swaps)
        with the outbound's carrier account, bought at its cheapest rate; idempotent on reference."""
        existing = self.find_label(reference)
        if existing is not None:
            return existing
        outbound = self._api.json("GET", _path("shipments", outbound_label_ref))
        account = self._accounts.get((outbound.get("selected_rate") or {}).get("carrier_account_id"))
        if not outbound.get("postage_label") or account is None:
            raise PermanentApiError("easypost", f"shipment {outbound_label_ref} holds no label of a configured "
                                    "carrier account, so there is nothing to return")
        parcel = ParcelRequest(reference=reference, ship_from=address_from(outbound["to_address"]),
                               ship_to=address_from(outbound["from_address"]), is_return=True,
                               weight_kg=float(outbound["parcel"]["weight"]) / OUNCES_PER_KG)
        cheapest = next((r for r in self.quote(parcel) if r.carrier == account.code), None)
        if cheapest is None:
            raise PermanentApiError("easypost", f"{account.name} offers no return rate for {outbound_label_ref}")
        return self.buy_label(rate=cheapest, reference=reference)

    def void_label(self, label: Label | str) -> bool:
        """EasyPost's void is a refund request (`POST /v2/shipments/{id}/refund`). True once the
        refund is submitted (now or by an earlier call); False when EasyPost rejects it because
        the carrier has already scanned the parcel."""
        shipment_id = label.label_ref if isinstance(label, Label) else label
        try:
            shipment = self._api.json("POST", _path("shipments", shipment_id, "refund"))
        except PermanentApiError as exc:   # refused: maybe because an earlier call already refunded it
            if exc.status not in REFUSED:
                raise
            shipment = self._api.json("GET", _path("shipments", shipment_id))
            if shipment.get("refund_status") not in REFUNDED:
                raise exc from None
        return shipment.get("refund_status") in REFUNDED

    def check(self) -> str:
        self._index({"page_size": 1})   # any key, test or production, may list its shipments
        unmapped = sorted(s.code for c in self._accounts.values() for s in c.services if s.code not in SERVICES)
        if unmapped:
            raise PermanentApiError("easypost", f"service(s) {', '.join(unmapped)} have no EasyPost equivalent: "
                                    "add them to connectors/carriers/easypost_parse.SERVICES or drop them from "
                                    "the world file")
        if not self._production:
            return (f"easypost: test API key accepted at {self._api.base_url}; {len(self._accounts)} carrier "
                    "account(s) not verified (EasyPost lists carrier accounts to production keys only)")
        connected = {a["id"]: a.get("readable") or a.get("type", a["id"])
                     for a in self._api.json("GET", "/v2/carrier_accounts")}
        missing = sorted(set(self._accounts) - set(connected))
        if missing:
            raise PermanentApiError("easypost", f"carrier account(s) {', '.join(missing)} are not on this EasyPost "
                                    "account: add them in EasyPost or fix `carriers` in the world file")
        names = ", ".join(connected[c] for c in self._accounts)
        return f"easypost: {len(self._accounts)} carrier account(s) connected ({names}) at {self._api.base_url}"

    def close(self) -> None:
        self._api.close()

    # ---- helpers ----

    def _shipment_for(self, parcel: ParcelRequest) -> dict:
        body = shipment_payload(parcel, carrier_accounts=list(self._accounts))
        existing = self._by_reference(parcel.reference)
        if existing is None or existing.get("refund_status") in REFUNDED:
            return self._api.json("POST", "/v2/shipments", json={"shipment": body})
        if existing.get("postage_label"):
            raise PermanentApiError("easypost", f"reference {parcel.reference} already has label {existing['id']}; "
                                    "find_label returns it")
        if not same_parcel(existing, body):
            raise PermanentApiError("easypost", f"reference {parcel.reference} was quoted as shipment {existing['id']} "
                                    "for another parcel or address, and EasyPost shipments cannot be edited")
        rerated = self._api.json("POST", _path("shipments", existing["id"], "rerate"))
        return {**existing, "rates": rerated.get("rates") or []}

    def _by_reference(self, reference: str) -> dict | None:
        return self._api.json_or_none(_path("shipments", reference))

    def _scan_purchased(self, reference: str, *, around: datetime) -> dict | None:
        params: dict = {"purchased": "true", "page_size": PAGE_SIZE, "start_datetime": iso(around - DUPLICATE_WINDOW),
                        "end_datetime": iso(around + DUPLICATE_WINDOW)}
        while True:
            page = self._index(params)
            shipments = page.get("shipments") or []
            match = next((s for s in shipments if is_live_label(s, reference)), None)
            if match is not None or not shipments or not page.get("has_more"):
                return match
            params["before_id"] = shipments[-1]["id"]

    def _index(self, params: dict) -> dict:
        """GET /v2/shipments, never faster than EasyPost's index limit."""
        if self._last_index is not None:
            wait = INDEX_INTERVAL - (self._monotonic() - self._last_index)
            if wait > 0:
                self.paced += 1
                self._sleep(wait)
        try:
            return self._api.json("GET", "/v2/shipments", params=params)
        finally:
            self._last_index = self._monotonic()

    def _already_bought(self, shipment_id: str, reference: str, exc: PermanentApiError) -> Label:
        if exc.status in REFUSED:
            shipment = self._api.json("GET", _path("shipments", shipment_id))
            if is_live_label(shipment, reference):
                return self._label(shipment, reference)
        raise exc

    def _rate(self, raw: dict) -> Rate | None:
        service = self._services.get((raw.get("carrier_account_id"), raw.get("carrier"), raw.get("service")))
        if service is None:
            return None
        days = raw.get("delivery_days") or raw.get("est_delivery_days") or service.transit_days
        return Rate(rate_id=raw["id"], carrier=self._accounts[raw["carrier_account_id"]].code, service=service.code,
                    amount=round(float(raw["rate"]), 2), currency=str(raw.get("currency") or "USD").upper(),
                    transit_days=int(days))

    def _label(self, shipment: dict, reference: str) -> Label:
        rate = shipment.get("selected_rate") or {}
        account = self._accounts.get(rate.get("carrier_account_id"))
        service = self._services.get((rate.get("carrier_account_id"), rate.get("carrier"), rate.get("service")))
        return label_from(shipment, reference=reference,
                          carrier=account.code if account else str(rate.get("carrier", "")).lower(),
                          service=service.code if service else str(rate.get("service", "")))
