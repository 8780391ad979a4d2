"""verify_payments' rounds: new orders by placed_at in bounded windows, holds read one by one."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from domain import states
from tasks import verify_payments as stage

T0 = datetime(2026, 11, 27, 9, 0)


def pending(new_minutes: list[int], held_days: list[int]) -> pd.DataFrame:
    rows = [(f"n{i}", states.NEW, T0 + timedelta(minutes=m)) for i, m in enumerate(new_minutes)]
    rows += [(f"h{i}", states.ON_HOLD, T0 - timedelta(days=d)) for i, d in enumerate(held_days)]
    return pd.DataFrame(rows, columns=["order_id", "status", "placed_at"])


def test_new_orders_go_in_rounds_of_chunk_by_placed_at_each_window_covering_its_orders(monkeypatch):
    monkeypatch.setattr(stage, "CHUNK", 2)
    rounds = list(stage.rounds(pending([50, 10, 30, 20, 40], held_days=[])))

    assert [list(orders["order_id"]) for orders, _ in rounds] == [["n1", "n3"], ["n2", "n4"], ["n0"]]
    for orders, window in rounds:
        assert window["created_since"] < orders["placed_at"].min() <= orders["placed_at"].max() < window["created_until"]


def test_held_orders_come_last_together_with_no_window_to_list():
    rounds = list(stage.rounds(pending([5], held_days=[1, 12])))

    assert [list(orders["order_id"]) for orders, _ in rounds] == [["n0"], ["h0", "h1"]]
    assert rounds[-1][1] == {"created_since": None}


def test_only_holds_make_one_round_and_nothing_pending_makes_none():
    assert len(list(stage.rounds(pending([], held_days=[3])))) == 1
    assert list(stage.rounds(pending([], held_days=[]))) == []


def test_held_orders_are_re_checked_only_when_due_and_new_ones_always(engine, order_frames):
    from warehouse.bulk import upsert
    from warehouse.schema import orders, payments

    now = pd.Timestamp("2026-11-28 12:00")
    found, _ = order_frames({"new": [("SKU-1", 1)], "fresh-hold": [("SKU-1", 1)], "old-hold": [("SKU-1", 1)],
                             "unpaid": [("SKU-1", 1)]}, status=states.ON_HOLD, placed_at=now - timedelta(hours=2))
    found.loc[found["external_id"] == "new", "status"] = states.NEW
    found["hold_reason"] = "payment pending at gateway"
    found["status_at"] = now - timedelta(hours=1, minutes=50)
    checked = {"shop:fresh-hold": now - timedelta(minutes=10), "shop:old-hold": now - timedelta(minutes=40)}
    with engine.begin() as conn:
        upsert(conn, orders, found)
        upsert(conn, payments, pd.DataFrame({"order_id": list(checked), "gateway": "stripe", "payment_ref": "pi",
                                             "status": "pending", "amount": 20.0, "currency": "usd",
                                             "checked_at": list(checked.values()), "raw": "{}"}))
        due = stage.due(conn, stage.awaiting_payment(found), as_of=now.to_pydatetime())

    # waited 2 h: re-checked every 30 min; "unpaid" has no payment row, last checked going on hold
    assert sorted(due["order_id"]) == ["shop:new", "shop:old-hold", "shop:unpaid"]


def test_rounds_go_two_at_a_time_and_one_that_fails_is_raised_after_the_others_ran(monkeypatch):
    import threading
    from collections import Counter

    import pytest

    both_started, ran = threading.Barrier(2, timeout=5), []

    def verify_round(orders, window, *, as_of):
        if orders["order_id"].iloc[0] in ("n0", "n1"):
            both_started.wait()   # the first two rounds are in flight together, or this times out
        ran.append(orders["order_id"].iloc[0])
        if orders["order_id"].iloc[0] == "n2":
            raise RuntimeError("gateway said no")
        return Counter(changed=len(orders))

    monkeypatch.setattr(stage, "verify_round", verify_round)
    monkeypatch.setattr(stage, "CHUNK", 1)
    assert stage.in_flight(stage.rounds(pending([1, 2], held_days=[])), as_of=T0) == Counter(changed=2)
    ran.clear()
    with pytest.raises(RuntimeError, match="gateway said no"):
        stage.in_flight(stage.rounds(pending([1, 2, 3, 4], held_days=[])), as_of=T0)
    assert sorted(ran) == ["n0", "n1", "n2", "n3"]
