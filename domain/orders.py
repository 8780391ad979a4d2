"""Reception: turn pulled storefront orders into validated order and order-line rows."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd

from config.world import World
from domain import states
from domain.frames import FLOAT, INT, TEXT, TIME, conform
from domain.order_checks import order_problems
from domain.records import ChannelOrder, Malformed

ORDER_COLUMNS = {
    "order_id": TEXT, "channel": TEXT, "external_id": TEXT, "order_number": TEXT,
    "placed_at": TIME, "source_updated_at": TIME, "customer_name": TEXT, "customer_email": TEXT,
    "ship_to_line1": TEXT, "ship_to_city": TEXT, "ship_to_region": TEXT,
    "ship_to_postal_code": TEXT, "ship_to_country": TEXT, "shipping_method": TEXT,
    "currency": TEXT, "total_amount": FLOAT, "payment_ref": TEXT, "status": TEXT,
    "hold_reason": TEXT, "status_at": TIME, "warehouse_id": TEXT, "promised_by": TIME,
    "ingested_at": TIME,
}
PAYLOAD_COLUMNS = {"order_id": TEXT, "raw": TEXT}
LINE_COLUMNS = {
    "order_id": TEXT, "line_no": INT, "external_line_id": TEXT, "sku": TEXT,
    "quantity": INT, "unit_price": FLOAT, "weight_kg": FLOAT,
}
QUARANTINE_COLUMNS = {"source": TEXT, "stream": TEXT, "external_id": TEXT, "reason": TEXT, "raw": TEXT}


@dataclass(frozen=True)
class ValidatedOrders:
    orders: pd.DataFrame       # exactly the columns of warehouse.schema.orders
    lines: pd.DataFrame        # exactly the columns of warehouse.schema.order_lines
    quarantined: pd.DataFrame  # source, stream, external_id, reason, raw (JSON text)
    payloads: pd.DataFrame     # order_id, raw (JSON text): warehouse.schema.order_payloads


def validate_orders(
    pulled: Sequence[ChannelOrder | Malformed], *, world: World, known_skus: set[str], ingested_at: datetime,
    as_text: Callable[[Any], str] | None = None,
) -> ValidatedOrders:
    """Valid orders become rows with status 'new'; every other record goes to quarantine with
    all its reasons joined by '; ' (missing ship-to, no lines, unknown or missing SKU,
    quantity <= 0, unknown shipping method, bad currency, negative total, ...).

    - order_id = f"{channel}:{external_id}"; a payload row's raw = JSON of the record's raw
      payload, written by `as_text` (default `to_json`; the task passes the warehouse's faster
      encoder).
    - duplicates of one (channel, external_id) in the batch keep the latest updated_at
      (then the later one in the batch); only that version is validated.
    - promised_by = placed_at + world.sla[shipping_method].deliver_within_days.
    - status_at = ingested_at; hold_reason and warehouse_id are None.
    - customer_name falls back to the ship-to name; an order with neither, or without an
      email, is quarantined (both columns are NOT NULL and the email gets the notifications).
    - quarantine rows: source = channel (or Malformed.source), stream 'orders' (or
      Malformed.stream); one row per (source, stream, external_id), the last one wins.
    """
    as_text = as_text or to_json
    orders, lines, parked, payloads = [], [], [], []
    for record in _latest_versions(pulled):
        if isinstance(record, Malformed):
            parked.append(_parked(record.source, record.stream, record.external_id, [record.reason],
                                  as_text(record.raw)))
            continue
        reasons = order_problems(record, world=world, known_skus=known_skus)
        if reasons:
            parked.append(_parked(record.channel, "orders", record.external_id, reasons, as_text(record.raw)))
            continue
        orders.append(_order_row(record, world=world, ingested_at=ingested_at))
        payloads.append((order_id(record), as_text(record.raw)))
        lines.extend(_line_rows(record))
    quarantined = pd.DataFrame(parked, columns=list(QUARANTINE_COLUMNS))
    quarantined = quarantined.drop_duplicates(["source", "stream", "external_id"], keep="last")
    return ValidatedOrders(
        orders=conform(pd.DataFrame(orders, columns=list(ORDER_COLUMNS)), ORDER_COLUMNS),
        lines=conform(pd.DataFrame(lines, columns=list(LINE_COLUMNS)), LINE_COLUMNS),
        quarantined=conform(quarantined, QUARANTINE_COLUMNS),
        payloads=conform(pd.DataFrame(payloads, columns=list(PAYLOAD_COLUMNS)), PAYLOAD_COLUMNS),
    )


def order_id(record: ChannelOrder | Malformed) -> str | None:
    """The warehouse's key of a pulled order (None for a record that could not be read)."""
    return f"{record.channel}:{record.external_id}" if isinstance(record, ChannelOrder) else None


