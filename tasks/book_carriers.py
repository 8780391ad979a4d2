"""Shipping: book the cheapest carrier service that keeps the promise; intent-first labels.

A warehouse at a time, most urgent first, its parcels are quoted in one quote_many (parcels of
one lane share a quote, and a lane starts at one origin, so a lane is quoted once per run, not
once per chunk it appears in) and their services chosen (choose_rates, vectorised); then they go
to the carrier a chunk at a time while the next warehouse is priced: intent rows for exactly the
parcels being bought, buy_labels, one commit. BOOKERS chunks are in flight
at once, each in its own transaction, so that the carrier's work on one overlaps the warehouse
writes of another (chunks hold different orders and touch no stock row). A crash loses at most
the chunks in flight; their intents are what the next run looks up first (find_labels), before
it quotes anything again. The labelled parcels' units leave the shelf while booking goes on, in
one transaction for every CONSUME_EVERY orders labelled and for each warehouse once its chunks are
done (never inside a chunk's transaction: parallel chunks would queue on the same bins); what the
last of them leaves, and a crashed run's, goes in a pass at the end (consume_labelled)."""
from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE

from config.world import World
from connectors.protocols import Carrier
from domain.keys import idempotency_key
from domain.rates import choose_rates, transit_budget
from domain.records import Address, Label, ParcelRequest, Rate
from domain.waves import next_cutoff
from tasks.collector import collector_paused
from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit
from tasks.resources import resources
from warehouse.db import refresh_statistics
from warehouse.shipments import (
    ADDRESS, outbound_id, record_label_failures, record_labels, waved_without_label, write_intents,
)
from warehouse.stock import consume_labelled, consume_reservations

log = logging.getLogger(__name__)
CHUNK = 500   # parcels per round (quote, intents, one carrier batch, one commit): what a crash can leave open
BOOKERS = 3   # chunks in flight: the carrier, the warehouse and this process each busy with one
CONSUME_EVERY = 5_000   # labelled orders whose units leave the shelf together while the next chunks are booked
QUOTE_COLUMNS = ["shipment_id", "rate_id", "carrier", "service", "amount", "currency", "transit_days"]
LABEL_COLUMNS = ["idempotency_key", "carrier", "service", "rate_amount", "currency", "label_ref", "tracking_number"]
ROW_COLUMNS = ["shipment_id", "order_id", "warehouse_id", "promised_by"]


class LabelBook:
    """Labels bought and failures met during one run, committed a chunk at a time."""

    def __init__(self, engine, *, at: datetime):
        self.engine, self.at, self.flow_run_id = engine, at, current_flow_run_id()
        self.labels: list[pd.DataFrame] = []
        self.failures: list[pd.DataFrame] = []
        self.booked = self.failed = 0
        self.labelled: list[str] = []   # orders whose labels this book has committed

    def add_labels(self, rows: pd.DataFrame, labels: dict[str, Label]) -> None:
        """rows: work rows; labels: idempotency_key -> label bought for it."""
        frame = pd.DataFrame([(ref, label.carrier, label.service, label.amount, label.currency, label.label_ref,
                               label.tracking_number) for ref, label in labels.items()], columns=LABEL_COLUMNS)
        self.labels.append(rows[["shipment_id", "order_id", "idempotency_key"]].merge(frame, on="idempotency_key")
                           .drop(columns="idempotency_key"))

    def add_failures(self, rows: pd.DataFrame, errors: dict[str, str]) -> None:
        """rows: work rows; errors: idempotency_key -> the vendor's words."""
        failed = rows[rows["idempotency_key"].isin(errors)]
        self.failures.append(failed[ROW_COLUMNS].assign(error=failed["idempotency_key"].map(errors)))

    def flush(self) -> None:
        labels, failures = (pd.concat(self.labels) if self.labels else pd.DataFrame(),
                            pd.concat(self.failures) if self.failures else pd.DataFrame())
        self.labels, self.failures = [], []
        if labels.empty and failures.empty:
            return
        with self.engine.begin() as conn:
            self.booked += record_labels(conn, labels, at=self.at, flow_run_id=self.flow_run_id)
            if not failures.empty:  # a parcel refused at quoting has no intent row yet: give it one to fail
                write_intents(conn, failures, direction="outbound", now=self.at)
            self.failed += record_label_failures(conn, failures, at=self.at, flow_run_id=self.flow_run_id)
        if not labels.empty:
            self.labelled += labels["order_id"].tolist()


def label_references(shipment_ids: pd.Series) -> pd.Series:
    """The idempotency key write_intents stores for an outbound label: known before the intent
    is written, because the carrier already gets it when the parcel is quoted."""
    return shipment_ids.map(lambda shipment_id: idempotency_key("outbound-label", shipment_id))


