"""The simulated shop: Shopify shops, Stripe and ShipEngine sandboxes sharing one clock,
each served over HTTP on 127.0.0.1 so connectors talk to them exactly as to the vendors."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from config.world import World
from connectors.sandbox.clock import SimClock
from connectors.sandbox.server import RunningServer, serve


@dataclass
class Sandbox:
    clock: SimClock
    shopify: object
    stripe: object
    shipengine: object
    servers: dict[str, RunningServer] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The settings that point Cumplido at these simulators."""
        return {f"CUMPLIDO_SANDBOX_{name.upper()}_URL": srv.url for name, srv in self.servers.items()}

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()


def build_sandbox(
    world: World, *, start: datetime, seed: int = 7, orders_per_day: float = 40.0, **shop_options,
) -> Sandbox:
    """The three simulators wired together, not yet listening. shop_options go to the
    Shopify simulator (malformed_share, return_share, ...)."""
    from connectors.sandbox.shipengine import ShipEngineSandbox
    from connectors.sandbox.shopify import ShopifySandbox
    from connectors.sandbox.stripe import StripeSandbox

    clock = SimClock(start)
    stripe = StripeSandbox(clock=clock, seed=seed)
    shipengine = ShipEngineSandbox(clock=clock, world=world, seed=seed)
    shopify = ShopifySandbox(
        clock=clock, world=world, seed=seed, start=start, orders_per_day=orders_per_day,
        payments=stripe, deliveries=shipengine.delivered_at, **shop_options,
    )
    return Sandbox(clock=clock, shopify=shopify, stripe=stripe, shipengine=shipengine)


@contextmanager
def running_sandbox(
    world: World, *, start: datetime, seed: int = 7, orders_per_day: float = 40.0,
    wrap: dict[str, Callable] | None = None, **shop_options,
) -> Iterator[Sandbox]:
    """Serve the simulators; `wrap` maps a vendor name to WSGI middleware (tests inject faults)."""
    sandbox = build_sandbox(world, start=start, seed=seed, orders_per_day=orders_per_day, **shop_options)
    wrap = wrap or {}
    try:
        for name in ("shopify", "stripe", "shipengine"):
            app = getattr(sandbox, name).wsgi_app
            sandbox.servers[name] = serve(wrap[name](app) if name in wrap else app)
        yield sandbox
    finally:
        sandbox.stop()
