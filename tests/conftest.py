"""Shared fixtures: a warehouse database on SQLite and on PostgreSQL.

`db_url` runs a test once per backend. PostgreSQL comes from CUMPLIDO_TEST_POSTGRES_URL;
each test session works in its own freshly created schema (search_path), dropped at the
end, so tests never see leftovers. Set CUMPLIDO_REQUIRE_POSTGRES=1 (as CI does) to make a
session fail when PostgreSQL tests were skipped for want of that URL.
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

# The package is normally installed (`pip install -e .`); this keeps a bare checkout working,
# including in processes the tests spawn (they inherit sys.path).
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import make_url, text  # noqa: E402

from warehouse.db import make_engine, upgrade  # noqa: E402
from warehouse.schema import metadata  # noqa: E402

POSTGRES_ENV = "CUMPLIDO_TEST_POSTGRES_URL"
REQUIRE_ENV = "CUMPLIDO_REQUIRE_POSTGRES"
_skipped_for_postgres: list[str] = []


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path_factory) -> str:
    """A migrated-on-demand database URL: a temporary SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('warehouse') / 'cumplido.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    schema = f"cumplido_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def _migrated_engine(db_url):
    upgrade(db_url)  # once per session and backend; tests then only empty the tables
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(_migrated_engine):
    """A migrated warehouse with every table empty."""
    tables = [t.name for t in metadata.sorted_tables]
    with _migrated_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    return _migrated_engine


@pytest.fixture(scope="session")
def world():
    from config.settings import DEFAULT_WORLD
    from config.world import load_world

    return load_world(DEFAULT_WORLD)


# --- CUMPLIDO_REQUIRE_POSTGRES: skipped PostgreSQL tests fail the session --------------------
def pytest_runtest_logreport(report) -> None:
    if report.skipped and "postgres" in report.keywords and POSTGRES_ENV in str(report.longrepr):
        _skipped_for_postgres.append(report.nodeid)


def _postgres_required_but_skipped() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1" and bool(_skipped_for_postgres)


def pytest_sessionfinish(session, exitstatus) -> None:
    if _postgres_required_but_skipped():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _postgres_required_but_skipped():
        terminalreporter.section("PostgreSQL required", sep="=", red=True, bold=True)
        terminalreporter.line(
            f"{REQUIRE_ENV}=1 but {len(_skipped_for_postgres)} PostgreSQL test(s) were skipped: "
            f"set {POSTGRES_ENV}, e.g. postgresql://postgres@127.0.0.1:5432/test", red=True)


# --- warehouse test data ----------------------------------------------------------------
@pytest.fixture
def order_frames():
    """Build (orders, lines) frames shaped like the warehouse tables:
    order_frames({"A": [("SKU-1", 2)], "B": [("SKU-1", 1), ("SKU-2", 1)]}, status=..., region=...).
    Orders are placed one minute apart in the order given (first come, first served)."""
    return build_order_frames


def build_order_frames(specs: dict, *, status: str = "payment_verified", region: str = "NJ",
                       channel: str = "shop", placed_at=None):
    import pandas as pd

    t0 = placed_at or pd.Timestamp("2026-11-26 09:00")
    orders, lines = [], []
    for i, (external_id, order_lines) in enumerate(specs.items()):
        order_id, placed = f"{channel}:{external_id}", t0 + pd.Timedelta(minutes=i)
        orders.append({
            "order_id": order_id, "channel": channel, "external_id": str(external_id),
            "order_number": f"#{external_id}", "placed_at": placed, "source_updated_at": placed,
            "customer_name": "Ada Lovelace", "customer_email": "ada@example.com",
            "ship_to_line1": "1 Main St", "ship_to_city": "Trenton", "ship_to_region": region,
            "ship_to_postal_code": "08608", "ship_to_country": "US", "shipping_method": "standard",
            "currency": "USD", "total_amount": 20.0 * len(order_lines), "payment_ref": f"pi_{external_id}",
            "status": status, "hold_reason": None, "status_at": placed, "warehouse_id": None,
            "promised_by": placed + pd.Timedelta(days=6), "ingested_at": placed,
        })
        lines += [{"order_id": order_id, "line_no": n, "external_line_id": f"{external_id}-{n}", "sku": sku,
                   "quantity": qty, "unit_price": 20.0, "weight_kg": 0.5}
                  for n, (sku, qty) in enumerate(order_lines, start=1)]
    from warehouse import schema

    return (pd.DataFrame(orders, columns=[c.name for c in schema.orders.c]),
            pd.DataFrame(lines, columns=[c.name for c in schema.order_lines.c]))
