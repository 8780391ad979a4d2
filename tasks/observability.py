"""What ops see in the Prefect UI: artifacts under stable keys, business events, run ids."""
from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from connectors.errors import is_transient

log = logging.getLogger("cumplido")


def in_threads(call: Callable[[Any], Any], items: Iterable, *, at_once: int, name: str) -> list:
    """call(item) for every item, `at_once` in threads at a time, each in a copy of this context
    (the flow run's id, logger and event client); the results in the items' order. One that
    fails is raised once all the others have finished (each commits on its own)."""
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix=name) as pool:
        futures = [pool.submit(contextvars.copy_context().run, call, item) for item in items]
    return [future.result() for future in futures]


def current_flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


def publish_table(key: str, rows: Sequence[Mapping[str, Any]], description: str) -> None:
    """A table artifact under a stable key (lower-case, dashes), so the UI shows its history."""
    from prefect.artifacts import create_table_artifact

    try:
        create_table_artifact(key=key, table=[dict(r) for r in rows], description=description)
    except Exception as exc:  # an artifact is a report, never a reason to fail the batch
        log.warning("could not publish artifact %s: %s", key, exc)


def publish_markdown(key: str, markdown: str, description: str) -> None:
    from prefect.artifacts import create_markdown_artifact

    try:
        create_markdown_artifact(key=key, markdown=markdown, description=description)
    except Exception as exc:
        log.warning("could not publish artifact %s: %s", key, exc)


def emit(event: str, *, resource: str, payload: Mapping[str, Any] | None = None) -> None:
    """A business milestone (past tense, e.g. cumplido.orders.pulled) automations can alert on."""
    from prefect.events import emit_event

    try:
        emit_event(event=event, resource={"prefect.resource.id": resource}, payload=dict(payload or {}))
    except Exception as exc:
        log.warning("could not emit %s: %s", event, exc)


def retry_if_transient(task, task_run, state) -> bool:
    """Prefect retry_condition_fn: retry 429/5xx/timeouts and lost DB connections, not 4xx."""
    from sqlalchemy.exc import OperationalError

    try:
        state.result()
    except Exception as exc:  # the task's own exception
        return is_transient(exc) or isinstance(exc, OperationalError)
    return False


TRANSIENT_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": [2, 5, 15],
    "retry_jitter_factor": 0.2,
    "retry_condition_fn": retry_if_transient,
}
