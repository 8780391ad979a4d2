"""track_shipments: poll carriers for open parcels, advance tracking, queue notifications."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.stages import finish, outcome, run_name
from tasks.poll_tracking import poll_tracking
from tasks.prepare_warehouse import prepare_warehouse
from tasks.resources import utc_now


@flow(name="track-shipments", flow_run_name=run_name("track-shipments"))
def track_shipments(as_of: datetime | None = None) -> dict:
    as_of = as_of or utc_now()
    prepare_warehouse(as_of)
    results, failures = {}, []
    outcome("poll_tracking", poll_tracking(as_of, return_state=True), results, failures)
    return finish("track-shipments-summary", results, failures, as_of=as_of)
