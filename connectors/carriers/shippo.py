"""Shippo as Cumplido's carrier account: rates from the world's carrier accounts, labels found
again by our reference, tracking on the canonical states, scan-based return labels, refunds.

Shippo has no idempotency key; our reference travels as the transaction's `metadata`:
- `buy_label` sends a purchase once per attempt (no blind repeat) and, after a 5xx, timeout or
  cut-short answer, asks `GET /transactions?rate=` whether it went through before paying again.
- `find_label` can match metadata only by listing `GET /transactions` (newest first, 100 a page,
  no metadata filter in the spec). The first look-up in a process reads every page once (labels
  / 100 calls, on Shippo's tightest limit, GET lists: 50/min live, 10/min test); the index it
  keeps (metadata -> transaction ids) then needs only the pages newer than what it has read,
  usually one call. Candidates are re-read with one cheap GET (4000/min): refunds change them.
- `track(label_ref)` needs carrier and number: from the Label, else from the transaction and its
  rate (two single GETs, remembered for the process)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from urllib.parse import quote

import requests

from config.world import Carrier
from connectors.carriers.shippo_parse import (
    ADDRESS_FIELDS, API_VERSION, GONE_FOR_GOOD, LABEL_FILE_TYPE, LIVE, PARCEL_FIELDS, PENDING,
    address_body, copy_fields, messages_text, metadata_key, next_params, parcel_body, service_code,
    shippo_error_message, tracking_update,
)
from connectors.carriers.one_by_one import OneByOne
from connectors.errors import PermanentApiError, TransientApiError
from connectors.http import ApiClient
from domain.records import Label, ParcelRequest, Rate, TrackingUpdate

log = logging.getLogger(__name__)
PAGE_SIZE = 100              # the spec's maximum `results`
REFUND_STATES = ("REFUNDED", "REFUNDPENDING", "REFUNDREJECTED")
SETTLE_POLLS, SETTLE_WAIT = 5, 2.0   # a purchase Shippo still reports QUEUED despite async=false


class ShippoCarrier(OneByOne):  # batch methods: one parcel at a time
    name = "shippo"

    def __init__(self, *, api_base: str, carriers: Sequence[Carrier], api_token: str, timeout: float = 20,
                 max_retries: int = 4, sleep: Callable[[float], None] = time.sleep):
        headers = {"Authorization": f"ShippoToken {api_token}", "SHIPPO-API-VERSION": API_VERSION}
        options = {"headers": headers, "timeout": timeout, "error_message": shippo_error_message, "sleep": sleep}
        self._api = ApiClient("shippo", api_base, max_retries=max_retries, **options)
        self._once = ApiClient("shippo", api_base, max_retries=0, **options)   # purchases: see _purchase
        self._once.session.close()
        self._once.session = self._api.session
        self._sleep, self._max_retries = sleep, max_retries
        self._codes = {c.carrier_id: c.code for c in carriers}       # Shippo carrier_account -> our carrier
        self._transit = {(c.carrier_id, s.code): s.transit_days for c in carriers for s in c.services}
        self._candidates: dict[str, dict[str, str]] = {}   # metadata -> {transaction id: object_created}
        self._seen: set[str] = set()                       # transaction ids the index has read
        self._indexed_all = False                          # a full pass over the list has completed
        self._located: dict[str, tuple[str, str]] = {}     # label_ref -> (carrier, tracking number)

    @property
    def session(self) -> requests.Session:
        return self._api.session

    def quote(self, parcel: ParcelRequest) -> list[Rate]:
        """Every service of every configured carrier account, cheapest first. A return parcel is
        sent the outbound way round with extra.is_return: Shippo swaps the addresses itself."""
        origin, destination = (parcel.ship_to, parcel.ship_from) if parcel.is_return else \
            (parcel.ship_from, parcel.ship_to)
        body = {"address_from": address_body(origin), "address_to": address_body(destination),
                "parcels": [parcel_body(parcel.weight_kg)], "carrier_accounts": list(self._codes),
                "metadata": metadata_key(parcel.reference), "async": False}
        if parcel.is_return:
            body["extra"] = {"is_return": True}
        return self._rates(self._api.json("POST", "/shipments", json=body), parcel.reference)

    def find_label(self, reference: str) -> Label | None:
        """The live label bought under our reference; a refunded one counts as none."""
        key, checked = metadata_key(reference), set()
        for refresh in (False, True):
            if refresh:
                self._refresh_index()
            candidates = self._candidates.get(key, {})
            for tid in sorted(candidates, key=candidates.get, reverse=True):   # newest first
                if tid not in checked:
                    checked.add(tid)
                    raw = self._get("transactions", tid)
                    if raw.get("status") in LIVE:
                        return self._label_from(raw, reference)
                    if raw.get("status") in PENDING:
                        raise TransientApiError("shippo", f"the label for {reference} is still {raw['status']} "
                                                "at Shippo; the next run will look again")
                    if raw.get("status") in GONE_FOR_GOOD:
                        candidates.pop(tid, None)
        return None

    def buy_label(self, *, rate: Rate, reference: str) -> Label:
        key = metadata_key(reference)
        body = {"rate": rate.rate_id, "label_file_type": LABEL_FILE_TYPE, "metadata": key, "async": False}
        raw = self._settle(self._purchase(body, rate_id=rate.rate_id, key=key))
        if raw.get("status") not in LIVE:
            raise PermanentApiError("shippo", f"label purchase for {reference} failed ({raw.get('status')}): "
                                    f"{messages_text(raw.get('messages'))}")
        self._candidates.setdefault(key, {})[raw["object_id"]] = raw.get("object_created", "")
        self._located[raw["object_id"]] = (rate.carrier, raw.get("tracking_number", ""))
        return Label(label_ref=raw["object_id"], reference=reference, carrier=rate.carrier, service=rate.service,
                     tracking_number=raw.get("tracking_number", ""), amount=rate.amount, currency=rate.currency,
                     label_url=raw.get("label_url", ""), raw=raw)

    def track(self, label: Label | str) -> TrackingUpdate:
        if isinstance(label, Label):
            carrier, number = label.carrier, label.tracking_number
        else:
            carrier, number = self._locate(label)
        return tracking_update(self._get("tracks", carrier, number))

    def create_return_label(self, *, outbound_label_ref: str, reference: str) -> Label:
        """A scan-based return label (charged only when used) with the outbound carrier, the only
        one Shippo allows, on the outbound shipment's addresses and parcels; the cheapest service."""
        existing = self.find_label(reference)
        if existing is not None:
            return existing
        rate = self._rate_of(self._get("transactions", outbound_label_ref))
        shipment = self._get("shipments", rate["shipment"])
        body = {"address_from": copy_fields(shipment["address_from"], ADDRESS_FIELDS),
                "address_to": copy_fields(shipment["address_to"], ADDRESS_FIELDS),
                "parcels": [copy_fields(p, PARCEL_FIELDS) for p in shipment["parcels"]],
                "carrier_accounts": [rate["carrier_account"]], "extra": {"is_return": True},
                "metadata": metadata_key(reference), "async": False}
        rates = self._rates(self._api.json("POST", "/shipments", json=body), reference)
        return self.buy_label(rate=rates[0], reference=reference)

    def void_label(self, label_ref: str) -> str:
        """Ask Shippo to refund an unused label; returns the refund (or transaction) status. A
        second call for the same label asks nothing more."""
        status = self._get("transactions", label_ref).get("status")
        if status in REFUND_STATES:
            return status
        try:
            refund = self._api.json("POST", "/refunds", json={"transaction": label_ref, "async": False})
        except PermanentApiError as exc:   # an earlier request, its answer lost, may have got there first
            status = self._get("transactions", label_ref).get("status") if exc.status == 400 else None
            if status in REFUND_STATES:
                return status
            raise
        return refund.get("status", "QUEUED")

    def check(self) -> str:
        accounts, params = {}, {"results": PAGE_SIZE}
        while params:
            page = self._api.json("GET", "/carrier_accounts", params=params)
            accounts.update((a["object_id"], a) for a in page.get("results") or [])
            params = next_params(page)
        missing = sorted(c for c in self._codes if not accounts.get(c, {}).get("active"))
        if missing:
            raise PermanentApiError("shippo", f"carrier account(s) {', '.join(missing)} are not connected and active "
                                    "in this Shippo account: connect them or fix carrier_id in the world file")
        names = ", ".join(accounts[c].get("carrier_name") or accounts[c]["carrier"].upper() for c in self._codes)
        return f"shippo: {len(self._codes)} carrier account(s) connected ({names}) at {self._api.base_url}"

    def close(self) -> None:
        self._api.close()

    # ---- helpers ----

    def _get(self, *parts: str) -> dict:
        return self._api.json("GET", "/" + "/".join(quote(part, safe="") for part in parts))

    def _rates(self, shipment: dict, reference: str) -> list[Rate]:
        raws = [r for r in shipment.get("rates") or [] if r.get("carrier_account") in self._codes]
        if not raws:
            raise PermanentApiError("shippo", f"no rates for parcel {reference}: "
                                    f"{messages_text(shipment.get('messages'))}")
        rates = [Rate(rate_id=r["object_id"], carrier=self._codes[r["carrier_account"]], service=service_code(r),
                      amount=round(float(r["amount"]), 2), currency=r["currency"].upper(),
                      transit_days=r.get("estimated_days")
                      or self._transit.get((r["carrier_account"], service_code(r)), 0))
                 for r in raws]
        return sorted(rates, key=lambda r: (r.amount, r.transit_days))

    def _purchase(self, body: dict, *, rate_id: str, key: str) -> dict:
        """POST /transactions once per attempt: after a 5xx or a timeout the label may have been
        bought, so look for it (by rate, then our metadata) before paying again."""
        for attempt in range(self._max_retries + 1):
            try:
                return self._once.json("POST", "/transactions", json=body)
            except TransientApiError:
                page = self._api.json("GET", "/transactions", params={"rate": rate_id, "results": PAGE_SIZE})
                bought = [t for t in page.get("results") or []
                          if t.get("metadata") == key and t.get("status") not in GONE_FOR_GOOD]
                if bought:
                    return bought[0]
                if attempt == self._max_retries:
                    raise
                self._sleep(min(30.0, 0.5 * 2 ** attempt))
        raise AssertionError("unreachable")

    def _settle(self, raw: dict) -> dict:
        for _ in range(SETTLE_POLLS):
            if raw.get("status") not in PENDING:
                return raw
            self._sleep(SETTLE_WAIT)
            raw = self._get("transactions", raw["object_id"])
        raise TransientApiError("shippo", f"label {raw['object_id']} is still {raw.get('status')} at Shippo; "
                                "find_label will pick it up on the next run")

    def _refresh_index(self) -> None:
        """Read /transactions newest first into the index, stopping at the first transaction a
        completed pass has already read. Merged only when the pass ends, so a pass cut short by
        an error leaves no gap behind."""
        found: dict[str, dict[str, str]] = {}
        seen: set[str] = set()
        params: dict | None = {"results": PAGE_SIZE}
        while params:
            page = self._api.json("GET", "/transactions", params=params)
            for raw in page.get("results") or []:
                tid = raw.get("object_id")
                if self._indexed_all and tid in self._seen:
                    params = None
                    break
                if tid in seen or tid is None:
                    continue   # the same transaction again on the next page: the list moved while we read
                seen.add(tid)
                if raw.get("metadata") and raw.get("status") not in GONE_FOR_GOOD:
                    found.setdefault(raw["metadata"], {})[tid] = raw.get("object_created", "")
            else:
                params = next_params(page)
        for key, ids in found.items():
            self._candidates.setdefault(key, {}).update(ids)
        self._seen |= seen
        self._indexed_all = True
        log.debug("shippo transaction index: %d new transactions read", len(seen))

    def _rate_of(self, transaction: dict) -> dict:
        rate = transaction.get("rate")
        return rate if isinstance(rate, dict) else self._get("rates", str(rate))

    def _locate(self, label_ref: str) -> tuple[str, str]:
        if label_ref not in self._located:
            raw = self._get("transactions", label_ref)
            if not raw.get("tracking_number"):
                raise PermanentApiError("shippo", f"label {label_ref} has no tracking number "
                                        f"(status {raw.get('status')}): {messages_text(raw.get('messages'))}")
            self._located[label_ref] = (self._carrier_of(self._rate_of(raw)), raw["tracking_number"])
        return self._located[label_ref]

    def _carrier_of(self, rate: dict) -> str:
        return self._codes.get(rate.get("carrier_account")) or str(rate.get("provider", "")).lower()

    def _label_from(self, raw: dict, reference: str) -> Label:
        rate = self._rate_of(raw)
        carrier = self._carrier_of(rate)
        self._located[raw["object_id"]] = (carrier, raw.get("tracking_number", ""))
        return Label(label_ref=raw["object_id"], reference=reference, carrier=carrier,
                     service=service_code(rate), tracking_number=raw.get("tracking_number", ""),
                     amount=round(float(rate.get("amount") or 0), 2), currency=str(rate.get("currency", "USD")).upper(),
                     label_url=raw.get("label_url", ""), raw=raw)
