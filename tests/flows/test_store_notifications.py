"""Telling the stores is off fulfil-orders' critical path: a cycle pushes within its budget,
notify-storefronts drains the rest, a round at a time under the cells' locks, and no store is
told twice; a cycle tells each chunk's labels while the next chunks are booked. The budget
itself is checked on a fake clock: no test sleeps on a timer."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import text

from domain.records import FulfillmentPush, PushResult
from flows.fulfil_orders import fulfil_orders
from flows.notify_storefronts import notify_storefronts
from flows.stages import StagesFailed
from tasks.push_fulfillments import POLL_SECONDS, Budget, PushLog, in_rounds, push_in_slices
from tests.flows.conftest import START

AS_OF = START + timedelta(days=1)


def frame(engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn)


def shipments(engine) -> pd.DataFrame:
    return frame(engine, "select s.shipment_id, s.order_id, s.warehouse_id, s.pushed_to_storefront_at, o.channel "
                         "from shipments s join orders o on o.order_id = s.order_id "
                         "where s.direction = 'outbound' and s.label_status = 'purchased'")


def told(shop, world) -> list[dict]:
    """Every fulfilment the sandbox stores were told about."""
    return [f for channel in world.channels for f in shop["shopify"].fulfillments(channel.shop_domain)]


@pytest.fixture
def backlog(make_shop, engine, monkeypatch):
    """A day's labels bought by a cycle whose push budget ran out at once: one slice of two
    notices per store went, the rest waits."""
    from tasks.resources import reset_resources

    shop = make_shop()
    monkeypatch.setattr("tasks.push_fulfillments.SLICE", 2)
    monkeypatch.setenv("CUMPLIDO_PUSH_BUDGET_SECONDS", "0")
    reset_resources()
    shop.clock.set(AS_OF)
    return shop, fulfil_orders(as_of=AS_OF)


def test_labels_are_told_while_later_chunks_are_still_being_booked(make_shop, engine, world, monkeypatch):
    """The third chunk waits (20 s at most) until a store has heard of the first two: only a push
    running alongside booking lets it go on at once; after booking, the store hears of every label once."""
    import tasks.book_carriers as booking

    shop = make_shop()
    shop.clock.set(AS_OF)
    monkeypatch.setattr(booking, "CHUNK", 2)
    monkeypatch.setattr(booking, "BOOKERS", 1)
    real_chunk, chunks, heard_before_third = booking.book_chunk, [], []

    def book_chunk(carrier, rows, *args, **kwargs):
        chunks.append(len(rows))
        if len(chunks) == 3:
            deadline = time.monotonic() + 20
            while not told(shop, world) and time.monotonic() < deadline:
                time.sleep(0.05)
            heard_before_third.append(len(told(shop, world)))
        return real_chunk(carrier, rows, *args, **kwargs)

    monkeypatch.setattr(booking, "book_chunk", book_chunk)
    summary = fulfil_orders(as_of=AS_OF)

    labels = shipments(engine)
    assert len(chunks) > 3 and heard_before_third[0] > 0
    assert summary["push_fulfillments"]["left"] == 0 and labels["pushed_to_storefront_at"].notna().all()
    stores = told(shop, world)
    assert len(stores) == len({f["order_id"] for f in stores}) == len(labels) == summary["push_fulfillments"]["pushed"]


def test_a_cycle_out_of_push_budget_says_how_many_it_left_for_later(backlog, engine, world):
    shop, summary = backlog
    labels = shipments(engine)
    counts = summary["push_fulfillments"]
    assert counts["pushed"] == 2 * labels["channel"].nunique()      # each store's first slice, no more
    assert counts["left"] == len(labels) - counts["pushed"] > 0
    assert labels["pushed_to_storefront_at"].notna().sum() == counts["pushed"] == len(told(shop, world))


def test_notify_storefronts_drains_the_backlog_and_tells_no_store_twice(backlog, engine, world, prefect_harness):
    from prefect.client.orchestration import get_client

    shop, _ = backlog
    state = notify_storefronts(as_of=AS_OF, return_state=True)
    counts = state.result()["push_fulfillments"]
    labels = shipments(engine)
    assert counts["left"] == 0 and counts["rounds"] > 1             # a round per slice: the budget is 0
    assert labels["pushed_to_storefront_at"].notna().all()
    stores = told(shop, world)
    assert len(stores) == len({f["order_id"] for f in stores}) == len(labels)
    with get_client(sync_client=True) as client:
        name = client.read_flow_run(state.state_details.flow_run_id).name
    assert name == f"notify-storefronts {AS_OF:%Y-%m-%dT%H:%M} all-channels"

    again = notify_storefronts(as_of=AS_OF)["push_fulfillments"]   # nothing left: nothing told again
    assert again["pushed"] == again["left"] == 0 and len(told(shop, world)) == len(labels)
    fulfil_orders(as_of=AS_OF)
    assert len(told(shop, world)) == len(labels)


def test_a_warehouse_partition_notifies_only_its_own_labels(backlog, engine):
    before = shipments(engine)
    notify_storefronts(as_of=AS_OF, warehouses=["EWR"])
    after = shipments(engine).set_index("shipment_id")
    newly = after.loc[before.loc[before["pushed_to_storefront_at"].isna(), "shipment_id"]]
    newly = newly[newly["pushed_to_storefront_at"].notna()]
    assert len(newly) > 0 and set(newly["warehouse_id"]) == {"EWR"}
    assert after.loc[after["warehouse_id"] == "EWR", "pushed_to_storefront_at"].notna().all()


def test_each_round_holds_the_cells_fulfil_orders_holds_and_lets_go_after(backlog, world, monkeypatch):
    from contextlib import contextmanager

    from domain.partitions import Partition, cell_lock_key
    from warehouse.orders import holding_cells

    held, calls = [], []

    @contextmanager
    def watched(engine, keys):
        with holding_cells(engine, keys):
            held.append(sorted(keys))
            yield
            calls.append(len(held))

    monkeypatch.setattr("flows.notify_storefronts.holding_cells", watched)
    counts = notify_storefronts(as_of=AS_OF, channels=["shopify-main"])["push_fulfillments"]
    main_cells = sorted(cell_lock_key(*cell) for cell in Partition.of(["shopify-main"]).cells(
        channels=[c.id for c in world.channels], warehouses=[w.id for w in world.warehouses]))
    assert counts["rounds"] == len(held) > 1 and all(keys == main_cells for keys in held)
    assert calls == list(range(1, len(held) + 1))                    # released before the next round


def test_one_store_failing_keeps_the_record_of_the_others_pushes(backlog, engine, tmp_path, monkeypatch,
                                                                  no_task_retries):
    import yaml

    from config.settings import DEFAULT_WORLD
    from tasks.resources import reset_resources

    raw = yaml.safe_load(DEFAULT_WORLD.read_text())
    raw["channels"][1]["api_base"] = "http://127.0.0.1:9/closed"   # shopify-outlet is down
    (tmp_path / "world.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("CUMPLIDO_WORLD_FILE", str(tmp_path / "world.yaml"))
    monkeypatch.setenv("CUMPLIDO_HTTP_MAX_RETRIES", "0")
    reset_resources()
    no_task_retries("flows.notify_storefronts", "push_fulfillments")

    with pytest.raises(StagesFailed, match="push_fulfillments: .*fulfillments not pushed for now"):
        notify_storefronts(as_of=AS_OF)
    labels = shipments(engine)
    pushed = labels[labels["pushed_to_storefront_at"].notna()]
    assert (pushed["channel"] == "shopify-main").sum() > 2           # its slices went on and were recorded
    assert (pushed["channel"] == "shopify-outlet").sum() == 2        # only what fulfil-orders pushed


# --- the budget on a fake clock --------------------------------------------------------------


class Store:
    """A storefront whose every call takes `seconds` on the fake clock; answers `retryable` if told."""

    def __init__(self, clock: list[float], seconds: float, *, retryable: bool = False):
        self.clock, self.seconds, self.retryable, self.calls = clock, seconds, retryable, []

    def storefront(self, channel: str) -> Store:
        return self

    def push_fulfillments(self, items):
        self.calls.append(len(items))
        self.clock[0] += self.seconds
        if self.retryable:
            return [PushResult(item, error="THROTTLED", retryable=True) for item in items]
        return [PushResult(item, pushed=FulfillmentPush(f"gid://{item.order_external_id}", False)) for item in items]


def notices(n: int) -> pd.DataFrame:
    return pd.DataFrame({"shipment_id": [f"s{i}" for i in range(n)], "external_id": [str(i) for i in range(n)],
                         "carrier": "usps", "tracking_number": [f"9400{i}" for i in range(n)]})


@pytest.mark.parametrize(("seconds", "slices"), [(None, 4), (0, 1), (5, 2), (6.5, 3)])
def test_no_slice_starts_once_the_budget_is_spent_but_the_first_always_goes(monkeypatch, seconds, slices):
    monkeypatch.setattr("tasks.push_fulfillments.SLICE", 250)
    clock = [0.0]
    store = Store(clock, seconds=3.0)
    answers = push_in_slices(store, "shop", notices(1_000), budget=Budget(seconds, clock=lambda: clock[0]))
    assert store.calls == [250] * slices and len(answers) == slices
    assert sum(len(rows) for rows, _ in answers) == 250 * slices


class Booking(threading.Event):
    """Booking that ends at its `ends_at`-th wait; records each wait's timeout."""

    def __init__(self, ends_at: int):
        super().__init__()
        self.ends_at, self.waits = ends_at, []

    def wait(self, timeout=None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) >= self.ends_at:
            self.set()
        return self.is_set()


