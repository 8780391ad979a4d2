"""Scale-out: partitioned fulfil-orders runs side by side, as several workers run them, on
scarce stock — by channel, by warehouse, a partition twice at once, and a whole-shop run
overlapping them all. Nothing is oversold, lost, reserved twice, waved twice or labelled twice,
and each run keeps to its partition."""
from __future__ import annotations

import threading
from datetime import timedelta

import pandas as pd
import pytest
from prefect import task
from sqlalchemy import text

from domain import states
from flows.fulfil_orders import fulfil_orders
from tests.flows.conftest import START

SIDE_BY_SIDE = {
    "main": {"channels": ["shopify-main"]},
    "main-again": {"channels": ["shopify-main"]},  # two workers picked up the same deployment
    "outlet": {"channels": ["shopify-outlet"]},
    "ewr": {"warehouses": ["EWR"]},
    "ewr-again": {"warehouses": ["EWR"]},
    "lax": {"warehouses": ["LAX"]},
    "whole-shop": {},                              # overlaps every other run
}
FIRST, SECOND = START + timedelta(days=1), START + timedelta(days=1, hours=6)


def frame(engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn)


def run_side_by_side(runs: dict[str, dict], *, as_of) -> dict[str, str]:
    """Start every run at once, one thread each; returns run label -> flow run id."""
    gate, states_, errors = threading.Barrier(len(runs)), {}, []

    def run(label: str, params: dict) -> None:
        try:
            gate.wait(timeout=60)
            states_[label] = fulfil_orders(as_of=as_of, return_state=True, **params)
        except Exception as exc:  # reported below, with the run it came from
            errors.append(f"{label}: {exc!r}")

    threads = [threading.Thread(target=run, args=item) for item in runs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    failed = {label: state.message for label, state in states_.items() if not state.is_completed()}
    assert not failed
    return {label: str(state.state_details.flow_run_id) for label, state in states_.items()}


@task
def idle_stage(as_of, channels=None, warehouses=None, budget_seconds=None, alongside=None) -> dict:
    return {}


@pytest.fixture
def scarce_shop(make_shop, engine):
    """The sandbox shop with at most 2 units per bin: runs compete for the same last units."""
    shop = make_shop(orders_per_day=16.0)
    with engine.begin() as conn:
        conn.execute(text("UPDATE stock SET on_hand = 2 WHERE on_hand > 2"))
    return shop, frame(engine, "select sku, location_id, on_hand from stock")


def test_partitions_side_by_side_never_oversell_lose_or_double_anything(scarce_shop, engine, world, monkeypatch):
    shop, opening = scarce_shop
    shop.clock.set(FIRST)
    first = run_side_by_side(SIDE_BY_SIDE, as_of=FIRST)
    shop.clock.set(SECOND)
    with monkeypatch.context() as patch:  # orders waved, not booked yet: every run then books at once
        for stage in ("book_carriers", "push_fulfillments"):
            patch.setattr(f"flows.fulfil_orders.{stage}", idle_stage)
        fulfil_orders(as_of=SECOND)
    assert frame(engine, "select count(*) as n from orders where status = 'waved'")["n"][0] > 0
    second = run_side_by_side(SIDE_BY_SIDE, as_of=SECOND)
    fulfil_orders(as_of=SECOND)  # a last whole-shop run finishes whatever a partition left

    assert_stock_conserved_and_never_oversold(engine, opening)
    domains = [c.shop_domain for c in world.channels]
    assert_every_order_stored_once_in_one_state(engine, shop, domains)
    assert_each_order_reserved_once_in_one_warehouse(engine)
    assert_each_order_waved_once(engine)
    assert_each_label_bought_and_pushed_once(engine, shop, domains)
    assert_each_run_kept_to_its_partition(engine, first, second)


def test_a_run_holds_its_floor_cells_while_it_books_labels(make_shop, engine, monkeypatch):
    """Labels are bought between transactions: another run on one of these cells must queue."""
    from domain.partitions import cell_lock_key
    from warehouse.orders import holding_cells

    make_shop()
    free, threads = {}, []

    def another_run_takes(cell) -> bool:
        inside = threading.Event()

        def take():
            with holding_cells(engine, [cell_lock_key(*cell)]):
                inside.set()

        threads.append(threading.Thread(target=take, daemon=True))
        threads[-1].start()
        return inside.wait(0.3 if cell[1] == "EWR" else 10)

    @task
    def probe(as_of, channels=None, warehouses=None) -> dict:
        for cell in [("shopify-main", "EWR"), ("shopify-outlet", "EWR"), ("shopify-main", "LAX")]:
            free[cell] = another_run_takes(cell)
        return {}

    monkeypatch.setattr("flows.fulfil_orders.book_carriers", probe)
    fulfil_orders(as_of=FIRST, warehouses=["EWR"])
    assert free == {("shopify-main", "EWR"): False, ("shopify-outlet", "EWR"): False, ("shopify-main", "LAX"): True}
    for thread in threads:  # and they get the cells once the run is done
        thread.join(10)
        assert not thread.is_alive()


def test_a_partition_naming_what_the_world_lacks_fails_before_any_work(make_shop, engine):
    make_shop()
    with pytest.raises(ValueError, match="unknown channel 'ebay', warehouse 'MIA'; the world file defines"):
        fulfil_orders(as_of=FIRST, channels=["ebay"], warehouses=["MIA"])
    assert frame(engine, "select count(*) as n from orders")["n"][0] == 0


def test_cumplido_run_takes_channels_and_warehouses(engine, db_url, monkeypatch, capsys):
    from flows import cli
    from tasks.resources import reset_resources

    monkeypatch.setenv("CUMPLIDO_DATABASE_URL", db_url)
    reset_resources()
    called = {}
    monkeypatch.setattr("flows.fulfil_orders.fulfil_orders", lambda **kw: called.update(kw) or "ran")
    try:
        assert cli.main(["run", "fulfil-orders", "--channel", "shopify-main", "--warehouse", "EWR",
                         "--warehouse", "LAX"]) == 0
        assert called == {"as_of": None, "channels": ["shopify-main"], "warehouses": ["EWR", "LAX"]}
        assert cli.main(["run", "track-shipments", "--warehouse", "EWR"]) == 2
        assert "--warehouse applies to fulfil-orders and notify-storefronts only" in capsys.readouterr().err
    finally:
        reset_resources()


def assert_stock_conserved_and_never_oversold(engine, opening: pd.DataFrame) -> None:
    shelves = frame(engine, "select sku, location_id, on_hand, reserved from stock")
    held = frame(engine, "select sku, location_id, status, sum(quantity) as q from reservations "
                         "group by sku, location_id, status")
    per_status = held.pivot_table(index=["sku", "location_id"], columns="status", values="q", aggfunc="sum")
    shelves = shelves.merge(opening.rename(columns={"on_hand": "opening"}), on=["sku", "location_id"])
    shelves = shelves.merge(per_status.reset_index(), on=["sku", "location_id"], how="left").fillna(0)
    for status in ("active", "consumed"):
        if status not in shelves:
            shelves[status] = 0
    assert (shelves["reserved"] <= shelves["on_hand"]).all() and (shelves["reserved"] >= 0).all()
    assert (shelves["reserved"] == shelves["active"]).all()  # a unit reserved twice would show here
    assert (shelves["on_hand"] + shelves["consumed"] == shelves["opening"]).all()  # units shipped leave once
    assert (shelves["consumed"] + shelves["active"] <= shelves["opening"]).all()
    assert shelves["consumed"].sum() > 0


def assert_every_order_stored_once_in_one_state(engine, shop, domains: list[str]) -> None:
    stored = frame(engine, "select order_id, status from orders")
    parked = frame(engine, "select external_id from quarantine where stream = 'orders'")
    truth = sum(len(shop["shopify"].orders_as_of(domain, SECOND)) for domain in domains)
    assert stored["order_id"].is_unique and len(stored) + len(parked) == truth
    assert set(stored["status"]) <= set(states.ORDER_STATES)
    # the last run moved everything that could move: nothing is stranded between stages
    assert not set(stored["status"]) & {states.PAYMENT_VERIFIED, states.RESERVED, states.WAVED}
    assert (stored["status"] == states.BACKORDERED).any()  # the stock really was scarce
    assert (stored["status"] == states.LABEL_BOOKED).any()


def assert_each_order_reserved_once_in_one_warehouse(engine) -> None:
    held = frame(engine, "select r.order_id, r.line_no, r.warehouse_id, r.quantity, r.status, "
                         "o.status as order_status, o.warehouse_id as order_warehouse "
                         "from reservations r join orders o on o.order_id = r.order_id "
                         "where r.status in ('active', 'consumed')")
    assert (held["warehouse_id"] == held["order_warehouse"]).all()  # shipped complete from one warehouse
    assert set(held["order_status"]) <= {states.RESERVED, states.WAVED, states.LABEL_BOOKED}
    lines = frame(engine, "select l.order_id, l.line_no, l.quantity from order_lines l join orders o "
                          "on o.order_id = l.order_id where o.status = 'label_booked'")
    taken = held.groupby(["order_id", "line_no"], as_index=False)["quantity"].sum()
    both = lines.merge(taken, on=["order_id", "line_no"], how="left", suffixes=("", "_taken"))
    assert (both["quantity"] == both["quantity_taken"]).all()  # every line exactly once, never twice


def assert_each_order_waved_once(engine) -> None:
    picks = frame(engine, "select wave_id, order_id, line_no, quantity from pick_lines")
    assert (picks.groupby("order_id")["wave_id"].nunique() == 1).all()
    waved = frame(engine, "select order_id from orders where status = 'label_booked'")["order_id"]
    assert set(waved) == set(picks["order_id"])
    wave_orders = frame(engine, "select wave_id, order_count from waves")
    counted = picks.groupby("wave_id")["order_id"].nunique().rename("n").reset_index()
    assert (wave_orders.merge(counted, on="wave_id")[["order_count", "n"]].nunique(axis=1) == 1).all()


def assert_each_label_bought_and_pushed_once(engine, shop, domains: list[str]) -> None:
    ours = frame(engine, "select order_id, tracking_number, label_status, error, pushed_to_storefront_at "
                         "from shipments where direction = 'outbound'")
    assert set(ours["label_status"]) == {"purchased"} and ours["error"].isna().all()
    theirs = [label for label in shop["shipengine"].labels() if not label["is_return_label"]]
    assert sorted(label["tracking_number"] for label in theirs) == sorted(ours["tracking_number"])
    assert len({label["external_shipment_id"] for label in theirs}) == len(theirs)
    pushed = [f for domain in domains for f in shop["shopify"].fulfillments(domain)]
    assert len({f["order_id"] for f in pushed}) == len(pushed) == ours["pushed_to_storefront_at"].notna().sum()
    assert ours["pushed_to_storefront_at"].notna().all()


def assert_each_run_kept_to_its_partition(engine, *rounds: dict[str, str]) -> None:
    events = frame(engine, "select e.flow_run_id, e.event, o.channel, o.warehouse_id from fulfillment_events e "
                           "join orders o on o.order_id = e.order_id")
    assert events["flow_run_id"].isin([run_id for runs in rounds for run_id in runs.values()]).any()
    for runs in rounds:
        for label, run_id in runs.items():
            params, mine = SIDE_BY_SIDE[label], events[events["flow_run_id"] == run_id]
            assert set(mine["channel"]) <= set(params.get("channels") or mine["channel"])
            floor = mine[mine["event"].isin([states.WAVED, states.LABEL_BOOKED])]
            assert set(floor["warehouse_id"]) <= set(params.get("warehouses") or floor["warehouse_id"])
            if "warehouses" in params:  # a warehouse partition never pulls, checks payments or reserves
                assert not set(mine["event"]) & {states.NEW, states.PAYMENT_VERIFIED, states.RESERVED,
                                                 states.BACKORDERED}
