"""Concurrent reservation runs compete for the same scarce SKUs and never oversell.

PostgreSQL: threads and spawned processes, each transaction claiming orders with SKIP LOCKED
and locking stock rows in key order. SQLite: two threads serialised by BEGIN IMMEDIATE.
"""
from __future__ import annotations

import multiprocessing
import random
import threading
from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from domain import states
from warehouse.bulk import read_frame, upsert
from warehouse.schema import (
    backorders,
    fulfillment_events,
    order_lines,
    orders,
    reservations,
    stock,
)
from warehouse.stock import seed_stock

NOW = datetime(2026, 11, 26, 10, 0)
SKUS = ["SCARCE-1", "SCARCE-2", "SCARCE-3"]
BINS = [("EWR-A01-B01-L1", "EWR"), ("EWR-A02-B03-L2", "EWR"), ("LAX-A01-B01-L1", "LAX")]
POSTGRES_ONLY = [pytest.param("postgres", marks=pytest.mark.postgres)]


def reserve_until_done(url: str, gate, batch: int = 4) -> int:
    """One worker: reserve small batches, each in its own transaction, until no unclaimed
    payment_verified order is left. Module level so that spawned processes can run it."""
    from config.settings import DEFAULT_WORLD
    from config.world import load_world
    from warehouse.db import make_engine
    from warehouse.stock import reserve_orders

    warehouses, engine, decided = load_world(DEFAULT_WORLD).warehouses, make_engine(url), 0
    gate.wait(timeout=60)
    try:
        while True:
            with engine.begin() as conn:
                allocation = reserve_orders(conn, warehouses=warehouses, now=NOW, ttl=timedelta(hours=1),
                                            limit=batch, statuses=[states.PAYMENT_VERIFIED])
            if allocation.outcomes.empty:
                return decided
            decided += len(allocation.outcomes)
    finally:
        engine.dispose()


@pytest.fixture
def contested(engine, order_frames):
    """Scarce stock (3 units per SKU per bin) and 90 orders wanting 1-3 units of 1-2 of them."""
    rng = random.Random(7)
    with engine.begin() as conn:
        seed_stock(conn, pd.DataFrame([(sku, loc, wh, 3) for sku in SKUS for loc, wh in BINS],
                                      columns=["sku", "location_id", "warehouse_id", "on_hand"]))
        specs = {f"{i:03d}": [(sku, rng.randint(1, 3)) for sku in rng.sample(SKUS, rng.randint(1, 2))]
                 for i in range(90)}
        for region in ("NJ", "CA"):
            mine = {k: v for k, v in specs.items() if (int(k) % 2 == 0) == (region == "NJ")}
            found, lines = order_frames(mine, region=region)
            upsert(conn, orders, found)
            upsert(conn, order_lines, lines)
    return engine


def assert_never_oversold(engine, *, expected_orders: int) -> None:
    with engine.connect() as conn:
        shelves = read_frame(conn, select(stock))
        held = read_frame(conn, select(reservations).where(reservations.c.status == "active"))
        final = read_frame(conn, select(orders.c.order_id, orders.c.status))
        lines = read_frame(conn, select(order_lines))
        short = read_frame(conn, select(backorders).where(backorders.c.status == "open"))
        events = read_frame(conn, select(fulfillment_events))
    assert (shelves["reserved"] <= shelves["on_hand"]).all()
    per_bin = held.groupby(["sku", "location_id"])["quantity"].sum()
    assert shelves.set_index(["sku", "location_id"])["reserved"].sub(per_bin, fill_value=0).eq(0).all()
    assert held["reservation_id"].is_unique and held.groupby("order_id")["warehouse_id"].nunique().max() == 1
    assert len(final) == expected_orders
    assert set(final["status"]) == {states.RESERVED, states.BACKORDERED}       # scarcity was real
    reserved = set(final.loc[final["status"] == states.RESERVED, "order_id"])
    assert set(held["order_id"]) == reserved and not reserved & set(short["order_id"])
    wanted = lines[lines["order_id"].isin(reserved)].set_index(["order_id", "line_no"])["quantity"]
    got = held.groupby(["order_id", "line_no"])["quantity"].sum()
    assert wanted.sort_index().equals(got.sort_index().rename("quantity"))     # reserved in full
    assert not events.duplicated("order_id").any() and len(events) == expected_orders


def run_threads(url: str, workers: int) -> list[int]:
    gate, results, errors = threading.Barrier(workers), [], []

    def work():
        try:
            results.append(reserve_until_done(url, gate))
        except BaseException as exc:  # surfaced below: a thread's exception would vanish
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.parametrize("db_url", POSTGRES_ONLY, indirect=True)
def test_four_threads_never_oversell(db_url, contested):
    decided = run_threads(db_url, 4)
    assert sum(decided) == 90
    assert_never_oversold(contested, expected_orders=90)


@pytest.mark.parametrize("db_url", POSTGRES_ONLY, indirect=True)
def test_three_processes_never_oversell(db_url, contested):
    context = multiprocessing.get_context("spawn")
    gate = context.Barrier(3)
    workers = [context.Process(target=reserve_until_done, args=(db_url, gate)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=90)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert_never_oversold(contested, expected_orders=90)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_two_sqlite_threads_never_oversell(db_url, contested):
    assert sum(run_threads(db_url, 2)) == 90
    assert_never_oversold(contested, expected_orders=90)


def consume_while_reserving(url: str, gate, reservers_done: threading.Event, batch: int = 3) -> int:
    """A booking worker: consume the reservations of a few reserved orders per transaction
    while other workers are still reserving, until they are done and nothing active is left."""
    from warehouse.db import make_engine
    from warehouse.stock import consume_reservations

    engine, consumed = make_engine(url), 0
    gate.wait(timeout=60)
    try:
        while True:
            finished = reservers_done.is_set()
            with engine.begin() as conn:
                held = conn.execute(select(reservations.c.order_id).where(reservations.c.status == "active")
                                    .distinct().order_by(reservations.c.order_id.desc()).limit(batch)).scalars().all()
                consumed += consume_reservations(conn, held, now=NOW)
            if finished and not held:
                return consumed
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", POSTGRES_ONLY, indirect=True)
def test_consuming_while_reserving_keeps_every_bin_balanced(db_url, contested):
    gate, reservers_done, errors = threading.Barrier(3), threading.Event(), []

    def guarded(work):
        try:
            work()
        except BaseException as exc:  # surfaced below: a thread's exception would vanish
            errors.append(exc)

    reservers = [threading.Thread(target=guarded, args=(lambda: reserve_until_done(db_url, gate),))
                 for _ in range(2)]
    booker = threading.Thread(target=guarded, args=(
        lambda: consume_while_reserving(db_url, gate, reservers_done),))
    for t in [*reservers, booker]:
        t.start()
    for t in reservers:
        t.join(timeout=60)
    reservers_done.set()
    booker.join(timeout=60)
    assert not errors, errors
    with contested.connect() as conn:
        shelves = read_frame(conn, select(stock)).set_index(["sku", "location_id"])
        taken = read_frame(conn, select(reservations))
    per_bin = taken.groupby(["status", "sku", "location_id"])["quantity"].sum()
    assert set(taken["status"]) == {"consumed"}                                  # every reservation booked
    assert shelves["reserved"].eq(0).all()
    assert shelves["on_hand"].eq(3 - per_bin["consumed"].reindex(shelves.index, fill_value=0)).all()
