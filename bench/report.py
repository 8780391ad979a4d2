"""The bench's results: one JSON file per (date, database, size) and a Markdown summary."""
from __future__ import annotations

import json
from pathlib import Path

TARGETS = {  # issue #4's acceptance figures, checked in the summary
    "orchestration_share_max": 0.10, "task_runs_per_flow_run_max": 200, "incremental_seconds_max": 5.0,
    "waves_vs_single_order_min_pct": 40.0, "waves_vs_fcfs_min_pct": 10.0, "optimality_gap_max_pct": 5.0,
    "bulk_speedup_min": 5.0, "peak_seconds_max_100k_postgres": 60.0, "peak_rss_mb_max": 1536.0,
}


def write(result: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{result['date']}-{result['db']}-{result['orders']}"
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    md_path.write_text(markdown(result))
    return json_path, md_path


def _stage_rows(label: str, run: dict) -> list[str]:
    rows = []
    counts = run.get("counts") or {}
    for task, seconds in _stage_seconds(run["stages"]).items():
        name, _, arg = task.partition(" ")          # "pull-orders shop-us" -> pull_orders[shop-us]
        key = name.replace("-", "_") + (f"[{arg}]" if arg else "")
        n = _main_count(counts.get(key) if isinstance(counts, dict) else None)
        secs, times = sum(seconds), len(seconds)
        rate = f"{n / secs:,.0f}" if n and secs > 0 else "-"
        shown = f"{task} ×{times}" if times > 1 else task
        rows.append(f"| {label} | {shown} | {secs:.2f} | {f'{n:,}' if n is not None else '-'} | {rate} |")
    return rows


def _stage_seconds(stages: list[dict]) -> dict[str, list[float]]:
    """Seconds per task name, in order: a task run in rounds (notify-storefronts' pushes) is one
    row, its count being the flow's total for the task."""
    seconds: dict[str, list[float]] = {}
    for stage in stages:
        seconds.setdefault(stage["task"], []).append(stage["seconds"] or 0.0)
    return seconds


def _store_backlog(r: dict) -> list[str]:
    """How much of the peak the stores were told at once, and how long the rest took to drain."""
    peak, drain = r["runs"]["peak"].get("counts") or {}, r["runs"].get("store-backlog")
    pushed, drained = peak.get("push_fulfillments") or {}, (drain or {}).get("counts", {}).get("push_fulfillments")
    if drain is None or not isinstance(drained, dict):
        return []
    return ["", f"Storefront pushes: the peak run told the stores about {pushed.get('pushed', 0):,} fulfilments "
                f"within its push budget and left {pushed.get('left', 0):,}; `notify-storefronts` (store-backlog) "
                f"told them about {drained['pushed']:,} in {_run_s(drain):.1f} s ({drained['rounds']} round"
                f"{'s' if drained['rounds'] != 1 else ''} under the floor cells' locks), leaving {drained['left']:,}."]


MAIN_COUNT = ("pulled", "checked", "lines_reserved", "pick_lines", "booked", "pushed", "polled", "events",
              "requests", "rows")


def _main_count(counts) -> int | None:
    if not isinstance(counts, dict):
        return None
    for key in MAIN_COUNT:
        if isinstance(counts.get(key), int):
            return counts[key]
    ints = [v for v in counts.values() if isinstance(v, int)]
    return sum(ints) if ints else None


def _saves(pct: float) -> str:
    return f"saves {pct:.1f} %" if pct >= 0 else f"costs {-pct:.1f} % more"


def markdown(r: dict) -> str:
    sc = r["scenario"]
    lines = [
        f"# Cumplido bench — {r['orders']:,} orders on {r['db']} ({r['date']})", "",
        f"Reproduce: `{r['command']}`  ·  machine: {r['machine']}{_probe_text(r)}", "",
        f"Scenario (seed {r['seed']}, world `{Path(sc['world_file']).name}`): {r['peak_orders']:,} orders placed on the "
        f"peak day, 1-{sc['max_lines']} lines each, pulled by one `fulfil-orders` run (peak); then two cycles of "
        f"new orders: catch-up ({r.get('catch_up_orders', '-')} new, and it re-reads every order the peak run "
        f"fulfilled, since fulfilling updates them in the store) and a typical incremental cycle "
        f"({r['incremental_orders']:,} new); tracking 3 and 6 days later, returns, metrics. Vendor simulators and "
        "`prefect server` run in their own processes.", "",
        "## Flow runs (real flows, real `prefect server`)", "",
        "| run | flow | run s | process s | DB s | task runs | outside tasks | (of process s) | peak RSS MB | state |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, run in r["runs"].items():
        process_share = run.get("orchestration_share_process")
        lines.append(f"| {label} | {run['flow']} | {_run_s(run):.2f} | {run['wall_seconds']:.2f} | {run['db_seconds']:.2f} | "
                     f"{run['task_runs']} | {100 * run['orchestration_share']:.1f} % | "
                     f"{'-' if process_share is None else f'{100 * process_share:.1f} %'} | {run['peak_rss_mb']:.0f} | "
                     f"{run['state']} |")
    lines += _store_backlog(r)
    lines += _cpu_rows(r)
    lines += ["", "*run s*: start to final state as the Prefect server recorded it (what the UI shows); *process s*: "
              "the call in the flow's process, which also joins Prefect's heartbeat thread (it sleeps in whole "
              "seconds) after the run completed; *outside tasks*: the share of the run's time outside every task "
              "body (orchestration overhead; run and task runs timed by the same server clock), and in brackets "
              "the same against the process time.", ""]
    lines += _db_top_rows(r)
    lines += ["## Stages (task runs as the Prefect server recorded them)", "",
              "| run | task run | seconds | rows | rows/s |", "|---|---|---:|---:|---:|"]
    for label, run in r["runs"].items():
        lines += _stage_rows(label, run)
    b = r.get("baselines", {})
    if travel := b.get("pick_travel"):
        lines += ["", "## Baselines (same orders, same layout)", "",
                  f"- **Pick travel**: waves {travel['waves_m']:,.0f} m vs single-order {travel['single_order_m']:,.0f} m "
                  f"(−{travel['vs_single_order_pct']:.1f} %) vs FCFS+S-shape {travel['fcfs_s_shape_m']:,.0f} m "
                  f"(−{travel['vs_fcfs_s_shape_pct']:.1f} %); waves' routes {travel['optimality_gap_pct']:.2f} % above "
                  f"optimal on average ({travel['optimality_sample_waves']} waves solved exactly)."]
    if (cost := b.get("label_cost")) and cost.get("shipments"):
        lines.append(f"- **Label cost** ({cost['shipments']} parcels re-quoted): rate shopping {cost['shopping_cost']:,.2f} "
                     f"vs always `{cost['default_service']}` {cost['default_cost']:,.2f}: {_saves(cost['saving_pct'])} overall "
                     f"(it buys the faster services that keep the promises the default breaks); where both keep the "
                     f"promise ({cost['kept_shipments']}) it {_saves(cost['kept_saving_pct'])}; SLA "
                     f"kept {100 * cost['shopping_sla_share']:.1f} % vs {100 * cost['default_sla_share']:.1f} %.")
    if writes := b.get("bulk_writes"):
        lines.append(f"- **Bulk writes**: {writes['rows']:,} rows in {writes['bulk_seconds']:.3f} s vs row-by-row "
                     f"{writes['row_by_row_seconds']:.3f} s — {writes['speedup']}× faster (best of "
                     f"{writes.get('repeats', 1)} each).")
    if res := b.get("reservation"):
        lines.append(f"- **Reservation, {res['writers']} concurrent writers**: {res['lines_reserved']:,} lines in "
                     f"{res['seconds']:.2f} s ({res['lines_per_s']:,} lines/s), oversold units {res['oversold_units']}.")
    if scale := r.get("scale_out"):
        lines += ["", "## Scale-out (process workers on one pool, partitioned deployments)", "",
                  "| workers | partitions | orders | wall s | orders/s | invariants |", "|---:|---:|---:|---:|---:|---|"]
        for s in scale:
            lines.append(f"| {s['workers']} | {s['partitions']} | {s['orders']:,} | {s['wall_seconds']:.1f} | "
                         f"{s['orders_per_s']:,.0f} | {'ok' if s['invariants']['ok'] else 'FAILED'} |")
    inv = r["invariants"]
    lines += ["", "## Nothing oversold, doubled or lost", "",
              f"{'OK' if inv['ok'] else 'FAILED'}: " + ", ".join(f"{k} {v}" for k, v in inv.items() if k != "ok"), "",
              "## Targets", ""]
    lines += [f"- {'✅' if ok else '❌'} {text}" for text, ok in r["targets"]]
    return "\n".join(lines) + "\n"


def _probe_text(r: dict) -> str:
    probe = r.get("speed_probe_seconds")
    if not probe:
        return ""
    return (f"  ·  speed probe {probe['before']:.2f} s before the runs, {probe['after']:.2f} s after (a fixed "
            "pure-Python workload, `bench.measure.speed_probe`; lower is faster: compare results by it)")


def _db_top_rows(r: dict) -> list[str]:
    """Where the peak run's DB time went, by statement (summed over the run's threads)."""
    top = r["runs"].get("peak", {}).get("db_top")
    if not top:
        return []
    lines = ["## Where the peak run's DB time went (by statement, summed over its threads)", "",
             "| statement | seconds | calls |", "|---|---:|---:|"]
    lines += [f"| `{row['statement']}` | {row['seconds']:.2f} | {row['calls']:,} |" for row in top]
    return lines + [""]


def _run_s(run: dict) -> float:
    """The run's duration as the server recorded it (results from before it was kept: the process's)."""
    return run.get("run_seconds") or run["wall_seconds"]


def targets(r: dict) -> list[tuple[str, bool]]:
    peak, t = r["runs"]["peak"], TARGETS
    failed = [label for label, run in r["runs"].items() if run["state"] != "COMPLETED"]
    out = [(f"every flow run completed{' (failed: ' + ', '.join(failed) + ')' if failed else ''}", not failed),
           (f"peak RSS of fulfil-orders {peak['peak_rss_mb']:.0f} MB ≤ 1.5 GB", peak["peak_rss_mb"] <= t["peak_rss_mb_max"]),
           (f"task runs per flow run ≤ 200 (max {max(run['task_runs'] for run in r['runs'].values())})",
            all(run["task_runs"] <= t["task_runs_per_flow_run_max"] for run in r["runs"].values()))]
    if r["orders"] >= 10_000:
        out.append((f"orchestration overhead of fulfil-orders {100 * peak['orchestration_share']:.1f} % ≤ 10 %",
                    peak["orchestration_share"] <= t["orchestration_share_max"]))
    if r["orders"] >= 100_000 and r["db"] == "postgres":
        out.append((f"{r['orders']:,} orders through fulfil-orders in {_run_s(peak):.1f} s ≤ 60 s",
                    _run_s(peak) <= t["peak_seconds_max_100k_postgres"]))
    if inc := r["runs"].get("incremental"):
        out.append((f"incremental cycle ({r['incremental_orders']} new orders) {_run_s(inc):.2f} s ≤ 5 s "
                     f"(process {inc['wall_seconds']:.2f} s)", _run_s(inc) <= t["incremental_seconds_max"]))
    b = r.get("baselines", {})
    if travel := b.get("pick_travel"):
        out += [(f"waves cut travel {travel['vs_single_order_pct']:.1f} % vs single-order (≥ 40 %)",
                 travel["vs_single_order_pct"] >= t["waves_vs_single_order_min_pct"]),
                (f"waves cut travel {travel['vs_fcfs_s_shape_pct']:.1f} % vs FCFS+S-shape (≥ 10 %)",
                 travel["vs_fcfs_s_shape_pct"] >= t["waves_vs_fcfs_min_pct"]),
                (f"routes {travel['optimality_gap_pct']:.2f} % above optimal (≤ 5 %)",
                 travel["optimality_gap_pct"] <= t["optimality_gap_max_pct"])]
    if (writes := b.get("bulk_writes")) and writes.get("speedup"):
        out.append((f"bulk writes {writes['speedup']}× row-by-row (≥ 5×)", writes["speedup"] >= t["bulk_speedup_min"]))
    if res := b.get("reservation"):
        out.append((f"concurrent reservation oversold {res['oversold_units']} units (must be 0)", res["oversold_units"] == 0))
    out.append(("nothing oversold, doubled or lost", r["invariants"]["ok"]))
    return out


def _cpu_rows(r: dict) -> list[str]:
    """Where each run's CPU went: the machine's cores are shared by the flow, the simulators,
    the Prefect server and (on this machine) PostgreSQL."""
    runs = {label: run["cpu"] for label, run in r["runs"].items() if run.get("cpu")}
    if not runs:
        return []
    lines = ["", "CPU seconds used during each run, by process (the cores are shared):", "",
             "| run | flow process | simulators | prefect server | PostgreSQL | all | wall s |", "|---|---:|---:|---:|---:|---:|---:|"]
    for label, cpu in runs.items():
        parts = [cpu.get(k) for k in ("flow", "simulators", "prefect_server", "postgres")]
        cells = " | ".join("-" if v is None else f"{v:.1f}" for v in parts)
        lines.append(f"| {label} | {cells} | {sum(v or 0 for v in parts):.1f} | {r['runs'][label]['wall_seconds']:.1f} |")
    return lines
