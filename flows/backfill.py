"""backfill (on demand): re-pull a past window from some channels without moving their cursors.
The next fulfil-orders run takes the recovered orders through the rest of the pipeline."""
from __future__ import annotations

from datetime import datetime

from prefect import flow, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from flows.stages import finish, outcome
from tasks.prepare_warehouse import prepare_warehouse
from tasks.pull_orders import backfill_orders
from tasks.resources import resources


def _name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    scope = ",".join(params.get("channels") or []) or "all-channels"
    return f"backfill {params.get('since')}..{params.get('until')} {scope}"


@flow(name="backfill", flow_run_name=_name, task_runner=ThreadPoolTaskRunner(max_workers=4))
def backfill(since: datetime, until: datetime, channels: list[str] | None = None) -> dict:
    if since >= until:
        raise ValueError(f"backfill window is empty: since {since} is not before until {until}")
    prepare_warehouse(until)
    results, failures = {}, []
    selected = channels or [c.id for c in resources().world.channels]
    states = backfill_orders.map(selected, since=unmapped(since), until=unmapped(until), return_state=True)
    for channel, state in zip(selected, states):
        outcome(f"backfill_orders[{channel}]", state, results, failures)
    return finish("backfill-summary", results, failures, as_of=until)
