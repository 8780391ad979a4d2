"""Shipping: tracking only moves forward, terminal states stay, customers hear once."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.tracking import RANK, TERMINAL, apply_tracking, next_state

T = datetime(2026, 11, 27, 8, 0)
STATES = sorted(RANK)


def events(*rows, shipment_id="s1") -> pd.DataFrame:
    """(hours after T, status) rows."""
    return pd.DataFrame([(shipment_id, T + timedelta(hours=h), status) for h, status in rows],
                        columns=["shipment_id", "occurred_at", "status"])


def current(status=None, shipped_at=None, delivered_at=None, shipment_id="s1") -> pd.DataFrame:
    return pd.DataFrame([(shipment_id, status, shipped_at, delivered_at)],
                        columns=["shipment_id", "tracking_status", "shipped_at", "delivered_at"])


def as_current(outcome, before: pd.DataFrame) -> pd.DataFrame:
    """What the database holds after writing the outcome's changed rows."""
    cols = ["shipment_id", "tracking_status", "tracking_status_at", "shipped_at", "delivered_at"]
    rows = pd.concat([before.reindex(columns=cols).astype(object), outcome.shipments.astype(object)])
    return rows.drop_duplicates("shipment_id", keep="last").reset_index(drop=True)


def test_state_machine_moves_forward_only():
    assert next_state(None, "pre_transit") == "pre_transit"
    assert next_state("pre_transit", "in_transit") == "in_transit"
    assert next_state("out_for_delivery", "in_transit") == "out_for_delivery"
    assert next_state("out_for_delivery", "exception") == "exception"      # same rank: the latest word
    assert next_state("exception", "out_for_delivery") == "out_for_delivery"
    assert next_state("in_transit", "carrier gibberish") == "in_transit"


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_tracking_never_leaves_a_terminal_state(terminal):
    assert all(next_state(terminal, candidate) == terminal for candidate in STATES)
    out = apply_tracking(current(terminal), events((1, "in_transit"), (2, "delivered"), (3, "exception")))
    assert terminal == "delivered" or out.shipments.empty or out.shipments["tracking_status"].tolist() == [terminal]
    assert out.shipments["tracking_status"].isin([terminal]).all()


def test_first_scan_ships_and_notifies_once():
    out = apply_tracking(current("pre_transit"), events((0, "pre_transit"), (2, "in_transit"), (5, "in_transit")))
    row = out.shipments.iloc[0]
    assert row["tracking_status"] == "in_transit" and row["shipped_at"] == T + timedelta(hours=2)
    assert row["tracking_status_at"] == T + timedelta(hours=2)
    assert out.notifications[["shipment_id", "template", "at"]].values.tolist() == [["s1", "shipped", T + timedelta(hours=2)]]


def test_delivery_sets_delivered_at_and_notifies():
    out = apply_tracking(current("in_transit", shipped_at=T), events((1, "in_transit"), (30, "out_for_delivery"), (33, "delivered")))
    row = out.shipments.iloc[0]
    assert row["tracking_status"] == "delivered" and row["delivered_at"] == T + timedelta(hours=33)
    assert row["shipped_at"] == T
    assert out.notifications["template"].tolist() == ["delivered"]


def test_late_arriving_older_scan_does_not_move_tracking_back():
    out = apply_tracking(current("out_for_delivery", shipped_at=T), events((1, "in_transit")))
    assert out.shipments.empty and out.notifications.empty


def test_events_are_folded_in_time_order_whatever_order_they_arrive_in():
    shuffled = events((33, "delivered"), (1, "in_transit"), (30, "out_for_delivery"))
    assert apply_tracking(current(), shuffled).shipments["tracking_status"].tolist() == ["delivered"]


def test_exception_notifies_once():
    before = current("in_transit", shipped_at=T)
    first = apply_tracking(before, events((1, "in_transit"), (9, "exception")))
    assert first.notifications["template"].tolist() == ["exception"]
    again = apply_tracking(as_current(first, before), events((1, "in_transit"), (9, "exception")))
    assert again.shipments.empty and again.notifications.empty


def test_reapplying_the_same_tracking_events_changes_nothing():
    before = current()
    seen = events((0, "pre_transit"), (2, "in_transit"), (30, "out_for_delivery"), (33, "delivered"))
    first = apply_tracking(before, seen)
    assert sorted(first.notifications["template"]) == ["delivered", "shipped"]
    second = apply_tracking(as_current(first, before), seen)
    assert second.shipments.empty and second.notifications.empty


def test_shipment_first_seen_in_events_starts_from_nothing():
    out = apply_tracking(pd.DataFrame(columns=["shipment_id", "tracking_status", "shipped_at", "delivered_at"]),
                         events((0, "pre_transit"), shipment_id="new"))
    assert out.shipments[["shipment_id", "tracking_status"]].values.tolist() == [["new", "pre_transit"]]
    assert out.notifications.empty