def unchanged_orders(pulled: Sequence[ChannelOrder | Malformed], *, stored: Mapping[str, Any]) -> set[str]:
    """order_ids of the pulled orders (their latest version in the batch) that the warehouse
    already holds exactly as pulled but for the time of the update: the store touched the order
    without changing what we read (our own fulfilment push does that to every order it ships).
    Storing them again would only move source_updated_at and the raw payload's update time.
    A cancellation, a refund, a return or any edit changes the payload, so such an order is never
    in the set. stored: order_id -> the raw payload it was stored with (parsed JSON)."""
    return {key for record in _latest_versions(pulled)
            if (key := order_id(record)) in stored and _touched_only(record, stored[key])}


def _touched_only(order: ChannelOrder, before: Any) -> bool:
    """The payload equals `before` but for top-level values giving the update time (Shopify's
    updatedAt, WooCommerce's date_modified_gmt...): text that reads as order.updated_at."""
    now = order.raw
    if not isinstance(now, dict) or not isinstance(before, dict) or now.keys() != before.keys():
        return False
    return all(value == before[key] or (isinstance(before[key], str) and _reads_as(value, order.updated_at))
               for key, value in now.items())


def _reads_as(value: Any, moment: datetime | None) -> bool:
    if not isinstance(value, str) or not isinstance(moment, datetime):
        return False
    try:
        return naive_utc(datetime.fromisoformat(value)) == naive_utc(moment)
    except ValueError:
        return False


def _latest_versions(pulled: Sequence[ChannelOrder | Malformed]) -> list[ChannelOrder | Malformed]:
    latest: dict[tuple[str, str], ChannelOrder] = {}
    others: list[Malformed] = []
    for record in pulled:
        if isinstance(record, Malformed):
            others.append(record)
            continue
        key = (record.channel, record.external_id)
        kept = latest.get(key)
        if kept is None or _not_before(record.updated_at, kept.updated_at):
            latest[key] = record
    return [*others, *latest.values()]


def _not_before(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return b is None or a is not None
    return naive_utc(a) >= naive_utc(b)


def _order_row(order: ChannelOrder, *, world: World, ingested_at: datetime) -> dict[str, Any]:
    ship_to, placed_at = order.ship_to, naive_utc(order.placed_at)
    return {
        "order_id": order_id(order),
        "channel": order.channel,
        "external_id": order.external_id,
        "order_number": order.order_number or order.external_id,
        "placed_at": placed_at,
        "source_updated_at": naive_utc(order.updated_at or order.placed_at),
        "customer_name": order.customer_name or ship_to.name,
        "customer_email": order.customer_email,
        "ship_to_line1": ship_to.line1,
        "ship_to_city": ship_to.city,
        "ship_to_region": ship_to.region,
        "ship_to_postal_code": ship_to.postal_code,
        "ship_to_country": ship_to.country,
        "shipping_method": order.shipping_method,
        "currency": order.currency,
        "total_amount": round(order.total_amount, 2),
        "payment_ref": order.payment_ref or None,
        "status": states.NEW,
        "hold_reason": None,
        "status_at": ingested_at,
        "warehouse_id": None,
        "promised_by": placed_at + timedelta(days=world.sla[order.shipping_method].deliver_within_days),
        "ingested_at": ingested_at,
    }


def _line_rows(order: ChannelOrder) -> list[dict[str, Any]]:
    key = order_id(order)
    return [
        {
            "order_id": key,
            "line_no": no,
            "external_line_id": line.external_line_id or str(no),
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price": round(line.unit_price, 2),
            "weight_kg": line.weight_kg,
        }
        for no, line in enumerate(order.lines, start=1)
    ]


def _parked(source: str, stream: str, external_id: str, reasons: list[str], raw: str) -> dict[str, str]:
    return {"source": source, "stream": stream, "external_id": str(external_id or ""),
            "reason": "; ".join(reasons), "raw": raw}


def to_json(raw: Any) -> str:
    """The raw payload as JSON text, whatever the vendor sent (dates and oddities as strings)."""
    return json.dumps(raw, default=str, ensure_ascii=False)


def naive_utc(at: datetime) -> datetime:
    """Naive UTC, the only kind of timestamp stored (an aware one is converted, not relabelled)."""
    if at.tzinfo is None:
        return at
    if at.tzinfo is timezone.utc:           # the usual case: relabelling is converting
        return at.replace(tzinfo=None)
    return at.astimezone(timezone.utc).replace(tzinfo=None)
