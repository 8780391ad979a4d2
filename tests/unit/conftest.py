"""Unit tests of the pure domain: no database, no network, no Prefect."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# The package is normally installed (`make install` runs `pip install -e .`); this keeps
# `pytest tests/unit` working from a bare checkout too.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config.settings import DEFAULT_WORLD  # noqa: E402
from config.world import World, load_world  # noqa: E402

settings.register_profile("unit", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("unit")


@pytest.fixture(scope="session")
def world() -> World:
    return load_world(DEFAULT_WORLD)


@pytest.fixture(scope="session")
def known_skus(world: World) -> set[str]:
    return {f"SKU-{i:05d}" for i in range(1, world.catalog.skus + 1)}
