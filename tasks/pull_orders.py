"""Reception: pull new and updated orders from one storefront channel."""
from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NONE

from domain.cancellations import cancelled_in_store
from domain.orders import order_id, unchanged_orders, validate_orders
from tasks.collector import collector_paused
from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit
from tasks.resources import resources
from warehouse.cancellations import cancel_orders
from warehouse.orders import insert_pulled, known_skus, payload_text, stored_payloads
from warehouse.reference import advance_cursor, read_cursor


CHUNK = 5_000  # records validated and stored per transaction


def batched(records: Iterable, size: int) -> Iterator[tuple]:
    it = iter(records)
    while chunk := tuple(itertools.islice(it, size)):
        yield chunk


def pull_window(cursor: datetime | None, *, as_of: datetime, overlap: timedelta, lookback: timedelta) -> datetime:
    """Re-read `overlap` before the cursor: storefronts index updates late and out of order."""
    return (cursor - overlap) if cursor is not None else (as_of - lookback)


def pull_and_store(channel: str, *, since: datetime, until: datetime, move_cursor: bool) -> dict[str, int]:
    """Pull [since, until) from the channel, validate, store, CHUNK records per transaction so a
    peak day's window never sits in memory whole; the cursor (if moved) commits with the last
    chunk, so nothing is lost (a crash re-reads the window) and nothing doubled (upserts).
    Orders stored already and pulled again unchanged but for their update time (after our own
    fulfilment push) are counted `unchanged` and neither validated nor written again."""
    res = resources()
    with res.engine.begin() as conn:
        skus = known_skus(conn)
    counts: Counter[str] = Counter()
    too_late: list[str] = []
    with collector_paused():
        pages = res.storefront(channel).pull_orders(since=since, until=until)
        chunks = batched(itertools.chain.from_iterable(pages), CHUNK)
        for chunk in itertools.chain(chunks, [()]):       # the empty last chunk moves the cursor
            chunk_counts, cancelled_too_late = store_chunk(chunk, channel=channel, skus=skus, until=until,
                                                           move_cursor=move_cursor and not chunk)
            counts.update(chunk_counts)
            too_late += cancelled_too_late
    counts = {"pulled": counts.pop("pulled", 0), **counts}
    if too_late:  # the parcel is packed: ops must intercept it or arrange a return
        emit("cumplido.order.cancelled_too_late", resource=f"cumplido.channel.{channel}",
             payload={"orders": too_late[:50]})
    emit("cumplido.orders.pulled", resource=f"cumplido.channel.{channel}", payload=counts)
    if counts.get("quarantined"):
        emit("cumplido.orders.quarantined", resource=f"cumplido.channel.{channel}",
             payload={"quarantined": counts["quarantined"]})
    return counts


def store_chunk(chunk: tuple, *, channel: str, skus: set[str], until: datetime,
                move_cursor: bool) -> tuple[dict[str, int], list[str]]:
    """Validate and store one chunk, written in one transaction (with the cursor, if it moves);
    orders stored already that came back unchanged but for their update time are left as they
    are (their cancellations still count). Returns the counts and the orders cancelled in the
    store too late to stop."""
    res = resources()
    with res.engine.begin() as conn:
        stored = stored_payloads(conn, [key for record in chunk if (key := order_id(record))])
    unchanged = unchanged_orders(chunk, stored=stored)
    fresh = [record for record in chunk if order_id(record) not in unchanged]
    validated = validate_orders(fresh, world=res.world, known_skus=skus, ingested_at=until, as_text=payload_text)
    with res.engine.begin() as conn:
        counts = insert_pulled(conn, validated, flow_run_id=current_flow_run_id(), at=until)
        cancelled = cancel_orders(conn, cancelled_in_store(chunk), at=until, flow_run_id=current_flow_run_id())
        if move_cursor:
            advance_cursor(conn, channel=channel, stream="orders", to=until, now=until)
    counts.update(pulled=len(chunk), unchanged=len(unchanged), cancelled=len(cancelled.stop))
    return counts, cancelled.too_late["order_id"].tolist()


@task(task_run_name="pull-orders {channel}", cache_policy=NONE, **TRANSIENT_RETRIES)
def pull_orders(channel: str, as_of: datetime) -> dict[str, int]:
    res = resources()
    with res.engine.begin() as conn:
        cursor = read_cursor(conn, channel=channel, stream="orders")
    since = pull_window(cursor, as_of=as_of, overlap=timedelta(minutes=res.settings.pull_overlap_minutes),
                        lookback=timedelta(days=res.settings.initial_lookback_days))
    return pull_and_store(channel, since=since, until=as_of, move_cursor=True)


@task(task_run_name="backfill-orders {channel}", cache_policy=NONE, **TRANSIENT_RETRIES)
def backfill_orders(channel: str, since: datetime, until: datetime) -> dict[str, int]:
    """Re-read a past window (e.g. after a storefront outage); the cursor is left alone."""
    return pull_and_store(channel, since=since, until=until, move_cursor=False)
