"""Analysis: rebuild the fact and mart tables and publish the KPI summary."""
from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NONE

from domain.kpis import kpi_summary
from tasks.observability import TRANSIENT_RETRIES, publish_table
from tasks.resources import resources
from warehouse.metrics import refresh_metric_tables


@task(task_run_name="refresh-metrics", cache_policy=NONE, **TRANSIENT_RETRIES)
def refresh_metrics(as_of: datetime) -> dict:
    with resources().engine.begin() as conn:
        facts = refresh_metric_tables(conn, as_of=as_of)
    summary = kpi_summary(facts)
    publish_table("fulfillment-kpis", [{"kpi": k, "value": v} for k, v in summary.items()],
                  description=f"Fulfillment KPIs as of {as_of:%Y-%m-%d %H:%M} UTC (tables fct_order_fulfillment, "
                              "mart_fulfillment_daily)")
    return summary
