"""The pull task against the Shopify sandbox: a re-read of orders the store only touched (our own
fulfilment push) writes nothing, while a cancellation that arrives the same way is still applied,
and the cursor moves once everything pulled is stored; the cyclic collector sits out the pulls."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from domain import states
from domain.records import FulfillmentNotice
from warehouse.bulk import read_frame
from warehouse.reference import read_cursor
from warehouse.schema import order_payloads, orders

START = datetime(2026, 11, 2, 6, 0)
CHANNEL, DOMAIN = "shopify-main", "cumplido-demo.myshopify.com"


@pytest.fixture
def shop(engine, db_url, world, monkeypatch):
    """The default world's sandbox, the warehouse seeded, the task's resources pointed at both."""
    from connectors.sandbox.catalog import demo_stock
    from connectors.sandbox.world import running_sandbox
    from tasks import pull_orders
    from tasks.resources import reset_resources
    from warehouse.reference import sync_world
    from warehouse.stock import seed_stock

    with engine.begin() as conn:
        sync_world(conn, world, now=START)
        seed_stock(conn, demo_stock(world))
    monkeypatch.setattr(pull_orders, "emit", lambda *args, **kwargs: None)   # no Prefect API here
    with running_sandbox(world, start=START, seed=5, orders_per_day=60.0, cancel_share=0.3) as sandbox:
        monkeypatch.setenv("CUMPLIDO_DATABASE_URL", db_url)
        for key, value in sandbox.env.items():
            monkeypatch.setenv(key, value)
        reset_resources()
        yield sandbox
    reset_resources()


def pull(until: datetime) -> dict[str, int]:
    from tasks.pull_orders import pull_and_store

    return pull_and_store(CHANNEL, since=START, until=until, move_cursor=True)


def stored(engine):
    with engine.connect() as conn:
        return read_frame(conn, select(orders.c.order_id, orders.c.external_id, orders.c.status, order_payloads.c.raw,
                                       orders.c.source_updated_at)
                          .join(order_payloads, order_payloads.c.order_id == orders.c.order_id).order_by(orders.c.order_id))


def test_a_re_read_of_touched_orders_writes_nothing_but_still_applies_cancellations(shop, engine):
    from tasks.resources import resources

    first_cut = START + timedelta(days=1, hours=10)       # a busy afternoon
    shop.clock.set(first_cut)
    first = pull(first_cut)
    before = stored(engine)
    assert first["inserted"] == len(before) > 30 and first["unchanged"] == 0
    open_orders = before[before["status"] == states.NEW]
    shipped = open_orders["external_id"].head(10).tolist()
    assert len(shipped) == 10
    pushed = resources().storefront(CHANNEL).push_fulfillments([
        FulfillmentNotice(external_id, f"TRK{n}", "UPS", "https://ups.example") for n, external_id in enumerate(shipped)])
    assert all(result.error is None for result in pushed)
    shop.clock.set(first_cut + timedelta(hours=7))         # customers' cancellations come within 6 hours

    again = pull(first_cut + timedelta(hours=7))
    after = stored(engine).set_index("order_id")

    was = before.set_index("order_id")
    cancelled_now = after.index[after["status"] == states.CANCELLED].difference(
        was.index[was["status"] == states.CANCELLED])
    newly_cancelled = cancelled_now.intersection(was.index)          # stored before, cancelled since
    left_alone = was.index.difference(newly_cancelled)
    assert len(newly_cancelled) > 0 and again["cancelled"] == len(cancelled_now)
    assert again["already_known"] == len(newly_cancelled)             # changed in the store: refreshed
    assert again["unchanged"] == len(left_alone)                       # the 10 shipped among them
    store = {o["id"]: o["updated_at"].replace(tzinfo=None) for o in shop["shopify"].orders_as_of(DOMAIN, first_cut)}
    assert all(store[e] > u for e, u in zip(was["external_id"], was["source_updated_at"]) if e in shipped)
    assert after.loc[left_alone, "raw"].equals(was.loc[left_alone, "raw"])
    assert after.loc[left_alone, "source_updated_at"].equals(was.loc[left_alone, "source_updated_at"])
    assert all('"cancelledAt":null' not in raw for raw in after.loc[newly_cancelled, "raw"])
    assert again["pulled"] == sum(again[k] for k in ("inserted", "already_known", "unchanged", "quarantined"))
    with engine.connect() as conn:
        assert read_cursor(conn, channel=CHANNEL, stream="orders") == first_cut + timedelta(hours=7)
