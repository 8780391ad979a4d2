"""`cumplido bench`: the scenario served from its own process, the real flows run against a
real `prefect server` and a fresh warehouse, the baselines measured on the same orders, the
invariants checked, and the results written under bench/results/."""
from __future__ import annotations

import os
import platform
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.scenario import Scenario

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).resolve().parent / "results"
SCALE_OUT_MAX = 10_000        # scale-out is measured on days up to this size


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def run_one(orders: int, db: str, *, seed: int, postgres_url: str, workdir: Path, out_dir: Path,
            reservation_writers: int = 4) -> dict:
    from bench import baselines, invariants, report
    from bench.flow_run import run_child
    from bench.measure import postgres_cpu_seconds, speed_probe, tree_cpu_seconds
    from bench.prefect_server import PrefectServer
    from bench.sandbox_process import SandboxProcess
    from bench.warehouses import copy_verified_orders, fresh_url, prepare
    from warehouse.db import make_engine

    scenario = Scenario.sized(orders, seed=seed)
    tag = f"[{orders:,} orders · {db}]"
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    url = fresh_url(db, workdir=workdir, name="cumplido_bench", postgres_url=postgres_url)
    say(f"{tag} warehouse {url.split('?')[0]}: migrating, loading the world and the scaled opening stock")
    prepare(url, scenario)
    say(f"{tag} starting prefect server and the vendor simulators (each in its own process)")
    with PrefectServer(workdir / "prefect") as server, SandboxProcess(scenario) as sandbox:
        env = {**os.environ, **server.env, **sandbox.env, "CUMPLIDO_DATABASE_URL": url,
               "CUMPLIDO_WORLD_FILE": str(scenario.world_file), "PYTHONUNBUFFERED": "1"}
        runs = {}

        def others_cpu() -> dict[str, float | None]:
            return {"simulators": tree_cpu_seconds(sandbox.proc.pid), "prefect_server": tree_cpu_seconds(server.proc.pid),
                    "postgres": postgres_cpu_seconds()}

        def run(label: str, flow: str, at: datetime) -> dict:
            say(f"{tag} {label}: {flow} as of {at:%Y-%m-%d %H:%M}")
            before = others_cpu()
            result = run_child(flow, at, env)
            after = others_cpu()
            result["cpu"] = {"flow": result.pop("cpu_seconds", None), **{
                name: round(after[name] - before[name], 2) if before[name] is not None else None for name in before}}
            runs[label] = result
            say(f"{tag}   {result['state'].lower()} in {result['run_seconds'] or result['wall_seconds']:.2f} s "
                f"(process {result['wall_seconds']:.2f} s), {result['task_runs']} task runs, "
                f"{100 * result['orchestration_share']:.1f} % outside tasks, DB {result['db_seconds']:.2f} s, "
                f"peak RSS {result['peak_rss_mb']:.0f} MB")
            return result

        probe = {"before": speed_probe()}
        at_peak = sandbox.ask(cmd="truth")
        run("peak", "fulfil-orders", sandbox.peak_cut)
        # what the peak run had no time to tell the stores, drained as the every-minute deployment would
        drained = run("store-backlog", "notify-storefronts", sandbox.peak_cut)["counts"].get("push_fulfillments") or {}
        say(f"{tag}   {drained.get('pushed', 0):,} fulfilments told to the stores in {drained.get('rounds', 0)} "
            f"round(s), {drained.get('left', 0):,} left")
        caught_up = sandbox.ask(cmd="clock", at=sandbox.catch_up_cut.isoformat())
        run("catch-up", "fulfil-orders", sandbox.catch_up_cut)
        moved = sandbox.ask(cmd="clock", at=scenario.day_end.isoformat())
        run("incremental", "fulfil-orders", scenario.day_end)
        for label, flow, days in (("tracking", "track-shipments", 3), ("tracking-2", "track-shipments", 6),
                                  ("returns", "process-returns", 6), ("metrics", "refresh-metrics", 6)):
            at = scenario.day_end + timedelta(days=days)
            sandbox.ask(cmd="clock", at=at.isoformat())
            run(label, flow, at)
        truth = sandbox.ask(cmd="truth")
        sandbox_rss = sandbox.rss_mb()
        probe["after"] = speed_probe()

        engine = make_engine(url)
        world = scenario.world()
        say(f"{tag} baselines: pick travel (waves vs single-order vs FCFS+S-shape vs optimal)")
        result_baselines = {"pick_travel": baselines.pick_travel(engine, world, seed=seed)}
        say(f"{tag} baselines: label cost (rate shopping vs always {world.default_service})")
        os.environ.update(sandbox.env)
        from config.settings import load_settings
        from connectors import registry

        carrier = registry.carrier(world, load_settings().model_copy(update={"world_file": scenario.world_file}))
        result_baselines["label_cost"] = baselines.label_cost(engine, world, carrier, as_of=sandbox.peak_cut, seed=seed)
        say(f"{tag} baselines: bulk writes vs row-by-row")
        result_baselines["bulk_writes"] = baselines.bulk_vs_row_by_row(engine)
        say(f"{tag} invariants: nothing oversold, doubled or lost")
        # orders placed up to the last fulfilment run must all be stored or parked with a reason
        checked = invariants.check(engine, placed=moved["placed"], carrier_labels=truth["labels"])
        if db == "postgres":
            say(f"{tag} baselines: reservation by {reservation_writers} concurrent writers")
            reserve_url = fresh_url(db, workdir=workdir, name="cumplido_bench_reserve", postgres_url=postgres_url)
            stock = scenario.stock()
            stock["on_hand"] = (stock["on_hand"] * 0.8).astype(int)   # tighter than demand: writers contend
            prepare(reserve_url, scenario, stock=stock)
            copy_verified_orders(engine, reserve_url)
            result_baselines["reservation"] = baselines.concurrent_reservation(
                reserve_url, str(scenario.world_file), now=scenario.day_end, writers=reservation_writers)
        engine.dispose()

    result = {
        "date": date.today().isoformat(), "db": db, "orders": orders, "seed": seed,
        "peak_orders": sum(at_peak["placed"].values()),
        "catch_up_orders": sum(caught_up["placed"].values()) - sum(at_peak["placed"].values()),
        "incremental_orders": sum(moved["placed"].values()) - sum(caught_up["placed"].values()),
        "command": f"cumplido bench --orders {orders} --db {db} --seed {seed}", "machine": machine(),
        "speed_probe_seconds": probe, "scenario": scenario.to_json(), "orders_placed": moved["placed"],
        "runs": runs, "baselines": result_baselines, "invariants": checked,
        "sandbox_rss_mb": round(sandbox_rss, 1), "bench_seconds": round(time.monotonic() - started, 1),
    }
    result["targets"] = report.targets(result)
    json_path, md_path = report.write(result, out_dir)
    say(f"{tag} done in {result['bench_seconds']:.0f} s → {json_path} and {md_path}")
    for text, ok in result["targets"]:
        say(f"    {'ok  ' if ok else 'MISS'} {text}")
    return result


def run_many(*, sizes: list[int], dbs: list[str], seed: int, postgres_url: str, workdir: Path, out_dir: Path,
             workers: list[int] | None = None) -> int:
    """Every (database, size) in turn; returns 1 if any run missed a target or broke an invariant."""
    if "postgres" in dbs or workers:
        from bench.warehouses import check_postgres

        check_postgres(postgres_url)
    missed = 0
    for db in dbs:
        for orders in sizes:
            result = run_one(orders, db, seed=seed, postgres_url=postgres_url, workdir=workdir / f"{db}-{orders}",
                             out_dir=out_dir)
            missed += sum(not ok for _, ok in result["targets"])
    if workers:
        from bench.scale_out import run_scale_out

        for orders in [n for n in sizes if n <= SCALE_OUT_MAX] or [SCALE_OUT_MAX]:   # a day a worker count
            run_scale_out(orders, workers=workers, seed=seed, postgres_url=postgres_url,
                          workdir=workdir / f"scale-{orders}", out_dir=out_dir)
    return 1 if missed else 0
