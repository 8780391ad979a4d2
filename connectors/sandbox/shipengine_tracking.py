"""What happens to a parcel after its label is bought, decided from (seed, label) so a re-run of
the demo sees the same journeys; /track shows the part of the journey the simulated clock has
reached. A label's journey is decided the first time anyone looks past its first hour
(PlannedJourney): a peak day's labels are bought and listed long before they are tracked."""
from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timedelta, timezone

from connectors.sandbox.shipengine_rates import miles_between

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
HUBS = (("Memphis", "TN", "38118"), ("Louisville", "KY", "40209"), ("Indianapolis", "IN", "46241"),
        ("Chicago", "IL", "60666"), ("Dallas", "TX", "75261"), ("Denver", "CO", "80249"),
        ("Atlanta", "GA", "30354"), ("Phoenix", "AZ", "85034"))
STATUS_DESCRIPTIONS = {"UN": "Unknown", "AC": "Accepted", "IT": "In Transit", "DE": "Delivered",
                       "EX": "Exception", "AT": "Delivery Attempt", "NY": "Not Yet In System",
                       "SP": "Delivered To Collection Location"}
# detail code -> (status code, the carrier's own code as it would appear in its feed)
DETAILS = {
    "SHIPMENT_CREATED": ("AC", "MP"), "PICKED_UP": ("IT", "P"), "DROPPED_OFF": ("IT", "DP"),
    "HUB_SCAN_IN": ("IT", "I"), "OUT_FOR_DELIVERY": ("IT", "OF"), "DELIVERED": ("DE", "D"),
    "ADDRESS_QUERY": ("EX", "X"), "RETURN_TO_SENDER": ("EX", "RS"),
}
UPS_SERVICE_DIGITS = {"ups_next_day_air": "01", "ups_2nd_day_air": "02", "ups_ground": "03"}
TRACKING_URLS = {"usps": "https://tools.usps.com/go/TrackConfirmAction.action?tLabels={}",
                 "ups": "https://www.ups.com/track?tracknum={}",
                 "fedex": "https://www.fedex.com/fedextrack/?trknbr={}"}


@dataclass(frozen=True)
class Place:
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class Scan:
    at: datetime
    detail_code: str
    description: str
    place: Place

    @property
    def status_code(self) -> str:
        return DETAILS[self.detail_code][0]


@dataclass(frozen=True)
class Journey:
    scans: tuple[Scan, ...]        # oldest first
    estimated_delivery: datetime
    late: bool = False
    exception: bool = False

    def seen_by(self, now: datetime, *, voided_at: datetime | None = None) -> list[Scan]:
        cutoff = now if voided_at is None else min(now, voided_at)
        return [s for s in self.scans if s.at <= cutoff]

    def delivered_at(self, now: datetime) -> datetime | None:
        return next((s.at for s in self.seen_by(now) if s.detail_code == "DELIVERED"), None)


class PlannedJourney:
    """A Journey decided only when first needed. In its first QUIET hour a parcel has nothing but
    its label-created scan (`first`): every journey below leaves at least that long between it and
    the next scan (a pickup or drop-off two or more hours on; out for delivery at least an hour
    after the pickup minus five hours, the attempt being four or more after it). So what the
    clock shows then needs nothing decided; anything later, or the journey's other facts, decide
    it (`decide`, the same calls on the same (seed, label) random stream, so the same journey)."""

    QUIET = HOUR

    def __init__(self, decide: Callable[[], Journey], *, first: Scan):
        self._decide, self.first = decide, first

    @cached_property
    def decided(self) -> Journey:
        return self._decide()

    def seen_by(self, now: datetime, *, voided_at: datetime | None = None) -> list[Scan]:
        cutoff = now if voided_at is None else min(now, voided_at)
        if cutoff < self.first.at + self.QUIET:
            return [self.first] if self.first.at <= cutoff else []
        return self.decided.seen_by(now, voided_at=voided_at)

    def delivered_at(self, now: datetime) -> datetime | None:
        return None if now < self.first.at + self.QUIET else self.decided.delivered_at(now)

    @property
    def scans(self) -> tuple[Scan, ...]:
        return self.decided.scans

    @property
    def estimated_delivery(self) -> datetime:
        return self.decided.estimated_delivery

    @property
    def late(self) -> bool:
        return self.decided.late

    @property
    def exception(self) -> bool:
        return self.decided.exception


