"""The outside systems a task talks to, built lazily once per process from settings."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy.engine import Engine

from config.settings import Settings, load_settings
from config.world import World, load_world
from connectors import registry
from connectors.protocols import Carrier, PaymentGateway, Storefront


@dataclass
class Resources:
    settings: Settings
    _storefronts: dict[str, Storefront] = field(default_factory=dict)

    @cached_property
    def world(self) -> World:
        return load_world(self.settings.world_file)

    @cached_property
    def engine(self) -> Engine:
        from warehouse.db import make_engine

        return make_engine(self.settings.database_url)

    def storefront(self, channel_id: str) -> Storefront:
        if channel_id not in self._storefronts:
            channel = next((c for c in self.world.channels if c.id == channel_id), None)
            if channel is None:
                known = ", ".join(c.id for c in self.world.channels)
                raise ValueError(f"unknown channel {channel_id!r}; the world file defines: {known}")
            self._storefronts[channel_id] = registry.storefront_for(channel, self.settings)
        return self._storefronts[channel_id]

    @cached_property
    def payment_gateway(self) -> PaymentGateway:
        return registry.payment_gateway(self.world, self.settings)

    @cached_property
    def carrier(self) -> Carrier:
        from warehouse.quotes import WarehouseQuotes

        return registry.carrier(self.world, self.settings, quote_memory=WarehouseQuotes(lambda: self.engine))

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


_lock = threading.Lock()
_current: Resources | None = None


def resources() -> Resources:
    global _current
    with _lock:
        if _current is None:
            _current = Resources(settings=load_settings())
        return _current


def reset_resources() -> None:
    """Forget everything built so far (settings changed, e.g. between tests or demo phases)."""
    global _current
    with _lock:
        if _current is not None:
            _current.close()
        _current = None


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
