"""Real flow runs: one prefect_test_harness per session, a fresh sandbox shop per test, the
warehouse on each backend (the `db_url`/`engine` fixtures of tests/conftest.py)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

START = datetime(2026, 11, 2, 6, 0)


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def world():
    from config.settings import DEFAULT_WORLD
    from config.world import load_world

    return load_world(DEFAULT_WORLD)


@pytest.fixture
def make_shop(prefect_harness, engine, db_url, world, monkeypatch):
    """make_shop(**options) → a running sandbox the flows talk to, warehouse seeded with stock."""
    from config.world import load_world
    from connectors.sandbox.catalog import demo_stock
    from connectors.sandbox.world import running_sandbox
    from tasks.resources import reset_resources
    from warehouse.reference import sync_world
    from warehouse.stock import seed_stock

    monkeypatch.setenv("CUMPLIDO_DATABASE_URL", db_url)
    monkeypatch.setenv("CUMPLIDO_HTTP_MAX_RETRIES", "1")
    with engine.begin() as conn:
        sync_world(conn, world, now=START)
        seed_stock(conn, demo_stock(world))
    contexts = []

    def make(*, world_file=None, **options):
        """world_file: another world (storefront x payment x carrier); default: the default world."""
        shop_world = world
        if world_file is not None:
            shop_world = load_world(world_file)
            monkeypatch.setenv("CUMPLIDO_WORLD_FILE", str(world_file))
            with engine.begin() as conn:
                sync_world(conn, shop_world, now=START)
        options.setdefault("orders_per_day", 10.0)
        options.setdefault("seed", 11)
        context = running_sandbox(shop_world, start=START, **options)
        sandbox = context.__enter__()
        contexts.append(context)
        for key, value in sandbox.env.items():
            monkeypatch.setenv(key, value)
        reset_resources()
        return sandbox

    yield make
    for context in contexts:
        context.__exit__(None, None, None)
    reset_resources()


@pytest.fixture
def no_task_retries(monkeypatch) -> Callable[[str, str], None]:
    """Fail fast: the flow module's task loses its Prefect retries for this test."""

    def patch(flow_module: str, task_name: str) -> None:
        import importlib

        module = importlib.import_module(flow_module)
        monkeypatch.setattr(module, task_name, getattr(module, task_name).with_options(retries=0))

    return patch

