"""Fixtures shared by the connector tests."""
from __future__ import annotations

import pytest

from config.settings import DEFAULT_WORLD
from config.world import load_world
from connectors.sandbox.clock import SimClock
from connectors.sandbox.server import serve
from tests.integration.common import NOW


@pytest.fixture(scope="module")
def switchboard():
    """One listening server for the module, routed to each test's own sandbox: tests swap
    `current["app"]` instead of starting a server each."""
    current = {}
    server = serve(lambda environ, start_response: current["app"](environ, start_response))
    yield server.url, current
    server.stop()


@pytest.fixture(scope="module")
def world():
    return load_world(DEFAULT_WORLD)


@pytest.fixture
def clock() -> SimClock:
    return SimClock(NOW)


@pytest.fixture
def url(switchboard) -> str:
    """The module's server, where each test's simulator answers."""
    return switchboard[0]


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait a client asked for, instead of waiting."""
    return []
