"""The flows run for real: sandbox vendors over HTTP, a real warehouse, Prefect's test harness."""
from __future__ import annotations

import threading
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from flows.backfill import backfill
from flows.fulfil_orders import fulfil_orders
from flows.process_returns import process_returns
from flows.refresh_metrics import refresh_metrics
from flows.stages import StagesFailed
from flows.track_shipments import track_shipments
from tests.flows.conftest import START
from warehouse import schema

LEDGER = ["orders", "order_lines", "payments", "reservations", "waves", "pick_lines", "shipments",
          "tracking_events", "returns", "return_lines", "refunds", "notifications", "quarantine"]


def table_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(select(func.count()).select_from(schema.metadata.tables[t])).scalar_one()
                for t in LEDGER}


def frame(engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn)


def test_a_day_of_orders_reaches_labels_and_a_rerun_changes_nothing(make_shop, engine):
    shop = make_shop()
    as_of = START + timedelta(days=1)
    shop.clock.set(as_of)
    fulfil_orders(as_of=as_of)

    counts = table_counts(engine)
    assert counts["orders"] > 0 and counts["reservations"] > 0
    assert counts["waves"] > 0 and counts["pick_lines"] > 0
    picks = frame(engine, "select wave_id, seq from pick_lines order by wave_id, seq")
    for _, wave in picks.groupby("wave_id"):
        assert wave["seq"].tolist() == list(range(1, len(wave) + 1))
    labels = frame(engine, "select * from shipments where label_status = 'purchased'")
    assert len(labels) > 0 and labels["tracking_number"].notna().all()
    assert labels["pushed_to_storefront_at"].notna().all()

    fulfil_orders(as_of=as_of)  # same window again
    assert table_counts(engine) == counts


@pytest.mark.parametrize("chunk", [5_000, 7], ids=["one-chunk", "many-chunks"])
def test_every_pulled_order_is_stored_or_quarantined(make_shop, engine, monkeypatch, chunk):
    monkeypatch.setattr("tasks.pull_orders.CHUNK", chunk)     # a peak day's window is stored in chunks
    shop = make_shop(malformed_share=0.25)
    as_of = START + timedelta(days=1)
    shop.clock.set(as_of)
    fulfil_orders(as_of=as_of)

    stored = frame(engine, "select order_id from orders")
    parked = frame(engine, "select external_id, reason from quarantine where stream = 'orders'")
    truth = sum(len(shop['shopify'].orders_as_of(c.shop_domain, as_of)) for c in shop_world(shop))
    assert len(parked) > 0 and len(stored) > 0
    assert len(stored) + len(parked) == truth
    assert parked["reason"].str.len().gt(0).all()
    cursors = frame(engine, "select cursor_at from sync_cursors where stream = 'orders'")
    assert len(cursors) == len(shop_world(shop)) and (pd.to_datetime(cursors["cursor_at"]) == as_of).all()


def shop_world(shop):
    from config.settings import DEFAULT_WORLD
    from config.world import load_world

    return load_world(DEFAULT_WORLD).channels


def test_carrier_failing_midway_never_buys_a_label_twice(make_shop, engine, no_task_retries):
    breaker = BatchBreaker(succeed=1)
    shop = make_shop(wrap={"shipengine": breaker})
    no_task_retries("flows.fulfil_orders", "book_carriers")
    as_of = START + timedelta(days=1)
    shop.clock.set(as_of)

    with pytest.raises(StagesFailed, match="book_carriers"):
        fulfil_orders(as_of=as_of)
    assert breaker.processed == 2  # the 2nd batch was bought at the carrier, but its answer was lost
    bought_first = frame(engine, "select count(*) as n from shipments where label_status = 'purchased'")["n"][0]
    assert 0 < bought_first < len(shop['shipengine'].labels())

    breaker.broken = False
    fulfil_orders(as_of=as_of)
    ours = frame(engine, "select idempotency_key from shipments where direction = 'outbound' "
                         "and label_status = 'purchased'")
    theirs = shop['shipengine'].labels()
    assert sorted(ours["idempotency_key"]) == sorted(label["external_shipment_id"] for label in theirs)
    assert len({label["external_shipment_id"] for label in theirs}) == len(theirs)   # none bought twice
    waved = frame(engine, "select count(*) as n from orders where status in ('label_booked')")["n"][0]
    assert waved == len(ours)


