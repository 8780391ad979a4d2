"""One flow run, measured, in a process of its own (so its peak RSS is the flow's):
`python -m bench.flow_run fulfil-orders 2026-11-28T00:00` prints one JSON line with the
flow's counts, wall time, DB time, peak RSS and its task runs as the Prefect server saw them."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
import threading
import time
from datetime import datetime

from bench.measure import DbTimer, own_cpu_seconds, peak_rss_mb, profiled, run_seconds_of, task_runs_of, union_seconds

FLOWS = {
    "fulfil-orders": ("flows.fulfil_orders", "fulfil_orders"),
    "notify-storefronts": ("flows.notify_storefronts", "notify_storefronts"),
    "track-shipments": ("flows.track_shipments", "track_shipments"),
    "process-returns": ("flows.process_returns", "process_returns"),
    "refresh-metrics": ("flows.refresh_metrics", "refresh_metrics"),
}


def heartbeat(label: str, started: float, stop: threading.Event) -> None:
    while not stop.wait(10):
        print(f"    … {label} running {time.monotonic() - started:.0f}s, RSS {peak_rss_mb():.0f} MB",
              file=sys.stderr, flush=True)


def measure(flow_name: str, as_of: datetime, **parameters) -> dict:
    module, name = FLOWS[flow_name]
    timer = DbTimer().install()
    flow = getattr(importlib.import_module(module), name)
    started, stop = time.monotonic(), threading.Event()
    threading.Thread(target=heartbeat, args=(flow_name, started, stop), daemon=True).start()
    state = flow(as_of=as_of, **{k: v for k, v in parameters.items() if v}, return_state=True)
    wall, cpu = time.monotonic() - started, own_cpu_seconds()
    stop.set()
    counts = state.result(raise_on_failure=False)
    runs = task_runs_of(state.state_details.flow_run_id)
    run_seconds = run_seconds_of(state.state_details.flow_run_id)
    in_tasks = union_seconds([(r["start"], r["end"]) for r in runs if r["start"] and r["end"]])
    return {
        "flow": flow_name, "as_of": as_of.isoformat(), "parameters": parameters,
        "state": state.type.value, "wall_seconds": round(wall, 3),
        "run_seconds": round(run_seconds, 3) if run_seconds is not None else None, "db_seconds": round(timer.seconds, 3),
        "db_statements": timer.statements, "db_top": timer.top(), "peak_rss_mb": round(peak_rss_mb(), 1), "cpu_seconds": round(cpu, 2),
        "task_runs": len(runs), "task_seconds": round(in_tasks, 3),
        # time outside task bodies: against the run's time as the server recorded it (the clock the
        # task runs are on), and against the call in this process (up to a second more: see run_seconds_of)
        "orchestration_share": share_outside(run_seconds if run_seconds else wall, in_tasks),
        "orchestration_share_process": share_outside(wall, in_tasks),
        "counts": counts if isinstance(counts, dict) else {"error": str(counts)},
        "stages": [{"task": r["name"], "state": r["state"], "seconds": r["seconds"]} for r in runs],
    }


def share_outside(wall: float, in_tasks: float) -> float:
    return round(max(0.0, wall - in_tasks) / wall, 4) if wall else 0.0


def run_child(flow_name: str, as_of: datetime, env: dict[str, str], **parameters) -> dict:
    """Run `measure` in a fresh process with `env`; stderr (progress) passes through."""
    command = [sys.executable, "-m", "bench.flow_run", flow_name, as_of.isoformat(), json.dumps(parameters)]
    proc = subprocess.run(profiled(command, f"{flow_name}-{as_of:%Y%m%dT%H%M%S}"), env=env, stdout=subprocess.PIPE,
                          text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{flow_name} bench run failed (exit {proc.returncode}); its output is above")
    return json.loads(lines[-1])


if __name__ == "__main__":
    result = measure(sys.argv[1], datetime.fromisoformat(sys.argv[2]), **json.loads(sys.argv[3]))
    print(json.dumps(result, default=str), flush=True)
