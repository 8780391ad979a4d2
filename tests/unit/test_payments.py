"""Reception: an order moves on only when the gateway holds the right money."""
from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from domain import states
from domain.payments import verify_payments


def orders(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["order_id", "total_amount", "currency", "payment_ref"])


def payments(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["payment_ref", "status", "amount", "currency"])


def outcome(order_rows, payment_rows) -> dict[str, tuple[str, str | None]]:
    out = verify_payments(orders(*order_rows), payments(*payment_rows))
    return {o: (s, None if pd.isna(r) else r) for o, s, r in out.itertuples(index=False)}


def test_succeeded_payment_of_the_full_amount_verifies_the_order():
    assert outcome([("o1", 12.0, "USD", "pi_1")], [("pi_1", "succeeded", 12.0, "usd")]) == {
        "o1": (states.PAYMENT_VERIFIED, None)}


def test_pending_payment_is_held_with_reason():
    assert outcome([("o1", 12.0, "USD", "pi_1")], [("pi_1", "pending", 12.0, "USD")]) == {
        "o1": (states.ON_HOLD, "payment pending at gateway")}


def test_order_without_payment_reference_is_held():
    status, reason = outcome([("o1", 12.0, "USD", None)], [])["o1"]
    assert status == states.ON_HOLD and "no payment reference" in reason


def test_payment_unknown_to_the_gateway_is_held_not_rejected():
    status, reason = outcome([("o1", 12.0, "USD", "pi_404")], [("pi_1", "succeeded", 12.0, "USD")])["o1"]
    assert status == states.ON_HOLD and "not found" in reason


def test_failed_payment_is_rejected():
    assert outcome([("o1", 12.0, "USD", "pi_1")], [("pi_1", "failed", 12.0, "USD")]) == {
        "o1": (states.PAYMENT_REJECTED, "payment failed at gateway")}


def test_amount_mismatch_is_rejected():
    assert outcome([("o1", 12.0, "USD", "pi_1")], [("pi_1", "succeeded", 10.0, "USD")]) == {
        "o1": (states.PAYMENT_REJECTED, "amount mismatch: order 12.00 USD, paid 10.00 USD")}


def test_currency_mismatch_is_rejected():
    status, reason = outcome([("o1", 12.0, "USD", "pi_1")], [("pi_1", "succeeded", 12.0, "EUR")])["o1"]
    assert status == states.PAYMENT_REJECTED and reason == "amount mismatch: order 12.00 USD, paid 12.00 EUR"


def test_a_difference_within_half_a_cent_is_not_a_mismatch():
    got = outcome([("o1", 12.0, "USD", "a"), ("o2", 12.0, "USD", "b")],
                  [("a", "succeeded", 12.004, "USD"), ("b", "succeeded", 12.01, "USD")])
    assert got["o1"][0] == states.PAYMENT_VERIFIED and got["o2"][0] == states.PAYMENT_REJECTED


def test_no_orders_gives_an_empty_typed_frame():
    out = verify_payments(orders(), payments())
    assert out.empty and list(out.columns) == ["order_id", "status", "hold_reason"]


@given(st.lists(st.tuples(st.sampled_from(["succeeded", "pending", "failed", "missing", "no_ref"]),
                          st.integers(0, 100_000), st.integers(-3, 3)), max_size=30))
def test_every_order_gets_exactly_one_outcome_and_only_exact_payments_verify(cases):
    order_rows, payment_rows = [], []
    for i, (status, cents, delta) in enumerate(cases):
        ref = None if status == "no_ref" else f"pi_{i}"
        order_rows.append((f"o{i}", cents / 100, "USD", ref))
        if status not in ("missing", "no_ref"):
            payment_rows.append((ref, status, (cents + delta) / 100, "USD"))
    out = verify_payments(orders(*order_rows), payments(*payment_rows))
    assert out["order_id"].tolist() == [row[0] for row in order_rows]
    for (status, _, delta), (_, got, reason) in zip(cases, out.itertuples(index=False)):
        verified = status == "succeeded" and delta == 0
        assert (got == states.PAYMENT_VERIFIED) == verified
        assert pd.isna(reason) == verified


def test_a_held_payment_is_asked_about_less_often_the_longer_its_order_waits():
    from datetime import datetime, timedelta

    from domain.payments import due_for_recheck

    now = datetime(2026, 11, 28, 12, 0)
    held = pd.DataFrame([
        (now - timedelta(minutes=20), now - timedelta(minutes=4)),    # waited 20 min: every 5 min, not yet
        (now - timedelta(minutes=20), now - timedelta(minutes=5)),    # ... now due
        (now - timedelta(hours=2), now - timedelta(minutes=20)),      # waited 2 h: every 30 min, not yet
        (now - timedelta(hours=2), now - timedelta(minutes=31)),      # ... due
        (now - timedelta(days=5), now - timedelta(hours=5)),          # days: every 6 h at most, not yet
        (now - timedelta(days=5), now - timedelta(hours=6)),          # ... due
        (now - timedelta(days=1), None),                              # never checked: due
    ], columns=["placed_at", "last_checked_at"])
    assert due_for_recheck(held, as_of=now).tolist() == [False, True, False, True, False, True, True]