def label_created(at: datetime, *, carrier: str, place: Place, is_return: bool = False) -> Scan:
    """A journey's first scan: the label exists, the carrier awaits the parcel."""
    kind = "Return label" if is_return else "Shipping label"
    return Scan(at, "SHIPMENT_CREATED", f"{kind} created, {carrier.upper()} awaiting item", place)


def journey_rng(seed: int, label_id: str) -> random.Random:
    return random.Random(f"{seed}:{label_id}")  # str seeds hash stably across runs


def outbound_journey(rng: random.Random, *, purchased_at: datetime, transit_days: int, origin: Place,
                     destination: Place, carrier: str, late_share: float, exception_share: float) -> Journey:
    late, exception = rng.random() < late_share, rng.random() < exception_share
    pickup = purchased_at + HOUR * rng.uniform(2, 8)
    due = purchased_at + DAY * transit_days
    attempt = _daytime(rng, due + DAY * (rng.randint(1, 3) if late else 0))
    while attempt < pickup + 4 * HOUR:
        attempt += DAY
    scans = [label_created(purchased_at, carrier=carrier, place=origin),
             Scan(pickup, "PICKED_UP", f"Picked up by {carrier.upper()}", origin),
             *_hub_scans(rng, pickup, attempt, origin)]
    scans += _last_mile(rng, attempt, destination, exception=exception)
    return Journey(tuple(scans), estimated_delivery=due, late=late, exception=exception)


def return_journey(rng: random.Random, *, issued_at: datetime, customer: Place, warehouse: Place,
                   carrier: str) -> Journey:
    """The customer drops the parcel 0-2 days after the label is issued; it is back 2-4 days later."""
    drop = issued_at + HOUR + DAY * rng.uniform(0, 2)
    arrival = _daytime(rng, drop + DAY * rng.randint(2, 4))
    scans = [label_created(issued_at, carrier=carrier, place=customer, is_return=True),
             Scan(drop, "DROPPED_OFF", f"Dropped off at {carrier.upper()} location", customer),
             *_hub_scans(rng, drop, arrival, customer),
             *_last_mile(rng, arrival, warehouse, exception=False)]
    return Journey(tuple(scans), estimated_delivery=arrival)


def _daytime(rng: random.Random, day: datetime) -> datetime:
    return day.replace(hour=rng.randint(10, 18), minute=rng.randint(0, 59), second=0, microsecond=0)


def _hub_scans(rng: random.Random, start: datetime, attempt: datetime, origin: Place) -> list[Scan]:
    """One facility scan a day between the first carrier scan and the morning of delivery, at
    hubs met in order of distance from the origin (a plausible route, not a zig-zag)."""
    moments, moment = [], start + DAY + HOUR * rng.uniform(-3, 3)
    while moment < attempt - 8 * HOUR:
        moments.append(moment)
        moment += DAY + HOUR * rng.uniform(-3, 3)
    hubs = sorted(rng.sample(HUBS, min(len(moments), len(HUBS))),
                  key=lambda hub: miles_between(origin.state, hub[1]) or 0.0)
    return [Scan(at, "HUB_SCAN_IN", "Arrived at carrier facility", Place(*hubs[min(i, len(hubs) - 1)]))
            for i, at in enumerate(moments)]