def parcels_for(rows: pd.DataFrame, world: World) -> list[ParcelRequest]:
    origins = {w.id: Address(**w.address.model_dump()) for w in world.warehouses}
    customers = [Address(name=name, line1=line1, city=city, region=region, postal_code=postal_code, country=country)
                 for name, line1, city, region, postal_code, country in zip(*(rows[c] for c in ADDRESS))]
    return [ParcelRequest(reference=reference, ship_from=origins[warehouse], ship_to=customer, weight_kg=weight)
            for reference, warehouse, customer, weight in zip(rows["idempotency_key"], rows["warehouse_id"], customers,
                                                              rows["weight_kg"].astype(float).clip(lower=0.05))]


def warehouses_of(work: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each warehouse's parcels (a carrier batch leaves from one place), the warehouse holding the
    most urgent parcel first."""
    yield from work.groupby("warehouse_id", sort=False)


def chunks_of(parcels: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """One warehouse's parcels, CHUNK at a time."""
    for start in range(0, len(parcels), CHUNK):
        yield parcels.iloc[start:start + CHUNK]


@dataclass(frozen=True)
class Priced:
    """One warehouse's parcels quoted and their services chosen."""
    plan: pd.DataFrame                  # work rows with rate_id and meets_sla (NaN where there is no quote)
    rates: dict[str, Rate]
    parcels: dict[str, ParcelRequest]
    refusals: dict[str, str]            # reference -> the carrier's words for a parcel it would not quote


def priced(carrier: Carrier, rows: pd.DataFrame, world: World, *, as_of: datetime) -> Priced:
    """Quote the parcels (one quote_many: a lane starts at one origin, so it is still quoted once
    per run) and choose each one's service (vectorised)."""
    parcels = {parcel.reference: parcel for parcel in parcels_for(rows, world)}
    quoted = carrier.quote_many(list(parcels.values()))
    quotes, rates = quotes_frame(rows, quoted)
    chosen = choose_services(quotes, rows, world, as_of=as_of)
    plan = rows.merge(chosen[["shipment_id", "rate_id", "meets_sla"]], on="shipment_id", how="left")
    return Priced(plan, rates, parcels, {ref: answer for ref, answer in quoted.items() if isinstance(answer, str)})


def quotes_frame(rows: pd.DataFrame, quoted: dict[str, list[Rate] | str]) -> tuple[pd.DataFrame, dict[str, Rate]]:
    shipment_of = dict(zip(rows["idempotency_key"], rows["shipment_id"]))
    rates = {r.rate_id: r for answer in quoted.values() if not isinstance(answer, str) for r in answer}
    frame = pd.DataFrame([(shipment_of[ref], r.rate_id, r.carrier, r.service, r.amount, r.currency, r.transit_days)
                          for ref, answer in quoted.items() if not isinstance(answer, str) for r in answer],
                         columns=QUOTE_COLUMNS)
    return frame, rates


def shipping_budget(work: pd.DataFrame, world: World, *, as_of: datetime) -> pd.DataFrame:
    """shipment_id, max_transit_days: each parcel leaves at its warehouse's next cut-off."""
    ship_at = work["warehouse_id"].map({w.id: next_cutoff(w, as_of) for w in world.warehouses})
    return transit_budget(work.assign(ship_at=ship_at)[["shipment_id", "shipping_method", "promised_by", "ship_at"]],
                          max_transit_days={m: p.max_transit_days for m, p in world.sla.items()})


def choose_services(quotes: pd.DataFrame, work: pd.DataFrame, world: World, *, as_of: datetime) -> pd.DataFrame:
    return choose_rates(quotes, shipping_budget(work, world, as_of=as_of))


def recover_labels(carrier: Carrier, work: pd.DataFrame, book: LabelBook) -> set[str]:
    """Labels a crashed run bought but never recorded (its intent rows), found by reference."""
    intents = work[work["label_status"] == "intent"]
    found = carrier.find_labels(intents["idempotency_key"].tolist()) if not intents.empty else {}
    book.add_labels(intents, found)
    book.flush()
    return set(intents.loc[intents["idempotency_key"].isin(found), "shipment_id"])


def book_chunk(carrier: Carrier, rows: pd.DataFrame, priced: Priced, book: LabelBook, *, as_of: datetime) -> int:
    """Write intents, buy and record one chunk of a warehouse's priced parcels; returns its parcels at SLA risk."""
    rates, parcels, refusals = priced.rates, priced.parcels, priced.refusals
    book.add_failures(rows, {ref: refusals[ref] for ref in rows["idempotency_key"] if ref in refusals})
    buying = rows[rows["rate_id"].notna()]
    try:
        if not buying.empty:
            with book.engine.begin() as conn:  # the intent is durable before any money is spent
                write_intents(conn, buying, direction="outbound", now=as_of)
            bought = carrier.buy_labels([(rates[rate_id], parcels[reference]) for rate_id, reference
                                         in zip(buying["rate_id"], buying["idempotency_key"])])
            refused = {ref: answer for ref, answer in bought.items() if isinstance(answer, str)}
            book.add_labels(buying, {ref: answer for ref, answer in bought.items() if isinstance(answer, Label)})
            book.add_failures(buying, refused)
            failed = buying[buying["idempotency_key"].isin(refused)]
            for order_id, reference in zip(failed["order_id"], failed["idempotency_key"]):
                emit("cumplido.label.failed", resource=f"cumplido.order.{order_id}", payload={"error": refused[reference]})
    finally:
        book.flush()
    return int((~buying["meets_sla"].astype(bool)).sum())


def book_all(carrier: Carrier, todo: pd.DataFrame, world: World, engine, *, as_of: datetime,
             labelled: Callable[[list[str]], None]) -> dict[str, int]:
    """A warehouse at a time, most urgent first: quote its parcels and choose their services, then
    hand its chunks to BOOKERS threads, each chunk with its own LabelBook (its own commit), and
    price the next warehouse while they are booked. As the chunks finish, in order, this thread
    calls labelled(order ids) with the orders they labelled, every CONSUME_EVERY orders and once
    every chunk of a warehouse but the last is booked, while later chunks are booked; the last
    orders are left to the caller. The first error stops new chunks and is raised once the
    chunks already in flight have recorded what they bought."""
    with collector_paused():   # a parcel, its addresses, quotes and the carrier's answers: many small objects
        return _book_all(carrier, todo, world, engine, as_of=as_of, labelled=labelled)


def _book_all(carrier: Carrier, todo: pd.DataFrame, world: World, engine, *, as_of: datetime,
              labelled: Callable[[list[str]], None]) -> dict[str, int]:
    books: list[LabelBook] = []
    failed = threading.Event()   # set by the first chunk that raises: no chunk starts after it

    def one(rows: pd.DataFrame, prices: Priced) -> tuple[int, list[str]]:
        if failed.is_set():
            return 0, []
        book = LabelBook(engine, at=as_of)
        books.append(book)
        try:
            return book_chunk(carrier, rows, prices, book, as_of=as_of), book.labelled
        except BaseException:
            failed.set()
            raise

    sla_at_risk, booking = 0, []
    with ThreadPoolExecutor(max_workers=BOOKERS, thread_name_prefix="book") as pool:
        try:
            for _, parcels in warehouses_of(todo):
                prices = priced(carrier, parcels, world, as_of=as_of)
                # each chunk runs in a copy of this context: the flow run's id, logger and event client
                booking.append([pool.submit(contextvars.copy_context().run, one, rows, prices)
                                for rows in chunks_of(prices.plan)])
            waiting: list[str] = []     # labelled orders whose units are still on the shelf
            for position, futures in enumerate(booking, start=1):
                for future in futures:
                    at_risk, orders = future.result()
                    sla_at_risk, waiting = sla_at_risk + at_risk, waiting + orders
                    warehouse_booked = future is futures[-1] and position < len(booking)
                    if waiting and (len(waiting) >= CONSUME_EVERY or warehouse_booked):
                        labelled(waiting)
                        waiting = []
        except BaseException:
            failed.set()
            raise
    return {"booked": sum(b.booked for b in books), "failed": sum(b.failed for b in books), "sla_at_risk": sla_at_risk}


@task(task_run_name="book-carriers", cache_policy=NONE, **TRANSIENT_RETRIES)
def book_carriers(as_of: datetime, channels: list[str] | None = None, warehouses: list[str] | None = None) -> dict[str, int]:
    res = resources()
    with res.engine.begin() as conn:
        work = waved_without_label(conn, channels=channels, warehouses=warehouses)
    consumed: list[int] = []

    def shelf_cleared(order_ids: list[str]) -> None:
        with res.engine.begin() as conn:
            consumed.append(consume_reservations(conn, order_ids, now=as_of))

    try:
        return book_work(res, work, as_of=as_of, labelled=shelf_cleared) if not work.empty else {"booked": 0}
    finally:   # the units of every parcel labelled leave the shelf: the last ones booked, and a crashed run's
        consumed.append(consume(res.engine, now=as_of, channels=channels, warehouses=warehouses))
        refresh_statistics(res.engine, {"reservations": sum(consumed), "orders": len(work)})


def consume(engine, *, now: datetime, channels: list[str] | None, warehouses: list[str] | None) -> int:
    """The units of the labelled parcels of `channels` from `warehouses` leave the shelf, in one transaction."""
    with engine.begin() as conn:
        return consume_labelled(conn, now=now, channels=channels, warehouses=warehouses)


def book_work(res, work: pd.DataFrame, *, as_of: datetime,
              labelled: Callable[[list[str]], None]) -> dict[str, int]:
    work["shipment_id"] = work["order_id"].map(outbound_id)
    work["idempotency_key"] = label_references(work["shipment_id"])
    book = LabelBook(res.engine, at=as_of)
    recovered = recover_labels(res.carrier, work, book)
    todo = work[~work["shipment_id"].isin(recovered)]
    done = book_all(res.carrier, todo, res.world, res.engine, as_of=as_of,
                    labelled=labelled) if not todo.empty else {}
    return {"booked": book.booked + done.get("booked", 0), "recovered": len(recovered),
            "failed": book.failed + done.get("failed", 0), "sla_at_risk": done.get("sla_at_risk", 0)}
