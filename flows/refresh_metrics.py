"""refresh_metrics: rebuild fct_order_fulfillment and mart_fulfillment_daily."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.stages import finish, outcome, run_name
from tasks.prepare_warehouse import prepare_warehouse
from tasks.refresh_metrics import refresh_metrics as rebuild
from tasks.resources import utc_now


@flow(name="refresh-metrics", flow_run_name=run_name("refresh-metrics"))
def refresh_metrics(as_of: datetime | None = None) -> dict:
    as_of = as_of or utc_now()
    prepare_warehouse(as_of)
    results, failures = {}, []
    outcome("refresh_metrics", rebuild(as_of, return_state=True), results, failures)
    return finish("refresh-metrics-summary", results, failures, as_of=as_of)