def test_voided_label_is_not_shipped():
    out = apply_tracking(current("pre_transit"), events((1, "cancelled")))
    row = out.shipments.iloc[0]
    assert row["tracking_status"] == "cancelled" and pd.isna(row["shipped_at"])
    assert out.notifications.empty


def test_no_events_no_changes():
    out = apply_tracking(current("in_transit"), events())
    assert out.shipments.empty and out.notifications.empty
    assert list(out.shipments.columns) == ["shipment_id", "tracking_status", "tracking_status_at", "shipped_at", "delivered_at"]


# --- invariants ------------------------------------------------------------------------
# Each example tracks a fleet of up to 8 shipments at once: one apply_tracking call per poll,
# as in production; 30 fleets per property keep the suite fast.
fleet_examples = settings(max_examples=30)

starts = st.sampled_from([None, *STATES])
histories = st.lists(st.tuples(st.integers(0, 48), st.sampled_from(STATES)), max_size=12)
fleets = st.lists(st.tuples(starts, histories), min_size=1, max_size=8)


def fleet(cases, *, shift=0) -> tuple[pd.DataFrame, pd.DataFrame]:
    before = pd.DataFrame([(f"s{i}", start, None, None) for i, (start, _) in enumerate(cases)],
                          columns=["shipment_id", "tracking_status", "shipped_at", "delivered_at"])
    seen = pd.DataFrame([(f"s{i}", T + timedelta(hours=h + shift), status)
                         for i, (_, hist) in enumerate(cases) for h, status in hist],
                        columns=["shipment_id", "occurred_at", "status"])
    return before, seen


def reference_fold(start, history):
    state = start
    for _, status in sorted(history, key=lambda e: (e[0], RANK[e[1]], e[1])):
        state = next_state(state, status)
    return state


def status_of(frame: pd.DataFrame) -> dict[str, str | None]:
    return {sid: (None if pd.isna(s) else s) for sid, s in zip(frame["shipment_id"], frame["tracking_status"])}


@fleet_examples
@given(fleets)
def test_vectorised_fold_matches_the_state_machine_event_by_event(cases):
    before, seen = fleet(cases)
    after = status_of(as_current(apply_tracking(before, seen), before))
    assert after == {f"s{i}": reference_fold(start, hist) for i, (start, hist) in enumerate(cases)}


@fleet_examples
@given(fleets)
def test_tracking_never_goes_backwards_over_any_event_sequence(cases):
    before, seen = fleet(cases)
    after = status_of(as_current(apply_tracking(before, seen), before))
    for i, (start, _) in enumerate(cases):
        if start is not None:
            assert RANK[after[f"s{i}"]] >= RANK[start]
            assert start not in TERMINAL or after[f"s{i}"] == start


@fleet_examples
@given(fleets)
def test_reapplying_events_is_idempotent(cases):
    before, seen = fleet(cases)
    first = apply_tracking(before, seen)
    second = apply_tracking(as_current(first, before), seen)
    assert second.shipments.empty and second.notifications.empty


@fleet_examples
@given(fleets, st.lists(histories, min_size=8, max_size=8))
def test_polling_in_two_steps_ends_where_one_poll_would_and_never_notifies_twice(cases, later):
    before, early = fleet(cases)
    _, more = fleet([(None, later[i]) for i in range(len(cases))], shift=49)
    full = pd.concat([early, more], ignore_index=True)             # the carrier returns the whole history
    one = as_current(apply_tracking(before, full), before).set_index("shipment_id")
    step1 = apply_tracking(before, early)
    mid = as_current(step1, before)
    step2 = apply_tracking(mid, full)
    two = as_current(step2, mid).set_index("shipment_id")
    for col in ("tracking_status", "shipped_at", "delivered_at"):
        assert one[col].fillna("-").to_dict() == two[col].fillna("-").to_dict()
    notices = pd.concat([step1.notifications, step2.notifications])
    once = notices[notices["template"] != "exception"]
    assert not once.duplicated(["shipment_id", "template"]).any()


def test_status_time_is_kept_or_recovered_when_only_the_scan_dates_change():
    before = current("in_transit")                                  # status known, shipped_at never recorded
    out = apply_tracking(before, events((1, "pre_transit"), (3, "in_transit"), (4, "in_transit")))
    row = out.shipments.iloc[0]
    assert row["tracking_status"] == "in_transit" and row["shipped_at"] == T + timedelta(hours=3)
    assert row["tracking_status_at"] == T + timedelta(hours=3)
    kept = apply_tracking(before.assign(tracking_status_at=T), events((3, "in_transit")))
    assert kept.shipments["tracking_status_at"].tolist() == [T]
