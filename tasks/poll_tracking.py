"""Shipping: poll the carrier for open parcels, advance the canonical tracking state, notify."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE

from connectors.errors import PermanentApiError
from connectors.protocols import Carrier
from domain import states
from domain.tracking import TrackingOutcome, apply_tracking
from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit
from tasks.resources import resources
from warehouse.orders import transition
from warehouse.tracking import open_shipments, save_tracking

EVENT_COLUMNS = ["shipment_id", "occurred_at", "carrier_status", "status", "description", "location"]
ORDER_STATE_FOR = {
    "in_transit": states.SHIPPED, "out_for_delivery": states.SHIPPED, "available_for_pickup": states.SHIPPED,
    "delivered": states.DELIVERED, "exception": states.EXCEPTION, "return_to_sender": states.EXCEPTION,
    "failure": states.EXCEPTION,
}


def fetch_events(carrier: Carrier, parcels: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    rows, unknown = [], 0
    for parcel in parcels.itertuples():
        try:
            update = carrier.track(parcel.label_ref)
        except PermanentApiError:
            unknown += 1  # e.g. a voided label: nothing to advance, look again next run
            continue
        rows += [{"shipment_id": parcel.shipment_id, "occurred_at": e.occurred_at, "carrier_status": e.carrier_status,
                  "status": e.status, "description": e.description, "location": e.location} for e in update.events]
    events = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    # the warehouse keeps naive UTC; carriers answer with offsets
    events["occurred_at"] = pd.to_datetime(events["occurred_at"], utc=True).dt.tz_localize(None)
    return events, unknown


def poll(direction: str, as_of: datetime) -> tuple[dict[str, int], TrackingOutcome, pd.DataFrame]:
    """Shared by outbound tracking and return parcels: returns counts, the outcome and the parcels."""
    res = resources()
    with res.engine.begin() as conn:
        parcels = open_shipments(conn, direction=direction)
    events, unknown = fetch_events(res.carrier, parcels)
    events = events[events["occurred_at"] <= as_of]  # never record the future (simulated clocks, skewed carriers)
    outcome = apply_tracking(
        parcels[["shipment_id", "tracking_status", "tracking_status_at", "shipped_at", "delivered_at"]], events)
    with res.engine.begin() as conn:
        counts = save_tracking(conn, events=events, outcome=outcome, at=as_of,
                               recipients=parcels[["shipment_id", "order_id", "customer_email", "tracking_number"]])
    return {"open": len(parcels), "untrackable": unknown, **counts}, outcome, parcels


@task(task_run_name="poll-tracking", cache_policy=NONE, **TRANSIENT_RETRIES)
def poll_tracking(as_of: datetime) -> dict[str, int]:
    counts, outcome, parcels = poll("outbound", as_of)
    changed = outcome.shipments.merge(parcels[["shipment_id", "order_id"]], on="shipment_id")
    changed = changed.assign(status=changed["tracking_status"].map(ORDER_STATE_FOR)).dropna(subset=["status"])
    with resources().engine.begin() as conn:
        counts["orders_changed"] = transition(conn, changed[["order_id", "status"]], at=as_of,
                                              flow_run_id=current_flow_run_id())
    exceptions = int((changed["status"] == states.EXCEPTION).sum())
    if exceptions:
        emit("cumplido.shipment.exception", resource="cumplido.carrier." + resources().carrier.name,
             payload={"shipments": exceptions})
    return counts
