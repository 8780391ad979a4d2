"""Any storefront x payment x carrier combination chosen in the world file runs the pipeline."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from config.settings import DEFAULT_WORLD
from flows.fulfil_orders import fulfil_orders
from flows.process_returns import process_returns
from flows.track_shipments import track_shipments
from tests.flows.conftest import START

WORLDS = DEFAULT_WORLD.parent / "worlds"


def scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


@pytest.mark.parametrize("combination", ["woocommerce-paypal-easypost", "tiendanube-mercadopago-shippo"])
def test_orders_flow_from_store_to_doorstep_with_any_vendor_combination(make_shop, engine, combination):
    shop = make_shop(world_file=WORLDS / f"{combination}.yaml", orders_per_day=8.0)
    first_day = START + timedelta(days=1)
    shop.clock.set(first_day)
    fulfil_orders(as_of=first_day)
    for day in (3, 6):
        shop.clock.set(START + timedelta(days=day))
        track_shipments(as_of=START + timedelta(days=day))
    process_returns(as_of=START + timedelta(days=6))

    channels = scalar(engine, "select count(distinct channel) from orders")
    assert channels == 2  # both stores of the combination were pulled
    assert scalar(engine, "select count(*) from payments where status = 'succeeded'") > 0
    labels = scalar(engine, "select count(*) from shipments where label_status = 'purchased'")
    assert labels > 0
    assert scalar(engine, "select count(*) from shipments where pushed_to_storefront_at is not null") == labels
    assert scalar(engine, "select count(*) from orders where status = 'delivered'") > 0
    assert len(shop.carrier.labels()) == labels  # one label bought per shipment at the carrier
