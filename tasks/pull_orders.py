"""Reception: pull new and updated orders from one storefront channel."""
from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NONE

from domain.cancellations import cancelled_in_store
from domain.orders import validate_orders
from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit
from tasks.resources import resources
from warehouse.cancellations import cancel_orders
from warehouse.orders import insert_pulled, known_skus
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
    chunk, so nothing is lost (a crash re-reads the window) and nothing doubled (upserts)."""
    res = resources()
    with res.engine.begin() as conn:
        skus = known_skus(conn)
    counts: Counter[str] = Counter()
    too_late: list[str] = []
    pages = res.storefront(channel).pull_orders(since=since, until=until)
    chunks = batched(itertools.chain.from_iterable(pages), CHUNK)
    for chunk in itertools.chain(chunks, [()]):       # the empty last chunk moves the cursor
        validated = validate_orders(list(chunk), world=res.world, known_skus=skus, ingested_at=until)
        with res.engine.begin() as conn:
            counts.update(insert_pulled(conn, validated, flow_run_id=current_flow_run_id(), at=until))
            cancelled = cancel_orders(conn, cancelled_in_store(chunk), at=until, flow_run_id=current_flow_run_id())
            if move_cursor and not chunk:
                advance_cursor(conn, channel=channel, stream="orders", to=until, now=until)
        counts.update(pulled=len(chunk), cancelled=len(cancelled.stop))
        too_late += cancelled.too_late["order_id"].tolist()
    counts = {"pulled": counts.pop("pulled", 0), **counts}
    if too_late:  # the parcel is packed: ops must intercept it or arrange a return
        emit("cumplido.order.cancelled_too_late", resource=f"cumplido.channel.{channel}",
             payload={"orders": too_late[:50]})
    emit("cumplido.orders.pulled", resource=f"cumplido.channel.{channel}", payload=counts)
    if counts.get("quarantined"):
        emit("cumplido.orders.quarantined", resource=f"cumplido.channel.{channel}",
             payload={"quarantined": counts["quarantined"]})
    return counts


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
