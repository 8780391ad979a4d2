"""The bench's vendor simulators, served from their own process so their CPU and memory are
not the pipeline's. Started by `SandboxProcess`; answers one JSON line per command on stdin:

  {"cmd": "clock", "at": ISO}      set the simulated clock
  {"cmd": "truth"}                 ground truth: orders placed by now per store, labels bought

It starts with the clock at the scenario's peak cut: every order of the peak day but the
last 2 x `incremental_orders` has been placed (the first run's backlog); the rest arrive in two
cycles by the end of the day: the first after the peak run catches up (it also re-reads the
orders the peak run fulfilled), the second is a typical incremental cycle. No order is placed
after the peak day.
  {"cmd": "quit"}
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

from bench.measure import process_rss_mb, profiled
from bench.scenario import Scenario


def _placed(sandbox, world, moment: datetime) -> dict[str, int]:
    return {c.id: len(sandbox[c.kind].placed_times(c.shop_domain, moment)) for c in world.channels}


def cuts(sandbox, world, scenario: Scenario) -> list[datetime]:
    """Two moments on the peak day: after the first, 2 x `incremental_orders` orders are still to
    come (the peak run's backlog ends there); after the second, `incremental_orders`."""
    times = sorted(t for c in world.channels for t in sandbox[c.kind].placed_times(c.shop_domain, scenario.day_end))
    n = len(times)

    def after(kept: int) -> datetime:
        return (times[kept - 1] if kept > 0 else scenario.start).replace(tzinfo=None) + timedelta(seconds=1)

    return [after(n - 2 * scenario.incremental_orders), after(n - scenario.incremental_orders)]


def serve(scenario: Scenario) -> None:
    from connectors.sandbox.world import running_sandbox

    world = scenario.world()
    with running_sandbox(world, start=scenario.start, seed=scenario.seed, orders_per_day=scenario.orders_per_day(),
                         max_lines=scenario.max_lines, last_order_day=scenario.start.date(),
                         **scenario.shop_plan) as sandbox:
        moments = cuts(sandbox, world, scenario)      # generates the day's orders, placed in the clock's future
        # The day's orders are millions of objects that live as long as this process: kept out of
        # the collector's full scans, which otherwise stall every simulator for seconds each
        # (20 s of a 100k peak run). What the vendors make while serving is still collected.
        gc.collect()
        gc.freeze()
        sandbox.clock.set(moments[0])
        print(json.dumps({"ready": True, "env": sandbox.env, "cuts": [m.isoformat() for m in moments]}), flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            cmd = command["cmd"]
            if cmd == "quit":
                break
            if cmd == "clock":
                sandbox.clock.set(datetime.fromisoformat(command["at"]))
            now = sandbox.clock.now()
            print(json.dumps({"now": now.isoformat(), "placed": _placed(sandbox, world, now),
                              "labels": len(sandbox.carrier.labels())}), flush=True)


class SandboxProcess:
    """`with SandboxProcess(scenario) as sandbox:` — sandbox.env points Cumplido at it."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        self.peak_cut: datetime | None = None

    def __enter__(self) -> "SandboxProcess":
        self.proc = subprocess.Popen(
            profiled([sys.executable, "-m", "bench.sandbox_process", json.dumps(self.scenario.to_json())], "simulators"),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        first = self._answer()
        if not first:
            raise RuntimeError("the bench sandbox process exited before it was ready (see its output above)")
        ready = json.loads(first)
        self.env = ready["env"]
        self.peak_cut, self.catch_up_cut = (datetime.fromisoformat(m) for m in ready["cuts"])
        return self

    def ask(self, **command) -> dict:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        answer = self._answer()
        if not answer:
            raise RuntimeError(f"the bench sandbox process died answering {command}")
        return json.loads(answer)

    def _answer(self) -> str:
        """The simulators' next JSON line ('' once they are gone); other lines (a profiler's) pass through."""
        while (line := self.proc.stdout.readline()) and not line.startswith("{"):
            print(line, end="", file=sys.stderr)
        return line

    def rss_mb(self) -> float:
        return process_rss_mb(self.proc.pid)

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


if __name__ == "__main__":
    serve(Scenario.from_json(json.loads(sys.argv[1])))