def _last_mile(rng: random.Random, attempt: datetime, destination: Place, *, exception: bool) -> list[Scan]:
    out = Scan(attempt - HOUR * rng.uniform(2, 5), "OUT_FOR_DELIVERY", "Out for delivery", destination)
    if not exception:
        return [out, Scan(attempt, "DELIVERED", "Delivered, front door/porch", destination)]
    failed = Scan(attempt, "ADDRESS_QUERY", "Delivery attempted - address issue", destination)
    retry = _daytime(rng, attempt + DAY)
    if rng.random() < 0.6:  # the address gets sorted out and the carrier tries again next day
        return [out, failed, Scan(retry - 3 * HOUR, "OUT_FOR_DELIVERY", "Out for delivery", destination),
                Scan(retry, "DELIVERED", "Delivered, left with recipient", destination)]
    return [out, failed, Scan(retry, "RETURN_TO_SENDER", "Returned to sender - undeliverable address", destination)]


def tracking_number(rng: random.Random, carrier: str, service: str) -> str:
    """Numbers shaped like each carrier's, check digit included, so a human reading them can tell."""
    if carrier == "usps":
        body = "94001" + "".join(rng.choices(string.digits, k=16))
        return body + _mod10(body, odd_weight=3)
    if carrier == "ups":
        body = "".join(rng.choices(string.ascii_uppercase + string.digits, k=6)) + \
               UPS_SERVICE_DIGITS.get(service, "03") + "".join(rng.choices(string.digits, k=7))
        return "1Z" + body + _ups_check(body)
    return "".join(rng.choices(string.digits, k=12))


def tracking_url(carrier: str, number: str) -> str:
    return TRACKING_URLS.get(carrier, "https://www.shipengine.com/tracking/?tn={}").format(number)


def _mod10(digits: str, *, odd_weight: int) -> str:
    """USPS IMpb: from the right, weights odd_weight, 1, odd_weight, ..."""
    total = sum(int(d) * (odd_weight if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _ups_check(body: str) -> str:
    values = [int(c) if c.isdigit() else (ord(c) - ord("A") + 2) % 10 for c in body]
    total = sum(v * (2 if i % 2 else 1) for i, v in enumerate(values))
    return str((10 - total % 10) % 10)


def tracking_view(scans: list[Scan], *, number: str, carrier: str, journey: Journey, shipped: datetime) -> dict:
    """GET /v1/labels/{id}/track: the latest scan sets the status; events newest first."""
    latest = scans[-1] if scans else None
    view = {
        "tracking_number": number, "tracking_url": tracking_url(carrier, number),
        "status_code": latest.status_code if latest else "UN",
        "status_description": STATUS_DESCRIPTIONS[latest.status_code if latest else "UN"],
        "carrier_code": carrier, "ship_date": iso(shipped),
        "estimated_delivery_date": iso(journey.estimated_delivery),
        "carrier_status_code": DETAILS[latest.detail_code][1] if latest else "UN",
        "carrier_status_description": latest.description if latest else "No tracking information yet",
        "events": [_event(s) for s in reversed(scans)],
    }
    if latest:
        view.update(status_detail_code=latest.detail_code, status_detail_description=latest.description,
                    carrier_detail_code=DETAILS[latest.detail_code][1])
        if latest.status_code == "DE":
            view["actual_delivery_date"] = iso(latest.at)
        if latest.status_code == "EX":
            view["exception_description"] = latest.description
    return view


def _event(scan: Scan) -> dict:
    status, carrier_code = DETAILS[scan.detail_code]
    return {"occurred_at": iso(scan.at), "carrier_occurred_at": iso(scan.at),
            "city_locality": scan.place.city, "state_province": scan.place.state,
            "postal_code": scan.place.postal_code, "country_code": "US", "company_name": "", "signer": "",
            "event_code": carrier_code, "carrier_detail_code": carrier_code, "status_code": status,
            "status_detail_code": scan.detail_code, "status_description": STATUS_DESCRIPTIONS[status],
            "status_detail_description": scan.description, "carrier_status_code": carrier_code,
            "carrier_status_description": scan.description}


def iso(moment: datetime) -> str:
    """ShipEngine's timestamps: UTC, milliseconds, Z."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"     # strftime took twice as long
