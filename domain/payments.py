"""Reception: decide each order's payment outcome from what the gateway says."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from domain import states
from domain.frames import TEXT, conform

OUTCOME_COLUMNS = {"order_id": TEXT, "status": TEXT, "hold_reason": TEXT}
HALF_CENT = 0.005

NO_REFERENCE = "no payment reference on order"
NOT_AT_GATEWAY = "payment reference not found at gateway"
PENDING = "payment pending at gateway"
FAILED = "payment failed at gateway"
# A held payment is asked about again after a quarter of the time its order has waited, within
# these bounds: a card settles in minutes, a bank transfer or cash voucher (ACH, boleto, OXXO) in
# days, and asking a gateway about every hold every few minutes only spends its rate limit.
RECHECK_AFTER = (timedelta(minutes=5), timedelta(hours=6))


def verify_payments(orders: pd.DataFrame, payments: pd.DataFrame) -> pd.DataFrame:
    """orders: order_id, total_amount, currency, payment_ref (may be None).
    payments: payment_ref, status (succeeded|pending|failed), amount, currency.

    Returns one row per order: order_id, status, hold_reason —
    succeeded with matching amount and currency → payment_verified (hold_reason None);
    pending → on_hold "payment pending at gateway"; no ref / unknown ref → on_hold with a
    reason; failed → payment_rejected "payment failed at gateway"; amount or currency
    mismatch (beyond half a cent) → payment_rejected "amount mismatch: order 12.00 USD, paid 10.00 USD".
    Currencies compare case-insensitively (Stripe answers "usd"); a status the gateway
    should never send puts the order on hold rather than guessing. When one payment_ref
    appears twice in `payments`, the last row wins.
    """
    if orders.empty:
        return conform(pd.DataFrame(columns=list(OUTCOME_COLUMNS)), OUTCOME_COLUMNS)
    paid = payments.reindex(columns=["payment_ref", "status", "amount", "currency"])
    paid = paid.drop_duplicates("payment_ref", keep="last").rename(
        columns={"status": "pay_status", "amount": "paid", "currency": "paid_currency"})
    df = orders.loc[:, ["order_id", "total_amount", "currency", "payment_ref"]].merge(
        paid, on="payment_ref", how="left")
    order_cur = df["currency"].astype(TEXT).str.upper()
    paid_cur = df["paid_currency"].astype(TEXT).str.upper()
    total = df["total_amount"].astype(float)
    paid_amount = df["paid"].astype(float)
    mismatch = (order_cur != paid_cur) | ((total - paid_amount).abs().round(6) > HALF_CENT)
    no_ref = df["payment_ref"].isna() | (df["payment_ref"].astype(TEXT).str.strip() == "")
    pay_status = df["pay_status"].astype(TEXT)
    conditions = [
        no_ref,
        pay_status.isna(),
        pay_status == "pending",
        pay_status == "failed",
        (pay_status == "succeeded") & mismatch,
        pay_status == "succeeded",
    ]
    status = np.select(conditions, [states.ON_HOLD, states.ON_HOLD, states.ON_HOLD,
                                    states.PAYMENT_REJECTED, states.PAYMENT_REJECTED,
                                    states.PAYMENT_VERIFIED], default=states.ON_HOLD)
    mismatch_reason = (
        "amount mismatch: order " + total.map("{:.2f}".format) + " " + order_cur.fillna("?")
        + ", paid " + paid_amount.map("{:.2f}".format) + " " + paid_cur.fillna("?")
    )
    unexpected = "unexpected payment status " + pay_status.fillna("").map(repr) + " at gateway"
    reason = np.select(conditions, [NO_REFERENCE, NOT_AT_GATEWAY, PENDING, FAILED,
                                    mismatch_reason.to_numpy(dtype=object), None],
                       default=unexpected.to_numpy(dtype=object))
    return conform(pd.DataFrame({"order_id": df["order_id"], "status": status, "hold_reason": reason}),
                   OUTCOME_COLUMNS)


def due_for_recheck(held: pd.DataFrame, *, as_of: datetime) -> pd.Series:
    """held: placed_at, last_checked_at (None: never checked). True where the payment is due to
    be asked about again: never checked, or last checked at least a quarter of the order's wait
    ago (RECHECK_AFTER bounds that interval)."""
    shortest, longest = RECHECK_AFTER
    waited = pd.Timestamp(as_of) - pd.to_datetime(held["placed_at"])
    interval = (waited / 4).clip(lower=shortest, upper=longest)
    checked = pd.to_datetime(held["last_checked_at"])
    return checked.isna() | (pd.Timestamp(as_of) - checked >= interval)
