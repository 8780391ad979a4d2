"""ShipEngine's quoting of many parcels: one request per lane (domain.lanes).

A lane is rated with one POST /v1/rates carrying its representative inline: the lane's first
parcel at the lane's rounded-up weight, without an external_shipment_id (never a parcel's, which
stays free for the label, nor a lane's, which ShipEngine would refuse the next time the lane is
rated). Every parcel of the lane gets that lane's rates, the representative's rate_ids included:
labels are bought by service (shipengine_bulk), not by rate_id.

ShipEngine allows 200 requests a minute, so the lanes are drawn as coarse as the carrier's own
prices (origin x zone x weight band), a lane's rates are kept for QUOTE_TTL_SECONDS (the chunks
of one booking run quote the same lanes over and over; a tariff does not change within minutes),
in the process and, given a QuoteMemory, between processes (a cycle every few minutes meets the
lanes the last one quoted: a 500-order cycle has about 300 lanes, more than a minute's budget),
and QUOTES_IN_FLIGHT lanes are asked at once. A 429 or 5xx is waited out and retried by ApiClient;
one that outlasts its retries stops the quoting. A parcel the spec would refuse is answered alone,
never sent nor lent a lane's rates; a lane ShipEngine refuses to rate gives every parcel of the
lane ShipEngine's words (and is asked again next time)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cached_property

from connectors.carriers.shipengine_shipment import rating_body, shipment_body, shipment_problem
from connectors.errors import PermanentApiError
from connectors.protocols import QuoteMemory
from domain.lanes import Lane, lanes_of, representative
from domain.records import ParcelRequest, Rate

QUOTES_IN_FLIGHT = 8        # each quote is a round trip of its own, and ShipEngine answers them in parallel
QUOTE_TTL_SECONDS = 600.0


class RecentQuotes:
    """The lanes' rates quoted in the last `ttl` seconds; safe to share between threads. With a
    `memory` (the warehouse, in runs), lanes this process has not quoted are looked up there
    before anyone asks ShipEngine, and what it quotes is kept there: the next cycle, in another
    process minutes later, re-quotes only the lanes it has not seen within the ttl."""

    def __init__(self, *, ttl: float, memory: QuoteMemory | None = None, scope: str = ""):
        self._ttl, self._lock = ttl, threading.Lock()
        self._memory, self._scope = memory, scope
        self._rates: dict[Lane, tuple[float, list[Rate]]] = {}   # lane -> (when quoted, its rates)

    def known(self, lanes) -> dict[Lane, list[Rate]]:
        """The lanes' rates still fresh (the stale ones are forgotten on the way)."""
        now = time.monotonic()
        with self._lock:
            self._rates = {lane: kept for lane, kept in self._rates.items() if now - kept[0] < self._ttl}
            found = {lane: self._rates[lane][1] for lane in lanes if lane in self._rates}
        missing = {lane.reference: lane for lane in lanes if lane not in found}
        if self._memory is not None and missing:
            since = _utc_now() - timedelta(seconds=self._ttl)   # kept no longer than the ttl here, either
            recalled = self._memory.recall(self._scope, list(missing), newer_than=since)
            found.update((missing[reference], rates) for reference, rates in recalled.items())
        return found

    def keep(self, rates: dict[Lane, list[Rate]]) -> None:
        now = time.monotonic()
        with self._lock:
            self._rates.update((lane, (now, lane_rates)) for lane, lane_rates in rates.items())
        if self._memory is not None and rates:
            self._memory.remember(self._scope, {lane.reference: lane_rates for lane, lane_rates in rates.items()},
                                  at=_utc_now())


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class LaneQuotes:
    """Mixed into ShipEngineCarrier: uses its _api, _codes, _ranked, _quote_memory and _quote_scope."""

    @cached_property
    def _recent_quotes(self) -> RecentQuotes:
        return RecentQuotes(ttl=QUOTE_TTL_SECONDS, memory=self._quote_memory, scope=self._quote_scope)

    def quote_many(self, parcels: list[ParcelRequest]) -> dict[str, list[Rate] | str]:
        answers: dict[str, list[Rate] | str] = {}
        for parcel in parcels:   # a parcel the spec refuses is answered alone, never lent a lane's rates
            if problem := shipment_problem(shipment_body(parcel)):
                answers[parcel.reference] = problem
        lanes = lanes_of([p for p in parcels if p.reference not in answers])
        quoted = self._quote_lanes(lanes)
        for lane, members in lanes.items():
            answers.update(dict.fromkeys((parcel.reference for parcel in members), quoted[lane]))
        return answers

    def _quote_lanes(self, lanes: dict[Lane, list[ParcelRequest]]) -> dict[Lane, list[Rate] | str]:
        """Each lane's rates (recent ones kept) or ShipEngine's refusal. A transient failure
        raises, and the lanes not yet asked are not asked at all (map cancels them as it is read)."""
        quoted: dict[Lane, list[Rate] | str] = dict(self._recent_quotes.known(lanes))
        asking = [lane for lane in lanes if lane not in quoted]
        representatives = [representative(lane, lanes[lane]) for lane in asking]
        with ThreadPoolExecutor(max_workers=QUOTES_IN_FLIGHT, thread_name_prefix="shipengine-quotes") as pool:
            quoted.update(zip(asking, pool.map(self._quote_lane, representatives)))
        self._recent_quotes.keep({lane: quoted[lane] for lane in asking if not isinstance(quoted[lane], str)})
        return quoted

    def _quote_lane(self, parcel: ParcelRequest) -> list[Rate] | str:
        options = {"carrier_ids": list(self._codes), "is_return": parcel.is_return}
        try:
            body = self._api.json("POST", "/v1/rates", json={"rate_options": options, "shipment": rating_body(parcel)})
            return self._ranked(body.get("rate_response") or {}, parcel.reference)
        except PermanentApiError as exc:
            return exc.message
