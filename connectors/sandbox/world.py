"""The simulated shop: the storefront, payment and carrier simulators the world file names,
sharing one clock, each served over HTTP on 127.0.0.1 so connectors talk to them exactly as
to the vendors. Every simulator follows one convention per kind:

- storefront: Cls(*, clock, world, seed, start, orders_per_day, payments, deliveries, **options),
  serving the world's channels of its kind under /{shop_domain}/..., ground truth
  `orders_as_of(shop_domain, moment)`;
- payments: Cls(*, clock, seed), `name`, `create_payment_intent(...)` (see sandbox.shopify's
  PaymentIssuer), ground truth `refunds_for(payment_ref)`;
- carrier: Cls(*, clock, world, seed), `delivered_at(tracking_number)`, ground truth `labels()`;
and each exposes `wsgi_app` and `faults`."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from config.world import World
from connectors.sandbox.clock import SimClock
from connectors.sandbox.server import RunningServer, serve

SIMULATORS = {
    "shopify": "connectors.sandbox.shopify:ShopifySandbox",
    "woocommerce": "connectors.sandbox.woocommerce:WooCommerceSandbox",
    "tiendanube": "connectors.sandbox.tiendanube:TiendanubeSandbox",
    "stripe": "connectors.sandbox.stripe:StripeSandbox",
    "paypal": "connectors.sandbox.paypal:PayPalSandbox",
    "mercadopago": "connectors.sandbox.mercadopago:MercadoPagoSandbox",
    "shipengine": "connectors.sandbox.shipengine:ShipEngineSandbox",
    "easypost": "connectors.sandbox.easypost:EasyPostSandbox",
    "shippo": "connectors.sandbox.shippo:ShippoSandbox",
}


def simulator_class(kind: str) -> type:
    module, _, name = SIMULATORS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass
class Sandbox:
    clock: SimClock
    simulators: dict[str, object]            # kind -> simulator
    payments: object
    carrier: object
    servers: dict[str, RunningServer] = field(default_factory=dict)

    def __getitem__(self, kind: str):
        return self.simulators[kind]

    @property
    def env(self) -> dict[str, str]:
        """The settings that point Cumplido at these simulators."""
        return {f"CUMPLIDO_SANDBOX_{kind.upper()}_URL": srv.url for kind, srv in self.servers.items()}

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()


def build_sandbox(
    world: World, *, start: datetime, seed: int = 7, orders_per_day: float = 40.0, **shop_options,
) -> Sandbox:
    """The simulators the world uses, wired together, not yet listening. shop_options go to
    every storefront simulator (malformed_share, return_share, ...)."""
    clock = SimClock(start)
    payments = simulator_class(world.payment_gateway.kind)(clock=clock, seed=seed)
    carrier = simulator_class(world.carrier_account.kind)(clock=clock, world=world, seed=seed)
    simulators = {world.payment_gateway.kind: payments, world.carrier_account.kind: carrier}
    for kind in dict.fromkeys(c.kind for c in world.channels):
        simulators[kind] = simulator_class(kind)(
            clock=clock, world=world, seed=seed, start=start, orders_per_day=orders_per_day,
            payments=payments, deliveries=carrier.delivered_at, **shop_options)
    return Sandbox(clock=clock, simulators=simulators, payments=payments, carrier=carrier)


@contextmanager
def running_sandbox(
    world: World, *, start: datetime, seed: int = 7, orders_per_day: float = 40.0,
    wrap: dict[str, Callable] | None = None, **shop_options,
) -> Iterator[Sandbox]:
    """Serve the simulators; `wrap` maps a kind to WSGI middleware (tests inject faults)."""
    sandbox = build_sandbox(world, start=start, seed=seed, orders_per_day=orders_per_day, **shop_options)
    wrap = wrap or {}
    try:
        for kind, simulator in sandbox.simulators.items():
            app = simulator.wsgi_app
            sandbox.servers[kind] = serve(wrap[kind](app) if kind in wrap else app)
        yield sandbox
    finally:
        sandbox.stop()
