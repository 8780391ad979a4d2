"""The sandbox's `GET /v1/payments/search`: sort/criteria, range with begin_date/end_date (absolute
ISO dates or Mercado Pago's relative `NOW-30DAYS`), a few filters and limit/offset paging with
`paging.total`, worded as the API reference words its errors
(https://www.mercadopago.com.br/developers/en/reference/payments/_payments_search/get).

The search index trails the payments (`index_lag`), and two fault knobs make pages misbehave the
way offset paging over a live index does: a record repeated from the previous page
(`duplicate_share`) and records out of order within a page (`shuffle_pages`)."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.sandbox.mercadopago_objects import (
    MP_TIME, MercadoPagoError, PaymentRecord, payment_view, utc,
)

SORTS = ("date_approved", "date_created", "date_last_updated", "id", "money_release_date")
RANGES = ("date_created", "date_last_updated", "date_approved", "money_release_date")
FILTERS = ("status", "external_reference", "id")
DEFAULT_LIMIT, MAX_LIMIT = 30, 1000
RELATIVE = re.compile(r"^NOW(?:-(\d+)(DAY|DAYS|MONTH|MONTHS|HOUR|HOURS))?$")
BAD_DATE = MercadoPagoError(400, "Date format must be yyyy-MM-dd'T'HH:mm:ss.SSSZ.",
                            causes=((1001, "Date format must be yyyy-MM-dd'T'HH:mm:ss.SSSZ."),))


@dataclass
class SearchKnobs:
    index_lag: timedelta = timedelta(0)   # a payment enters the search this long after it is created
    duplicate_share: float = 0.0          # share of pages that repeat the previous page's last record
    shuffle_pages: bool = False           # records of a page come out of order


def parse_date(value: str, now: datetime) -> datetime:
    """`NOW`, `NOW-3DAYS`, `NOW-1MONTH`, or an ISO date; a date without offset is Mercado Pago's
    local time (UTC-4). A `+` sent unencoded arrives as a space and is refused, as by the API."""
    relative = RELATIVE.match(value.strip().upper())
    if relative:
        count, unit = int(relative.group(1) or 0), (relative.group(2) or "DAYS").rstrip("S")
        return utc(now) - {"DAY": timedelta(days=count), "MONTH": timedelta(days=30 * count),
                           "HOUR": timedelta(hours=count)}[unit]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BAD_DATE from None
    return moment if moment.tzinfo else moment.replace(tzinfo=MP_TIME)


def _field(rec: PaymentRecord, name: str, now: datetime):
    if name == "id":
        return rec.id
    approved = rec.approved_at(now)
    return {"date_created": rec.created, "date_approved": approved, "date_last_updated": rec.last_updated(now),
            "money_release_date": approved + timedelta(days=14) if approved else None}[name]


def _int(args, name: str, default: int) -> int:
    try:
        value = int(args.get(name, default))
    except ValueError:
        raise MercadoPagoError(400, "Params Error", causes=((1, f"Params Error: {name} must be a number"),)) from None
    if value < 0:
        raise MercadoPagoError(400, "Params Error", causes=((1, f"Params Error: {name} must be positive"),))
    return value


def _choice(args, name: str, allowed: tuple[str, ...], default: str, code: int, message: str) -> str:
    value = args.get(name, default)
    if value not in allowed:
        raise MercadoPagoError(400, message, causes=((code, message),))
    return value


def search(records: list[PaymentRecord], args, *, now: datetime, rng: random.Random, knobs: SearchKnobs) -> dict:
    sort = _choice(args, "sort", SORTS, "date_created", 1003, "Invalid sort value.")
    criteria = _choice(args, "criteria", ("asc", "desc"), "desc", 1004, "Invalid criteria value.")
    range_field = _choice(args, "range", RANGES, "date_created", 1, "Params Error")
    begin = parse_date(args.get("begin_date", "NOW-3MONTHS"), now)
    end = parse_date(args.get("end_date", "NOW"), now)
    limit, offset = _int(args, "limit", DEFAULT_LIMIT), _int(args, "offset", 0)
    if limit > MAX_LIMIT:
        raise MercadoPagoError(400, "Number of rows exceeded the limits.",
                               causes=((1000, "Number of rows exceeded the limits."),))
    indexed = [r for r in records if utc(r.created) + knobs.index_lag <= utc(now)]
    hits = [r for r in indexed if (v := _field(r, range_field, now)) is not None and begin <= utc(v) <= end
            and _matches(r, args, now)]
    hits.sort(key=lambda r: (_field(r, sort, now) or utc(r.created), r.id), reverse=criteria == "desc")
    page = hits[offset:offset + limit]
    if offset and offset <= len(hits) and rng.random() < knobs.duplicate_share:
        page = [hits[offset - 1], *page]
    if knobs.shuffle_pages:
        rng.shuffle(page)
    return {"paging": {"total": len(hits), "limit": limit, "offset": offset},
            "results": [payment_view(r, now) for r in page]}


def _matches(rec: PaymentRecord, args, now: datetime) -> bool:
    view = None
    for name in FILTERS:
        wanted = args.get(name)
        if wanted is None:
            continue
        view = view or payment_view(rec, now)
        if str(view.get(name)) != wanted:
            return False
    return True
