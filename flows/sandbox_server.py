"""`cumplido sandbox serve`: the vendor simulators as a long-running local service, so a
Prefect server, worker and scheduled deployments can run against them."""
from __future__ import annotations

import time
from datetime import timedelta


def serve_forever(*, seed: int, orders_per_day: float, speed: float) -> int:
    from config.world import load_world
    from connectors.sandbox.world import running_sandbox
    from tasks.resources import resources, utc_now

    world = load_world(resources().settings.world_file)
    start = utc_now() - timedelta(days=1)  # a day of history to pull on the first run
    with running_sandbox(world, start=start, seed=seed, orders_per_day=orders_per_day) as sandbox:
        sandbox.clock.set(utc_now())
        print("Simulators listening. Point Cumplido at them with:")
        for key, value in sandbox.env.items():
            print(f"  export {key}={value}")
        print(f"The simulated clock runs at {speed:g}x real time from now; Ctrl-C stops.", flush=True)
        try:
            while True:
                time.sleep(1)
                sandbox.clock.advance(timedelta(seconds=speed))
        except KeyboardInterrupt:
            return 0
