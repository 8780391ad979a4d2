"""process_returns: requests → return labels → receipt → inspection and restock → refunds."""
from __future__ import annotations

from datetime import datetime

from prefect import flow, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from flows.stages import finish, outcome, run_name
from tasks.prepare_warehouse import prepare_warehouse
from tasks.process_returns import (
    inspect_returns, issue_return_labels, pull_return_requests, receive_returns, refund_returns,
)
from tasks.resources import resources, utc_now


@flow(name="process-returns", flow_run_name=run_name("process-returns"), task_runner=ThreadPoolTaskRunner(max_workers=4))
def process_returns(as_of: datetime | None = None, channels: list[str] | None = None) -> dict:
    as_of = as_of or utc_now()
    prepare_warehouse(as_of)
    results, failures = {}, []
    selected = channels or [c.id for c in resources().world.channels]
    for channel, state in zip(selected, pull_return_requests.map(selected, as_of=unmapped(as_of), return_state=True)):
        outcome(f"pull_return_requests[{channel}]", state, results, failures)
    for stage in (issue_return_labels, receive_returns, inspect_returns, refund_returns):
        outcome(stage.name, stage(as_of, return_state=True), results, failures)
    return finish("process-returns-summary", results, failures, as_of=as_of)