class BatchBreaker:
    """WSGI middleware: after `succeed` label batches, the carrier still processes one but answers 500
    (the batch is bought, its answer lost), then refuses every further processing while broken."""

    def __init__(self, succeed: int):
        self.succeed, self.processed, self.broken, self.app = succeed, 0, True, None
        self._lock = threading.Lock()   # label chunks are booked three at a time: count them one by one

    def __call__(self, app):
        self.app = app
        return self.wsgi

    def wsgi(self, environ, start_response):
        processing = environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/process/labels")
        if not processing:
            return self.app(environ, start_response)
        with self._lock:
            refused = self.broken and self.processed > self.succeed
            if not refused:
                self.processed += 1
                nth = self.processed
        if refused:
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [b'{"errors": [{"message": "carrier down"}]}']
        status = {}
        body = b"".join(self.app(environ, lambda s, *a, **k: status.setdefault("line", s)))
        if self.broken and nth > self.succeed:
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [b'{"errors": [{"message": "carrier down"}]}']
        start_response(status["line"], [("Content-Type", "application/json")] if body else [])
        return [body]


def test_an_unreachable_store_fails_only_its_channel(make_shop, engine, world, tmp_path, monkeypatch,
                                                     no_task_retries):
    import yaml

    from config.settings import DEFAULT_WORLD
    from tasks.resources import reset_resources

    shop = make_shop()
    raw = yaml.safe_load(DEFAULT_WORLD.read_text())
    raw["channels"][1]["api_base"] = "http://127.0.0.1:9/closed"
    (tmp_path / "world.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("CUMPLIDO_WORLD_FILE", str(tmp_path / "world.yaml"))
    monkeypatch.setenv("CUMPLIDO_HTTP_MAX_RETRIES", "0")
    reset_resources()
    no_task_retries("flows.fulfil_orders", "pull_orders")
    as_of = START + timedelta(days=1)
    shop.clock.set(as_of)

    with pytest.raises(StagesFailed, match=r"pull_orders\[shopify-outlet\].*cannot reach"):
        fulfil_orders(as_of=as_of)
    channels = frame(engine, "select distinct channel from orders")["channel"].tolist()
    assert channels == ["shopify-main"]
    assert table_counts(engine)["shipments"] > 0  # the rest of the batch went on


def test_a_channel_is_verified_while_another_is_still_pulling(make_shop, engine, monkeypatch):
    import time

    from tasks import pull_orders as pulling

    seen: dict[str, bool] = {}
    real = pulling.pull_and_store

    def slow_outlet(channel, **window):
        if channel == "shopify-outlet":   # held until shopify-main's payments are verified (30 s at most)
            deadline = time.monotonic() + 30
            while not (seen.get("main_verified") or time.monotonic() > deadline):
                seen["main_verified"] = not frame(engine, "select order_id from orders where channel = "
                                                          "'shopify-main' and status <> 'new'").empty
                time.sleep(0.05)
        return real(channel, **window)

    monkeypatch.setattr(pulling, "pull_and_store", slow_outlet)
    shop = make_shop()
    as_of = START + timedelta(days=1)
    shop.clock.set(as_of)
    fulfil_orders(as_of=as_of)

    assert seen["main_verified"]
    statuses = frame(engine, "select channel, count(*) as n from orders where status = 'new' group by channel")
    assert statuses.empty   # and the late channel was verified too, before reservation


def test_days_later_parcels_are_delivered_returned_restocked_and_refunded_once(make_shop, engine):
    shop = make_shop(orders_per_day=14.0, return_share=0.5)
    first_day = START + timedelta(days=1)
    shop.clock.set(first_day)
    fulfil_orders(as_of=first_day)  # one day of orders, then follow them for twelve days
    days = [START + timedelta(days=d) for d in range(2, 13)]
    for as_of in days:
        shop.clock.set(as_of)
        track_shipments(as_of=as_of)
        process_returns(as_of=as_of)
    refresh_metrics(as_of=days[-1])

    delivered = frame(engine, "select count(*) as n from orders where status = 'delivered'")["n"][0]
    refunds = frame(engine, "select * from refunds")
    assert delivered > 0
    assert len(refunds) > 0 and set(refunds["status"]) <= {"succeeded", "in_store"}
    ours = refunds[refunds["status"] == "succeeded"]
    stripe_refunds = [r for pi in refunds["payment_ref"] for r in shop['stripe'].refunds_for(pi)]
    assert len(ours) > 0 and len(stripe_refunds) == len(ours)  # one gateway refund per return, none for store ones
    restocked = frame(engine, "select count(*) as n from return_lines where disposition = 'restocked'")["n"][0]
    quarantined = frame(engine, "select count(*) as n from return_lines where disposition = 'quarantined'")["n"][0]
    assert restocked + quarantined > 0
    facts = frame(engine, "select * from fct_order_fulfillment")
    assert len(facts) == table_counts(engine)["orders"] and facts["is_delivered"].any()
    assert len(frame(engine, "select * from mart_fulfillment_daily")) > 0

    before, labels_before = table_counts(engine), len(shop['shipengine'].labels())
    fulfil_orders(as_of=first_day)  # the same window again: nothing doubles
    for as_of in days[-2:]:
        track_shipments(as_of=as_of)
        process_returns(as_of=as_of)
    after = table_counts(engine)
    assert {k: after[k] for k in ("orders", "shipments", "refunds", "returns", "reservations")} == \
           {k: before[k] for k in ("orders", "shipments", "refunds", "returns", "reservations")}
    assert len(shop['shipengine'].labels()) == labels_before
    assert len([r for pi in refunds["payment_ref"] for r in shop['stripe'].refunds_for(pi)]) == len(ours)


def test_backfill_recovers_a_missed_channel_without_touching_its_cursor(make_shop, engine):
    shop = make_shop()
    as_of = START + timedelta(days=1)
    shop.clock.set(as_of)
    fulfil_orders(as_of=as_of, channels=["shopify-main"])  # the outlet was missed
    assert frame(engine, "select distinct channel from orders")["channel"].tolist() == ["shopify-main"]

    result = backfill(since=START, until=as_of, channels=["shopify-outlet", "shopify-main"])
    assert result["backfill_orders[shopify-main]"]["inserted"] == 0  # known orders are left alone
    recovered = frame(engine, "select count(*) as n from orders where channel = 'shopify-outlet'")["n"][0]
    assert recovered == result["backfill_orders[shopify-outlet]"]["inserted"] > 0
    cursors = frame(engine, "select channel from sync_cursors where stream = 'orders'")["channel"].tolist()
    assert cursors == ["shopify-main"]


def test_credentials_can_come_from_a_prefect_secret_block(prefect_harness):
    from prefect.blocks.system import Secret

    from config.secrets import resolve_secret
    from config.settings import SettingsError

    Secret(value="sk_live_from_block").save("stripe-live-key", overwrite=True)
    assert resolve_secret("prefect-secret:stripe-live-key", what="the payment gateway api_key") == "sk_live_from_block"
    with pytest.raises(SettingsError, match="'no-such-block' cannot be loaded"):
        resolve_secret("prefect-secret:no-such-block", what="the payment gateway api_key")


def test_orders_cancelled_in_the_store_are_stopped_and_their_stock_released(make_shop, engine):
    shop = make_shop(cancel_share=0.4)
    for hours in (3, 24):  # customers cancel a few hours after ordering, before we ship
        as_of = START + timedelta(hours=hours)
        shop.clock.set(as_of)
        fulfil_orders(as_of=as_of)

    cancelled = frame(engine, "select order_id, hold_reason from orders where status = 'cancelled'")
    assert len(cancelled) > 0 and cancelled["hold_reason"].str.startswith("cancelled in the store").all()
    labelled = frame(engine, "select order_id from shipments where label_status = 'purchased'")
    assert not set(cancelled["order_id"]) & set(labelled["order_id"])  # no label for a cancelled order
    held = frame(engine, "select r.order_id from reservations r join orders o on o.order_id = r.order_id "
                         "where o.status = 'cancelled' and r.status = 'active'")
    assert held.empty  # their units are back on the shelf
    stock = frame(engine, "select sum(reserved) as reserved from stock")["reserved"][0]
    active = frame(engine, "select coalesce(sum(quantity), 0) as q from reservations where status = 'active'")["q"][0]
    assert stock == active  # the shelf and the reservations agree


def test_a_return_the_store_refunded_is_received_but_never_refunded_again(make_shop, engine):
    shop = make_shop(orders_per_day=14.0, return_share=0.6, store_refund_share=1.0)
    first_day = START + timedelta(days=1)
    shop.clock.set(first_day)
    fulfil_orders(as_of=first_day)
    for day in range(2, 13):
        shop.clock.set(START + timedelta(days=day))
        track_shipments(as_of=START + timedelta(days=day))
        process_returns(as_of=START + timedelta(days=day))

    refunds = frame(engine, "select * from refunds")
    assert len(refunds) > 0 and set(refunds["status"]) == {"in_store"}
    assert all(shop["stripe"].refunds_for(pi) == [] for pi in refunds["payment_ref"])
    refunded = frame(engine, "select count(*) as n from returns where status = 'refunded'")["n"][0]
    assert refunded == len(refunds)