def rounds_of(sent_per_round: int, *, seconds_per_round: float, budget_seconds: float | None, booking: Booking):
    clock, tally, rounds = [0.0], PushLog(), []

    def one_round() -> tuple[int, int]:
        rounds.append(clock[0])
        clock[0] += seconds_per_round
        return sent_per_round, 7

    left = in_rounds(one_round, tally, Budget(budget_seconds, clock=lambda: clock[0]), alongside=booking)
    return rounds, left


def test_beside_booking_rounds_go_on_while_the_budget_lasts_then_one_last_when_booking_ends():
    booking = Booking(ends_at=1)
    rounds, left = rounds_of(500, seconds_per_round=6.0, budget_seconds=10.0, booking=booking)
    assert rounds == [0.0, 6.0, 12.0] and left == 7     # 2 rounds within the budget, then the last
    assert booking.waits == [None]                       # spent: waited for booking's end, no polling

    booking = Booking(ends_at=3)
    rounds, _ = rounds_of(0, seconds_per_round=0.0, budget_seconds=10.0, booking=booking)
    assert len(rounds) == 4 and booking.waits == [POLL_SECONDS] * 3   # nothing to push yet: looks again

    booking = Booking(ends_at=1)
    rounds, _ = rounds_of(500, seconds_per_round=1.0, budget_seconds=0.0, booking=booking)
    assert rounds == [0.0] and booking.waits == [None]  # no budget: only the last round, after booking

    alone = rounds_of(500, seconds_per_round=60.0, budget_seconds=10.0, booking=None)   # no booking beside it
    assert alone == ([0.0], 7)


def test_a_store_answering_not_now_gets_no_further_slice():
    clock = [0.0]
    store = Store(clock, seconds=0.1, retryable=True)
    answers = push_in_slices(store, "shop", notices(1_000), budget=Budget(None, clock=lambda: clock[0]))
    assert store.calls == [250] and len(answers) == 1


def test_cumplido_run_notify_storefronts_takes_channels_and_warehouses(engine, db_url, monkeypatch):
    from flows import cli
    from tasks.resources import reset_resources

    monkeypatch.setenv("CUMPLIDO_DATABASE_URL", db_url)
    reset_resources()
    called = {}
    monkeypatch.setattr("flows.notify_storefronts.notify_storefronts", lambda **kw: called.update(kw) or "ran")
    try:
        assert cli.main(["run", "notify-storefronts", "--channel", "shopify-outlet", "--warehouse", "LAX"]) == 0
        assert called == {"as_of": None, "channels": ["shopify-outlet"], "warehouses": ["LAX"]}
    finally:
        reset_resources()
