"""Analysis: one fact row per order and the daily mart, with the KPI definitions of kpis.py."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from domain import states
from domain.kpis import build_daily_mart, build_order_facts, kpi_summary

P = datetime(2026, 11, 26, 9, 0)          # placed
AS_OF = datetime(2026, 12, 10)


def orders_table(*rows) -> pd.DataFrame:
    """(order_id, status, warehouse_id, promised_days, total, hold_reason) rows."""
    return pd.DataFrame([{
        "order_id": o, "channel": "shopify-main", "warehouse_id": wh, "shipping_method": "standard",
        "status": status, "hold_reason": hold, "placed_at": P, "promised_by": P + timedelta(days=days),
        "total_amount": total,
    } for o, status, wh, days, total, hold in rows])


def at(hours: float) -> datetime:
    return P + timedelta(hours=hours)


@pytest.fixture()
def facts() -> pd.DataFrame:
    orders = orders_table(("on-time", states.DELIVERED, "EWR", 6, 50.0, None),
                          ("late", states.SHIPPED, "EWR", 2, 30.0, None),
                          ("held", states.ON_HOLD, None, 6, 20.0, "payment pending at gateway"),
                          ("waiting", states.BACKORDERED, None, 30, 10.0, None))
    events = pd.DataFrame([
        ("on-time", "payment_verified", at(0.1)), ("on-time", "reserved", at(0.2)), ("on-time", "waved", at(1)),
        ("on-time", "label_booked", at(2)), ("on-time", "shipped", at(8)), ("on-time", "delivered", at(50)),
        ("on-time", "reserved", at(5)),                      # a later re-entry does not move the first one
        ("late", "payment_verified", at(0.1)), ("late", "shipped", at(20)),
    ], columns=["order_id", "event", "at"])
    shipments = pd.DataFrame([
        ("on-time", "ups", "ups_ground", 8.2, at(9), at(50)),
        ("late", "usps", "usps_priority_mail", 9.4, at(20), None),
    ], columns=["order_id", "carrier", "service", "rate_amount", "shipped_at", "delivered_at"])
    returns = pd.DataFrame([("on-time", "shopify-main:r1")], columns=["order_id", "return_id"])
    refunds = pd.DataFrame([("on-time", 20.0, "succeeded"), ("on-time", 99.0, "failed")],
                           columns=["order_id", "amount", "status"])
    return build_order_facts(orders, events, shipments, returns, refunds, as_of=AS_OF).set_index("order_id", drop=False)


def test_order_facts_have_one_row_per_order_with_first_lifecycle_timestamps(facts):
    assert sorted(facts["order_id"]) == ["held", "late", "on-time", "waiting"]
    row = facts.loc["on-time"]
    assert row["reserved_at"] == at(0.2) and row["label_booked_at"] == at(2)
    assert row["shipped_at"] == at(8) and row["delivered_at"] == at(50)      # earliest of event and shipment
    assert row["refreshed_at"] == AS_OF


def test_shipped_and_delivered_flags_follow_the_timestamps(facts):
    assert facts["is_shipped"].to_dict() == {"on-time": True, "late": True, "held": False, "waiting": False}
    assert facts["is_delivered"].to_dict() == {"on-time": True, "late": False, "held": False, "waiting": False}


def test_on_time_is_decided_by_delivery_or_by_a_missed_promise(facts):
    on_time = facts["is_on_time"].astype(object).where(facts["is_on_time"].notna(), None).to_dict()
    # delivered in time; past its promise and not delivered (shipped or held): late; promise ahead: undecided
    assert on_time == {"on-time": True, "late": False, "held": False, "waiting": None}


def test_hours_label_cost_returns_and_succeeded_refunds_only(facts):
    row = facts.loc["on-time"]
    assert row["click_to_ship_hours"] == pytest.approx(8) and row["cycle_time_hours"] == pytest.approx(50)
    assert (row["carrier"], row["label_cost"], bool(row["has_return"]), row["refund_amount"]) == ("ups", 8.2, True, 20.0)
    assert pd.isna(facts.loc["held", "label_cost"]) and facts.loc["held", "refund_amount"] == 0.0
    assert facts.loc["held", "hold_reason"] == "payment pending at gateway"


def test_daily_mart_groups_by_day_channel_warehouse_and_carrier(facts):
    mart = build_daily_mart(facts.reset_index(drop=True), refreshed_at=AS_OF)
    keyed = mart.set_index(["warehouse_id", "carrier"])
    assert set(keyed.index) == {("EWR", "ups"), ("EWR", "usps"), ("-", "-")}
    assert (mart["day"] == date(2026, 11, 26)).all()
    pending = keyed.loc[("-", "-")]
    assert (pending["orders"], pending["orders_on_hold"], pending["orders_backordered"], pending["revenue"]) == (2, 1, 1, 30.0)
    assert pending["on_time_pct"] == 0.0                 # held past its promise: late, delivered or not
    assert pd.isna(pending["cycle_time_p50_hours"])
    ups = keyed.loc[("EWR", "ups")]
    assert (ups["orders_on_time"], ups["on_time_pct"], ups["returns"], ups["refund_amount"], ups["label_cost"]) == (1, 100.0, 1, 20.0, 8.2)
    assert keyed.loc[("EWR", "usps"), "on_time_pct"] == 0.0


def test_cycle_time_percentiles_interpolate_linearly():
    orders = orders_table(*[(f"o{i}", states.DELIVERED, "EWR", 30, 10.0, None) for i in range(4)])
    events = pd.DataFrame([(f"o{i}", "delivered", at(h)) for i, h in enumerate([10, 20, 30, 40])],
                          columns=["order_id", "event", "at"])
    facts = build_order_facts(orders, events, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), as_of=AS_OF)
    row = build_daily_mart(facts, refreshed_at=AS_OF).iloc[0]
    assert row["cycle_time_p50_hours"] == pytest.approx(25.0) and row["cycle_time_p90_hours"] == pytest.approx(37.0)


def test_kpi_summary_counts_the_business(facts):
    summary = kpi_summary(facts.reset_index(drop=True))
    assert summary == {"orders": 4, "shipped": 2, "delivered": 1, "on_time_pct": 33.33, "cycle_p50_hours": 50.0,
                       "cycle_p90_hours": 50.0, "on_hold": 1, "backordered": 1, "returns": 1, "refunds": 1, "refunded_amount": 20.0}
    assert all(v is None or type(v) in (int, float) for v in summary.values())


def test_no_orders_no_facts_and_an_empty_summary():
    empty = pd.DataFrame()
    facts = build_order_facts(empty, empty, empty, empty, empty, as_of=AS_OF)
    assert facts.empty and build_daily_mart(facts, refreshed_at=AS_OF).empty
    assert kpi_summary(facts)["orders"] == 0 and kpi_summary(facts)["on_time_pct"] is None
