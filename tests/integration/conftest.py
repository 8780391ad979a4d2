"""Fixtures shared by the connector tests."""
from __future__ import annotations

import pytest

from connectors.sandbox.server import serve


@pytest.fixture(scope="module")
def switchboard():
    """One listening server for the module, routed to each test's own sandbox: tests swap
    `current["app"]` instead of starting a server each."""
    current = {}
    server = serve(lambda environ, start_response: current["app"](environ, start_response))
    yield server.url, current
    server.stop()
