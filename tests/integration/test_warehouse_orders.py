"""The order repository: re-pulls never reset state; transitions write one event each."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pandas as pd
import pytest
from sqlalchemy import event, select

from domain import states
from domain.orders import ValidatedOrders, to_json
from warehouse.bulk import read_frame, upsert
from warehouse.orders import (
    insert_pulled,
    known_skus,
    orders_in,
    payload_text,
    record_events,
    stored_payloads,
    transition,
)
from warehouse.schema import fulfillment_events, order_lines, order_payloads, orders, quarantine, stock

T1 = pd.Timestamp("2026-11-26 12:00")


def batch(order_frames, specs, *, quarantined=(), status=states.NEW) -> ValidatedOrders:
    found, lines = order_frames(specs, status=status)
    parked = pd.DataFrame([{"source": "shop", "stream": "orders", "external_id": e, "reason": r, "raw": "{}"}
                           for e, r in quarantined], columns=["source", "stream", "external_id", "reason", "raw"])
    return ValidatedOrders(orders=found, lines=lines, quarantined=parked,
                           payloads=pd.DataFrame({"order_id": found["order_id"], "raw": "{}"}))


def events(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_frame(conn, select(fulfillment_events).order_by(fulfillment_events.c.event_id))


def test_a_pulled_batch_is_stored_with_a_new_event_per_order(engine, order_frames):
    with engine.begin() as conn:
        counts = insert_pulled(conn, batch(order_frames, {"1": [("SKU-1", 1)], "2": [("SKU-2", 2)]},
                                           quarantined=[("3", "no lines")]), flow_run_id="run-1")
    assert counts == {"inserted": 2, "already_known": 0, "quarantined": 1}
    got = events(engine)
    assert got["event"].tolist() == ["new", "new"] and set(got["flow_run_id"]) == {"run-1"}


def test_re_pulling_never_resets_an_orders_state_or_lines(engine, order_frames):
    with engine.begin() as conn:
        insert_pulled(conn, batch(order_frames, {"1": [("SKU-1", 1)]}), flow_run_id="run-1")
        transition(conn, pd.DataFrame({"order_id": ["shop:1"], "status": [states.PAYMENT_VERIFIED]}),
                   at=T1, flow_run_id="run-1")
    again = batch(order_frames, {"1": [("SKU-1", 1), ("SKU-9", 5)]})
    again.orders["source_updated_at"] = T1
    again.payloads["raw"] = '{"edited": true}'
    with engine.begin() as conn:
        counts = insert_pulled(conn, again, flow_run_id="run-2")
        stored = read_frame(conn, select(orders))
        payloads = read_frame(conn, select(order_payloads))
        lines = read_frame(conn, select(order_lines))
    assert counts == {"inserted": 0, "already_known": 1, "quarantined": 0}
    assert stored.loc[0, "status"] == states.PAYMENT_VERIFIED
    assert stored.loc[0, "source_updated_at"] == T1 and payloads["raw"].tolist() == ['{"edited": true}']
    assert lines["sku"].tolist() == ["SKU-1"]
    assert events(engine)["event"].tolist() == ["new", states.PAYMENT_VERIFIED]


def test_quarantine_keeps_first_seen_and_refreshes_the_rest(engine, order_frames):
    with engine.begin() as conn:
        insert_pulled(conn, batch(order_frames, {}, quarantined=[("3", "no lines")]), flow_run_id=None,
                      at=pd.Timestamp("2026-11-26 09:00"))
        insert_pulled(conn, batch(order_frames, {}, quarantined=[("3", "no lines; bad currency")]),
                      flow_run_id=None, at=T1)
        parked = read_frame(conn, select(quarantine))
    assert len(parked) == 1
    row = parked.iloc[0]
    assert row["reason"] == "no lines; bad currency" and row["last_seen_at"] == T1
    assert row["first_seen_at"] == pd.Timestamp("2026-11-26 09:00")


def test_a_transition_writes_one_event_and_a_rerun_changes_nothing(engine, order_frames):
    with engine.begin() as conn:
        insert_pulled(conn, batch(order_frames, {"1": [("SKU-1", 1)], "2": [("SKU-1", 1)]}), flow_run_id=None)
    held = pd.DataFrame({"order_id": ["shop:1", "shop:2"], "status": [states.ON_HOLD, states.NEW],
                         "hold_reason": ["payment pending", None]})
    for expected in (1, 0):
        with engine.begin() as conn:
            assert transition(conn, held, at=T1, flow_run_id="run-2") == expected
    with engine.connect() as conn:
        stored = read_frame(conn, select(orders).order_by(orders.c.order_id))
    assert stored["status"].tolist() == [states.ON_HOLD, states.NEW]
    assert stored.loc[0, "hold_reason"] == "payment pending" and stored.loc[0, "status_at"] == T1
    got = events(engine)
    assert got["event"].tolist() == ["new", "new", states.ON_HOLD]
    assert got["detail"].tolist()[-1] == "payment pending"


def test_leaving_a_hold_clears_the_reason_and_keeps_the_warehouse(engine, order_frames):
    with engine.begin() as conn:
        insert_pulled(conn, batch(order_frames, {"1": [("SKU-1", 1)]}), flow_run_id=None)
        transition(conn, pd.DataFrame({"order_id": ["shop:1"], "status": [states.RESERVED],
                                       "warehouse_id": ["EWR"]}), at=T1, flow_run_id=None)
        transition(conn, pd.DataFrame({"order_id": ["shop:1"], "status": [states.ON_HOLD],
                                       "hold_reason": ["label failed"]}), at=T1, flow_run_id=None)
        transition(conn, pd.DataFrame({"order_id": ["shop:1"], "status": [states.WAVED]}), at=T1, flow_run_id=None)
        stored = read_frame(conn, select(orders)).iloc[0]
    assert stored["status"] == states.WAVED and pd.isna(stored["hold_reason"]) and stored["warehouse_id"] == "EWR"


def test_orders_in_reads_by_state_oldest_first(engine, order_frames):
    with engine.begin() as conn:
        insert_pulled(conn, batch(order_frames, {"1": [("SKU-1", 1)], "2": [("SKU-1", 1)], "3": [("SKU-1", 1)]}),
                      flow_run_id=None)
        transition(conn, pd.DataFrame({"order_id": ["shop:2"], "status": [states.ON_HOLD]}), at=T1, flow_run_id=None)
        got = orders_in(conn, states.AWAITING_PAYMENT, limit=2, columns=["order_id", "status"])
        none = orders_in(conn, [states.SHIPPED])
    assert got["order_id"].tolist() == ["shop:1", "shop:2"] and list(got.columns) == ["order_id", "status"]
    assert none.empty and "placed_at" in none.columns


def test_recording_the_same_event_twice_keeps_one(engine):
    frame = pd.DataFrame({"order_id": ["shop:1"], "event": ["return_requested"], "at": [T1], "detail": ["r-1"]})
    with engine.begin() as conn:
        assert record_events(conn, frame, flow_run_id="a") == 1
        assert record_events(conn, frame, flow_run_id="b") == 0
    assert events(engine)["flow_run_id"].tolist() == ["a"]


def test_known_skus_are_the_skus_in_stock(engine):
    with engine.begin() as conn:
        upsert(conn, stock, pd.DataFrame({"sku": ["A", "A", "B"], "location_id": ["L1", "L2", "L1"],
                                          "warehouse_id": "EWR", "on_hand": [0, 1, 2]}))
        assert known_skus(conn) == {"A", "B"}


def test_payloads_are_stored_as_the_json_the_stdlib_would_write():
    payload = {"id": "gid://shopify/Order/1", "name": "Zoë", "at": datetime(2026, 11, 26, 9, tzinfo=timezone.utc),
               7: [1.5, None, True], "nested": {"amount": "12.50"}}
    text = payload_text(payload)
    assert json.loads(text) == json.loads(to_json(payload))      # same content; only whitespace differs
    assert "Zoë" in text and json.loads(text)["at"] == "2026-11-26 09:00:00+00:00"
    assert payload_text(2 ** 70) == to_json(2 ** 70)              # what orjson refuses, the stdlib writes


def test_stored_payloads_are_read_back_for_the_orders_stored(engine, order_frames):
    pulled = batch(order_frames, {"1": [("SKU-1", 1)], "2": [("SKU-1", 1)]})
    pulled.payloads["raw"] = [payload_text({"id": "1", "lines": [1, 2]}), '{"id": "2"}']   # the second by json
    with engine.begin() as conn:
        insert_pulled(conn, pulled, flow_run_id=None)
        assert stored_payloads(conn, ["shop:1", "shop:2", "shop:9"]) == {
            "shop:1": {"id": "1", "lines": [1, 2]}, "shop:2": {"id": "2"}}
        assert stored_payloads(conn, []) == {}


def test_a_transition_of_many_orders_moves_each_once_with_its_event(engine, order_frames):
    """Past STAGE_ABOVE orders PostgreSQL moves them in one staged statement: the same rules."""
    specs = {str(i): [("SKU-1", 1)] for i in range(250)}
    with engine.begin() as conn:
        insert_pulled(conn, batch(order_frames, specs), flow_run_id=None)
    ids = [f"shop:{i}" for i in range(250)]
    moves = pd.DataFrame({"order_id": [*ids, "shop:unknown"],
                          "status": [states.ON_HOLD if i % 2 else states.RESERVED for i in range(250)] + [states.RESERVED],
                          "hold_reason": [f"reason {i}" if i % 2 else None for i in range(250)] + [None],
                          "warehouse_id": [None if i % 2 else "EWR" for i in range(250)] + ["EWR"]})
    for expected in (250, 0):
        with engine.begin() as conn:
            assert transition(conn, moves, at=T1, flow_run_id="run-9") == expected
    with engine.begin() as conn:    # leaving the hold clears its reason, and keeps the warehouse
        assert transition(conn, pd.DataFrame({"order_id": ids, "status": states.WAVED}), at=T1, flow_run_id=None) == 250
        stored = read_frame(conn, select(orders).order_by(orders.c.order_id))
    assert (stored["status"] == states.WAVED).all() and stored["hold_reason"].isna().all()
    assert stored.set_index("order_id").loc["shop:2", "warehouse_id"] == "EWR"
    got = events(engine)
    moved = got[got["flow_run_id"] == "run-9"]
    assert len(moved) == 250 and set(moved["order_id"]) == set(ids)
    assert moved.set_index("order_id").loc["shop:3", "detail"] == "reason 3"
    assert (got["event"] == states.WAVED).sum() == 250


def test_orders_the_transaction_already_holds_move_without_being_locked_again(engine, order_frames):
    specs = {str(i): [("SKU-1", 1)] for i in range(250)}
    with engine.begin() as conn:
        insert_pulled(conn, batch(order_frames, specs), flow_run_id=None)
    statements: list[str] = []
    with engine.begin() as conn:
        claim = select(orders.c.order_id).order_by(orders.c.order_id)
        claimed = read_frame(conn, claim.with_for_update() if engine.dialect.name == "postgresql" else claim)
        event.listen(conn, "before_cursor_execute", lambda *args: statements.append(args[2]))
        moved = transition(conn, claimed.assign(status=states.RESERVED), at=T1, flow_run_id="run-7", held=True)
    assert moved == 250
    assert not [s for s in statements if "FOR UPDATE" in s]   # one lock per order: the claim's
    assert (events(engine)["flow_run_id"] == "run-7").sum() == 250


@pytest.mark.parametrize("n", [2, 250], ids=["row-by-row", "staged"])
def test_an_order_moved_on_since_it_was_read_is_left_where_it_is(engine, order_frames, n):
    """A stage that read statuses without claiming the orders (payments) gives status_was: an
    order a concurrent run reserved meanwhile is not sent back to payment_verified."""
    with engine.begin() as conn:
        insert_pulled(conn, batch(order_frames, {str(i): [("SKU-1", 1)] for i in range(n)}), flow_run_id=None)
    ids = [f"shop:{i}" for i in range(n)]
    with engine.begin() as conn:    # another run verified and reserved shop:0 after this one read it as new
        transition(conn, pd.DataFrame({"order_id": ["shop:0"], "status": states.RESERVED}), at=T1, flow_run_id="other")
    decided = pd.DataFrame({"order_id": ids, "status": states.PAYMENT_VERIFIED, "status_was": states.NEW})
    with engine.begin() as conn:
        assert transition(conn, decided, at=T1, flow_run_id="late") == n - 1
        stored = read_frame(conn, select(orders.c.order_id, orders.c.status)).set_index("order_id")["status"]
    assert stored["shop:0"] == states.RESERVED
    assert (stored.drop("shop:0") == states.PAYMENT_VERIFIED).all()
    assert "shop:0" not in set(events(engine).query("flow_run_id == 'late'")["order_id"])
