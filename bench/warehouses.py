"""Fresh bench warehouses: a SQLite file, or a PostgreSQL schema dropped and re-created."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url

from bench.scenario import Scenario


def fresh_url(db: str, *, workdir: Path, name: str, postgres_url: str) -> str:
    if db == "sqlite":
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    from warehouse.db import make_engine

    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    finally:
        engine.dispose()
    return make_url(postgres_url).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
        hide_password=False)


def prepare(url: str, scenario: Scenario, *, stock: pd.DataFrame | None = None) -> None:
    """Migrate, load the world's reference data and the scenario's opening stock."""
    from warehouse.db import make_engine, upgrade
    from warehouse.reference import sync_world
    from warehouse.stock import seed_stock

    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            sync_world(conn, scenario.world(), now=scenario.start)
            seed_stock(conn, scenario.stock() if stock is None else stock)
    finally:
        engine.dispose()


def copy_verified_orders(source: Engine, target_url: str) -> int:
    """The source run's orders that passed payment, as payment-verified orders with their lines
    in the target warehouse: the same demand, waiting for stock again."""
    from domain import states
    from warehouse.bulk import read_frame, upsert
    from warehouse.db import make_engine
    from warehouse.schema import order_lines, orders

    waiting = [states.PAYMENT_VERIFIED, states.RESERVED, states.BACKORDERED, states.WAVED, states.LABEL_BOOKED,
               states.SHIPPED, states.DELIVERED, states.EXCEPTION]
    with source.connect() as conn:
        frame = read_frame(conn, select(orders).where(orders.c.status.in_(waiting)))
        lines = read_frame(conn, select(order_lines).where(order_lines.c.order_id.in_(
            select(orders.c.order_id).where(orders.c.status.in_(waiting)))))
    frame = frame.assign(status=states.PAYMENT_VERIFIED, warehouse_id=None)
    engine = make_engine(target_url)
    try:
        with engine.begin() as conn:
            upsert(conn, orders, frame)
            upsert(conn, order_lines, lines)
    finally:
        engine.dispose()
    return len(frame)


def check_postgres(url: str) -> None:
    """Fail in a second, with what to do, when the bench's PostgreSQL is not there."""
    from warehouse.db import WarehouseUnavailable, check_connection, make_engine

    engine = make_engine(url)
    try:
        check_connection(engine)
    except WarehouseUnavailable as exc:
        raise WarehouseUnavailable(f"{exc}\n(the bench's PostgreSQL: pass --postgres-url or set "
                                   "CUMPLIDO_BENCH_POSTGRES_URL, or run with --db sqlite)") from None
    finally:
        engine.dispose()
