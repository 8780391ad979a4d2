"""What every flow does around its tasks: run stages so one failure does not stop the rest,
name runs after what they do, and publish one summary artifact under a stable key."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from prefect.states import State

from tasks.observability import publish_table
from tasks.resources import utc_now


class StagesFailed(RuntimeError):
    """Some stages failed; the others ran. The message lists each failure and what to do."""


def run_name(flow_label: str) -> Callable[[], str]:
    """A flow_run_name callable: 'fulfil-orders 2026-11-26T10:05 shopify-main'."""

    def name() -> str:
        from prefect.runtime import flow_run

        params = flow_run.parameters or {}
        as_of = params.get("as_of") or utc_now()
        if isinstance(as_of, str):
            as_of = datetime.fromisoformat(as_of)
        scope = ",".join(params.get("channels") or []) or "all-channels"
        return f"{flow_label} {as_of:%Y-%m-%dT%H:%M} {scope}"

    return name


def outcome(label: str, state: State, results: dict[str, Any], failures: list[str]) -> None:
    """Record a stage's counts, or its failure message (never a bare traceback)."""
    if state.is_completed():
        results[label] = state.result()
        return
    try:
        state.result()
    except Exception as exc:  # the task's own exception, already logged by Prefect with its traceback
        failures.append(f"{label}: {exc}")
    else:
        failures.append(f"{label}: ended {state.type.value.lower()}")


def finish(key: str, results: dict[str, Any], failures: list[str], *, as_of: datetime) -> dict[str, Any]:
    rows = [{"stage": stage, **{k: str(v) for k, v in (counts or {}).items()}} for stage, counts in results.items()]
    rows += [{"stage": f.split(":", 1)[0], "error": f.split(":", 1)[1].strip()} for f in failures]
    publish_table(key, rows, description=f"{key} as of {as_of:%Y-%m-%d %H:%M} UTC")
    if failures:
        raise StagesFailed("; ".join(failures))
    return results
