"""What the bench measures inside a flow-run process: time spent in the database, peak RSS,
and from the Prefect API the task runs of a flow run and the share of wall time outside them."""
from __future__ import annotations

import os
import re
import resource
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine


def statement_kind(statement: str) -> str:
    """What a statement does, the same for every call of it: its verb and the table it writes,
    or the first it reads ('UPDATE orders', 'INSERT INTO reservations', 'SELECT … FROM order_lines')."""
    words = statement.split()
    if not words:
        return "?"
    verb, lower = words[0].upper(), [w.lower() for w in words]
    if verb in ("UPDATE", "COPY", "TRUNCATE", "LOCK"):
        name = words[1] if len(words) > 1 else ""
    elif verb == "INSERT" and len(words) > 2:
        verb, name = "INSERT INTO", words[2]
    elif "from" in lower[:-1]:
        verb, name = f"{verb} … FROM", words[lower.index("from") + 1]
    else:
        name = " ".join(words[1:3])
    name = name.strip('(),;').replace('"', "").rsplit(".", 1)[-1]     # no schema: cumplido_bench.orders -> orders
    return f"{verb} {_STAGING_DIGEST.sub(_staging_table, name)}" if name else verb


_STAGING_DIGEST = re.compile(r"^(tmp_\w+?)_[0-9a-f]{8}$")   # warehouse.bulk's staging tables, one per column set


def _staging_table(match: re.Match) -> str:
    return match.group(1)


class DbTimer:
    """Seconds spent executing SQL (every cursor execute, plus COPY on PostgreSQL), summed over
    threads, in all and by statement_kind. Installed process-wide for the bench's flow-run
    process only."""

    def __init__(self):
        self.seconds = 0.0
        self.statements = 0
        self.by_kind: dict[str, list[float]] = {}   # kind -> [seconds, calls]
        self._lock = threading.Lock()

    def _add(self, seconds: float, kind: str = "?") -> None:
        with self._lock:
            self.seconds += seconds
            self.statements += 1
            spent = self.by_kind.setdefault(kind, [0.0, 0])
            spent[0] += seconds
            spent[1] += 1

    def top(self, n: int = 8) -> list[dict]:
        """The n statement kinds that took longest: kind, seconds, calls."""
        ranked = sorted(self.by_kind.items(), key=lambda item: -item[1][0])[:n]
        return [{"statement": kind, "seconds": round(spent, 3), "calls": calls} for kind, (spent, calls) in ranked]

    def install(self) -> "DbTimer":
        import warehouse.bulk as bulk

        @event.listens_for(Engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("bench_started", []).append(time.perf_counter())

        @event.listens_for(Engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            self._add(time.perf_counter() - conn.info["bench_started"].pop(), statement_kind(statement))

        copy_into = bulk.copy_into

        def timed_copy(conn, table_name, frame):
            with self.timing(statement_kind(f"COPY {table_name}")):
                return copy_into(conn, table_name, frame)

        bulk.copy_into = timed_copy
        return self

    @contextmanager
    def timing(self, kind: str = "?"):
        started = time.perf_counter()
        try:
            yield
        finally:
            self._add(time.perf_counter() - started, kind)


def speed_probe(repeats: int = 3) -> float:
    """Seconds a fixed pure-Python workload takes here (best of `repeats`; lower is faster): this
    shared machine's speed moves by 2-3x within an hour, so each result records it before and
    after its runs, and results taken at different moments can be set side by side."""
    import json

    rows = [{"order_id": f"o-{i}", "sku": f"SKU-{i % 2500:05d}", "quantity": i % 6 + 1, "weight": i * 0.25}
            for i in range(50_000)]
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        json.loads(json.dumps(rows))
        sorted(rows, key=lambda row: (row["sku"], row["order_id"]))
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_cpu_seconds() -> float:
    """CPU time (user + system, every thread) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """CPU time (user + system, every thread) another process has used, from /proc; with
    reaped_children, plus what its children used before it reaped them (0 if unreadable)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()   # from field 3 (state) on
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])                 # utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])            # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and of every descendant, live or reaped."""
    children = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(child) for child in listing.read_text().split()]
        except OSError:
            continue
    return cpu_seconds(pid, reaped_children=True) + sum(tree_cpu_seconds(child) for child in children)


def postgres_cpu_seconds() -> float | None:
    """CPU time of this machine's PostgreSQL: its live processes plus the backends its postmaster
    has reaped (a run's connections end with the run). None when no PostgreSQL runs here."""
    processes = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.endswith("(postgres"):
            processes[int(stat.parent.name)] = int(rest.split()[1])   # pid -> parent pid
    if not processes:
        return None
    return sum(cpu_seconds(pid, reaped_children=parent not in processes) for pid, parent in processes.items())


def process_rss_mb(pid: int) -> float:
    """Current resident memory of another process, from /proc (0 if unreadable)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def union_seconds(intervals: list[tuple[datetime, datetime]]) -> float:
    """Seconds covered by at least one interval (parallel task runs count once)."""
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += (current_end - current_start).total_seconds()
    return total


def run_seconds_of(flow_run_id) -> float | None:
    """The flow run's duration as the Prefect server recorded it (start to final state), which the
    UI shows: the process returns up to a second later, when Prefect's heartbeat thread, which
    sleeps in whole seconds, has been joined."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
    if run.start_time and run.end_time:
        return (run.end_time - run.start_time).total_seconds()
    return None


def task_runs_of(flow_run_id, *, settle_seconds: float = 30.0) -> list[dict]:
    """The flow run's task runs as the Prefect server recorded them, once every one of them
    has reached a final state (task states reach the server asynchronously)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + settle_seconds
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            settled = all(r.state is not None and r.state.is_final() and r.end_time for r in runs)
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return [{"name": r.name, "state": r.state.type.value if r.state else None,
             "start": r.start_time, "end": r.end_time,
             "seconds": (r.end_time - r.start_time).total_seconds() if r.start_time and r.end_time else None}
            for r in runs]


def profiled(command: list[str], name: str) -> list[str]:
    """`command` under py-spy when CUMPLIDO_BENCH_PROFILE names a folder: a flame graph's input
    (collapsed stacks, every thread, idle ones left out) lands there as <name>.txt."""
    folder = os.environ.get("CUMPLIDO_BENCH_PROFILE")
    if not folder:
        return command
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    Path(folder).mkdir(parents=True, exist_ok=True)
    return [spy, "record", "--format", "raw", "--rate", "50", "--threads", "-o", str(Path(folder) / f"{name}.txt"),
            "--", *command]
