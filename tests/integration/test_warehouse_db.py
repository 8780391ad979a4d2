"""Engines, connection checks and migrations, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import make_url, text

from warehouse.db import (
    WarehouseUnavailable,
    check_connection,
    check_migrated,
    current_revision,
    head_revision,
    make_engine,
    refresh_statistics,
    upgrade,
)
from warehouse.schema import SCHEMA_REVISION, metadata, quarantine


def test_migrated_schema_matches_schema_module(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, metadata) == []


def test_upgrade_is_idempotent_and_reports_head(db_url, engine):
    upgrade(db_url)
    assert current_revision(db_url) == head_revision() == SCHEMA_REVISION   # the runs' check names the head
    check_migrated(engine)


def test_a_database_behind_the_code_is_refused_with_advice(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    with pytest.raises(WarehouseUnavailable, match=f"at schema revision 0002, this code needs {SCHEMA_REVISION}"):
        check_migrated(make_engine(url))


def test_a_database_never_migrated_is_refused_with_advice(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(WarehouseUnavailable, match="has no Cumplido schema.*cumplido db upgrade"):
        check_migrated(engine)
    assert current_revision(f"sqlite:///{tmp_path / 'empty.db'}") is None


def test_sqlite_engine_creates_its_folder_and_uses_wal(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'w.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    assert (tmp_path / "a" / "b" / "w.db").exists()


def test_sqlite_writers_queue_instead_of_failing_on_lock_upgrade(tmp_path):
    """Two read-then-write transactions: with deferred BEGIN the second fails at once with
    'database is locked'; with BEGIN IMMEDIATE it waits its turn and both increments land."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    gate = threading.Barrier(2)

    def increment():
        gate.wait()
        for _ in range(20):
            with engine.begin() as conn:
                n = conn.execute(text("SELECT n FROM counter")).scalar()
                conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    workers = [threading.Thread(target=increment) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar() == 40


def test_unreachable_postgres_says_what_to_check_without_the_password():
    engine = make_engine("postgresql://cumplido:s3cret-pw@127.0.0.1:1/shop?connect_timeout=2")
    with pytest.raises(WarehouseUnavailable) as caught:
        check_connection(engine)
    message = str(caught.value)
    assert message.startswith("cannot connect to PostgreSQL at 127.0.0.1:1/shop:")
    assert "is the server running?" in message and "CUMPLIDO_DATABASE_URL" in message
    assert "s3cret-pw" not in message


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_missing_postgres_database_is_explained(db_url):
    url = make_url(db_url).set(database="cumplido_no_such_db")
    with pytest.raises(WarehouseUnavailable, match="does not exist"):
        check_connection(make_engine(url))


def test_upgrading_to_0005_moves_every_payload_out_of_orders_and_back_on_downgrade(tmp_path):
    from alembic import command

    from warehouse.db import _alembic_config

    url = f"sqlite:///{tmp_path / 'payloads.db'}"
    upgrade(url, "0004")
    engine = make_engine(url)
    columns = ("order_id, channel, external_id, order_number, placed_at, source_updated_at, customer_name, "
               "customer_email, ship_to_line1, ship_to_city, ship_to_region, ship_to_postal_code, ship_to_country, "
               "shipping_method, currency, total_amount, status, status_at, promised_by, ingested_at, raw")
    with engine.begin() as conn:
        for n in (1, 2):
            conn.execute(text(f"INSERT INTO orders ({columns}) VALUES ('shop:{n}', 'shop', '{n}', '#{n}', "
                              "'2026-11-26', '2026-11-26', 'Ada', 'a@example.com', '1 Main St', 'Trenton', 'NJ', "
                              f"'08608', 'US', 'standard', 'USD', 10, 'waved', '2026-11-26', '2026-12-01', "
                              f"'2026-11-26', '{{\"id\": {n}}}')"))
    upgrade(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT order_id, raw FROM order_payloads ORDER BY order_id")).all() == [
            ("shop:1", '{"id": 1}'), ("shop:2", '{"id": 2}')]
        assert conn.execute(text("SELECT status FROM orders WHERE order_id = 'shop:2'")).scalar() == "waved"
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0004")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT raw FROM orders ORDER BY order_id")).scalars().all() == ['{"id": 1}', '{"id": 2}']
    engine.dispose()


def test_statistics_refreshed_for_tables_grown_past_autovacuums_threshold(engine):
    seen = datetime(2026, 11, 27)
    rows = [{"source": "shop", "stream": "orders", "external_id": str(i), "reason": "bad", "raw": "{}",
             "first_seen_at": seen, "last_seen_at": seen} for i in range(200)]
    with engine.begin() as conn:
        conn.execute(quarantine.insert(), rows)
    refreshed = refresh_statistics(engine, {"quarantine": 200})
    if engine.dialect.name != "postgresql":
        assert refreshed == []   # SQLite plans these reads by index without statistics
        return
    assert refreshed == ["quarantine"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'quarantine'::regclass")).scalar() == 200
    assert refresh_statistics(engine, {"quarantine": 60}) == []   # under 50 + 10 % of the 200 it counted
    assert refresh_statistics(engine, {"quarantine": 71}) == ["quarantine"]
