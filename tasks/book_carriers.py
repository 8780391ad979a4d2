"""Shipping: book the cheapest carrier service that keeps the promise; intent-first labels."""
from __future__ import annotations

import logging
from datetime import datetime

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE

from config.world import World
from connectors.errors import PermanentApiError
from connectors.protocols import Carrier
from domain.rates import choose_rates, transit_budget
from domain.records import Address, Label, ParcelRequest
from domain.waves import next_cutoff
from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit
from tasks.resources import resources
from warehouse.shipments import (
    outbound_id, record_label_failures, record_labels, waved_without_label, write_intents,
)

log = logging.getLogger(__name__)
FLUSH_EVERY = 50  # labels bought between two commits; a crash in between is recovered by find_label


class LabelBook:
    """Labels bought and failures met during one run, committed in small batches."""

    def __init__(self, engine, *, at: datetime):
        self.engine, self.at, self.flow_run_id = engine, at, current_flow_run_id()
        self.labels: list[dict] = []
        self.failures: list[dict] = []
        self.booked = self.failed = 0

    def add_label(self, row, label: Label) -> None:
        self.labels.append({"shipment_id": row.shipment_id, "order_id": row.order_id, "carrier": label.carrier,
                            "service": label.service, "rate_amount": label.amount, "currency": label.currency,
                            "label_ref": label.label_ref, "tracking_number": label.tracking_number})
        if len(self.labels) >= FLUSH_EVERY:
            self.flush()

    def add_failure(self, row, error: str) -> None:
        self.failures.append({"shipment_id": row.shipment_id, "order_id": row.order_id, "error": error})

    def flush(self) -> None:
        with self.engine.begin() as conn:
            self.booked += record_labels(conn, pd.DataFrame(self.labels), at=self.at, flow_run_id=self.flow_run_id) \
                if self.labels else 0
            self.failed += record_label_failures(conn, pd.DataFrame(self.failures), at=self.at,
                                                 flow_run_id=self.flow_run_id) if self.failures else 0
        self.labels, self.failures = [], []


def parcel_for(row, world: World) -> ParcelRequest:
    origin = world.warehouse(row.warehouse_id).address
    return ParcelRequest(
        reference=row.idempotency_key, ship_from=Address(**origin.model_dump()),
        ship_to=Address(name=row.customer_name, line1=row.ship_to_line1, city=row.ship_to_city,
                        region=row.ship_to_region, postal_code=row.ship_to_postal_code, country=row.ship_to_country),
        weight_kg=max(float(row.weight_kg), 0.05),
    )


def quote_all(carrier: Carrier, work: pd.DataFrame, world: World, book: LabelBook) -> tuple[pd.DataFrame, dict]:
    quotes, rates = [], {}
    for row in work.itertuples():
        try:
            for rate in carrier.quote(parcel_for(row, world)):
                rates[rate.rate_id] = rate
                quotes.append({"shipment_id": row.shipment_id, **rate.__dict__})
        except PermanentApiError as exc:
            book.add_failure(row, exc.message)
    columns = ["shipment_id", "rate_id", "carrier", "service", "amount", "currency", "transit_days"]
    return pd.DataFrame(quotes, columns=columns), rates


def choose_services(quotes: pd.DataFrame, work: pd.DataFrame, world: World, *, as_of: datetime) -> pd.DataFrame:
    ship_at = work["warehouse_id"].map({w.id: next_cutoff(w, as_of) for w in world.warehouses})
    budget = transit_budget(work.assign(ship_at=ship_at)[["shipment_id", "shipping_method", "promised_by", "ship_at"]],
                            max_transit_days={m: p.max_transit_days for m, p in world.sla.items()})
    return choose_rates(quotes, budget)


@task(task_run_name="book-carriers", cache_policy=NONE, **TRANSIENT_RETRIES)
def book_carriers(as_of: datetime) -> dict[str, int]:
    res = resources()
    with res.engine.begin() as conn:
        work = waved_without_label(conn)
    if work.empty:
        return {"booked": 0}
    work["shipment_id"] = work["order_id"].map(outbound_id)
    with res.engine.begin() as conn:  # the intent is durable before any money is spent
        work = work.merge(write_intents(conn, work, direction="outbound", now=as_of), on="shipment_id")
    book, carrier = LabelBook(res.engine, at=as_of), res.carrier
    try:
        recovered = set()
        for row in work[work["label_status"] == "intent"].itertuples():  # a crashed run may have bought it
            if (label := carrier.find_label(row.idempotency_key)) is not None:
                book.add_label(row, label)
                recovered.add(row.shipment_id)
        todo = work[~work["shipment_id"].isin(recovered)]
        quotes, rates = quote_all(carrier, todo, res.world, book)
        chosen = choose_services(quotes, todo, res.world, as_of=as_of)
        for row in todo.merge(chosen[["shipment_id", "rate_id", "meets_sla"]], on="shipment_id").itertuples():
            try:
                book.add_label(row, carrier.buy_label(rate=rates[row.rate_id], reference=row.idempotency_key))
            except PermanentApiError as exc:
                book.add_failure(row, exc.message)
                emit("cumplido.label.failed", resource=f"cumplido.order.{row.order_id}", payload={"error": exc.message})
    finally:
        book.flush()
    sla_risk = int((~chosen["meets_sla"]).sum()) if not chosen.empty else 0
    return {"booked": book.booked, "recovered": len(recovered), "failed": book.failed, "sla_at_risk": sla_risk}
