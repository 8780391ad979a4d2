"""Scale-out: the same peak day run by `fulfil-orders` deployments partitioned by channel,
all triggered at once on one process work pool served by 1, 2, … workers (each running one
flow run at a time), against one PostgreSQL warehouse. Reports throughput per worker count
and checks the invariants after each."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from bench.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
POOL = "cumplido-bench"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def partitions(scenario: Scenario) -> list[dict]:
    """One deployment per channel: each pulls, verifies, reserves, waves and books its own orders."""
    return [{"name": f"fulfil-orders-{c.id}", "channels": [c.id]} for c in scenario.world().channels]


def drive(spec: dict) -> dict:
    """In a process whose PREFECT_API_URL is the bench server: create the pool and the
    partitioned deployments, trigger them all at once, wait for every run to finish."""
    from prefect import flow as _  # noqa: F401  (settles Prefect's settings from this environment)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.flows import Flow

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        except ObjectAlreadyExists:  # a worker that started first created it
            pass
    names = []
    for part in spec["partitions"]:
        source = Flow.from_source(source=str(ROOT), entrypoint="flows/fulfil_orders.py:fulfil_orders")
        source.deploy(name=part["name"], work_pool_name=POOL, parameters={"channels": part["channels"]},
                      job_variables={"env": spec["flow_env"], "working_dir": str(ROOT)}, print_next_steps=False)
        names.append(f"fulfil-orders/{part['name']}")
    started = time.monotonic()
    runs = [run_deployment(name, parameters={"as_of": spec["as_of"]}, timeout=0) for name in names]
    with get_client(sync_client=True) as client:
        while True:
            states = [client.read_flow_run(r.id).state for r in runs]
            if all(s.is_final() for s in states):
                break
            time.sleep(0.5)
        finished = [client.read_flow_run(r.id) for r in runs]
    wall = time.monotonic() - started
    return {"wall_seconds": round(wall, 2), "runs": [
        {"name": f.name, "state": f.state.type.value, "start": str(f.start_time), "end": str(f.end_time),
         "seconds": f.total_run_time.total_seconds()} for f in finished]}


def stop_workers(procs: list[subprocess.Popen], *, grace: float = 30.0) -> None:
    """SIGTERM, then SIGKILL for a worker still shutting down after `grace` seconds (a worker has
    been seen hanging in its shutdown after every flow run had ended)."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            say(f"a worker (pid {p.pid}) did not stop within {grace:.0f} s of SIGTERM: killed")
            p.kill()
            p.wait()


def run_scale_out(orders: int, *, workers: list[int], seed: int, postgres_url: str, workdir: Path,
                  out_dir: Path, schema: str = "cumplido_bench_scale") -> list[dict]:
    from bench import invariants
    from bench.prefect_server import PrefectServer
    from bench.sandbox_process import SandboxProcess
    from bench.warehouses import fresh_url, prepare
    from warehouse.db import make_engine

    scenario = Scenario.sized(orders, seed=seed)
    results = []
    for count in workers:
        tag = f"[scale-out · {orders:,} orders · {count} worker{'s' if count > 1 else ''}]"
        url = fresh_url("postgres", workdir=workdir, name=schema, postgres_url=postgres_url)
        prepare(url, scenario)
        with PrefectServer(workdir / f"prefect-{count}") as server, SandboxProcess(scenario) as sandbox:
            sandbox.ask(cmd="clock", at=scenario.day_end.isoformat())       # the whole peak day is waiting
            flow_env = {**sandbox.env, "CUMPLIDO_DATABASE_URL": url, "CUMPLIDO_WORLD_FILE": str(scenario.world_file)}
            env = {**os.environ, **server.env, **flow_env, "PREFECT_WORKER_QUERY_SECONDS": "1",
                   "PREFECT_WORKER_PREFETCH_SECONDS": "0"}
            say(f"{tag} starting {count} process worker(s) on pool {POOL}, one flow run at a time each")
            procs = [subprocess.Popen([str(Path(sys.executable).with_name("prefect")), "worker", "start", "--pool", POOL,
                                       "--type", "process", "--limit", "1", "--name", f"bench-worker-{i}"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for i in range(count)]
            try:
                spec = {"partitions": partitions(scenario), "as_of": scenario.day_end.isoformat(), "flow_env": flow_env}
                say(f"{tag} triggering {len(spec['partitions'])} partitioned deployments at once")
                proc = subprocess.run([sys.executable, "-m", "bench.scale_out", json.dumps(spec)], env=env,
                                      stdout=subprocess.PIPE, text=True, check=True)
                driven = json.loads(proc.stdout.strip().splitlines()[-1])
            finally:
                stop_workers(procs)
            truth = sandbox.ask(cmd="truth")
        engine = make_engine(url)
        checked = invariants.check(engine, placed=truth["placed"], carrier_labels=truth["labels"])
        with engine.connect() as conn:
            from sqlalchemy import text

            booked = conn.execute(text("select count(*) from shipments where label_status = 'purchased'")).scalar_one()
        engine.dispose()
        placed = sum(truth["placed"].values())
        result = {"workers": count, "partitions": len(spec["partitions"]), "orders": placed, "labels": int(booked),
                  "wall_seconds": driven["wall_seconds"], "orders_per_s": round(placed / driven["wall_seconds"], 1),
                  "runs": driven["runs"], "invariants": checked}
        say(f"{tag} {placed:,} orders in {driven['wall_seconds']:.1f} s ({result['orders_per_s']:,.0f} orders/s), "
            f"invariants {'ok' if checked['ok'] else 'FAILED'}")
        results.append(result)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{datetime.now():%Y-%m-%d}-scale-out-{orders}.json"
    path.write_text(json.dumps({"orders": orders, "seed": seed, "results": results}, indent=2, default=str) + "\n")
    say(f"scale-out results → {path}")
    return results


if __name__ == "__main__":
    print(json.dumps(drive(json.loads(sys.argv[1])), default=str), flush=True)
