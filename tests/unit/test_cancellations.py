"""Orders the store cancelled are stopped until the label is bought, and never twice."""
from __future__ import annotations

from datetime import datetime

import pandas as pd

from domain import states
from domain.cancellations import cancelled_in_store, decide_cancellations
from tests.unit.factories import channel_order

AT = datetime(2026, 11, 26, 9, 30)


def cancelled(*order_ids: str) -> pd.DataFrame:
    return pd.DataFrame({"order_id": list(order_ids), "cancelled_at": AT})


def test_only_orders_the_store_reports_cancelled_are_picked_up():
    pulled = [channel_order(external_id="1"), channel_order(external_id="2", cancelled_at=AT)]
    assert cancelled_in_store(pulled)["order_id"].tolist() == ["shopify-main:2"]


def test_an_order_not_yet_labelled_is_stopped_with_the_reason():
    current = pd.DataFrame({"order_id": ["a", "b", "c"], "status": [states.NEW, states.RESERVED, states.WAVED]})
    decision = decide_cancellations(cancelled("a", "b", "c"), current)
    assert decision.stop["order_id"].tolist() == ["a", "b", "c"]
    assert set(decision.stop["status"]) == {states.CANCELLED}
    assert decision.stop["hold_reason"].str.startswith("cancelled in the store at 2026-11-26 09:30").all()
    assert decision.too_late.empty


def test_a_packed_or_shipped_order_is_reported_too_late_not_cancelled():
    current = pd.DataFrame({"order_id": ["a", "b"], "status": [states.LABEL_BOOKED, states.SHIPPED]})
    decision = decide_cancellations(cancelled("a", "b"), current)
    assert decision.stop.empty
    assert decision.too_late.to_dict("records") == [{"order_id": "a", "status": states.LABEL_BOOKED},
                                                   {"order_id": "b", "status": states.SHIPPED}]


def test_a_cancellation_seen_again_changes_nothing():
    current = pd.DataFrame({"order_id": ["a"], "status": [states.CANCELLED]})
    decision = decide_cancellations(cancelled("a"), current)
    assert decision.stop.empty and decision.too_late.empty


def test_an_order_unknown_to_the_warehouse_is_ignored():
    decision = decide_cancellations(cancelled("ghost"), pd.DataFrame({"order_id": [], "status": []}))
    assert decision.stop.empty and decision.too_late.empty
