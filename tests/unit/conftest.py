"""Unit tests of the pure domain: no database, no network, no Prefect.
(tests/conftest.py puts the checkout on sys.path and provides the `world` fixture.)"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from config.world import World

settings.register_profile("unit", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("unit")


@pytest.fixture(scope="session")
def known_skus(world: World) -> set[str]:
    return {f"SKU-{i:05d}" for i in range(1, world.catalog.skus + 1)}
