"""Reception: orders the store cancelled. Until the label is bought an order can still be
stopped (its stock goes back on the shelf); after that the parcel is packed and ops must act."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from domain import states
from domain.orders import order_id
from domain.records import ChannelOrder, Malformed

STOPPABLE = frozenset({states.NEW, states.ON_HOLD, states.PAYMENT_VERIFIED, states.PAYMENT_REJECTED,
                       states.RESERVED, states.BACKORDERED, states.WAVED})


@dataclass(frozen=True)
class Cancellations:
    stop: pd.DataFrame       # order_id, status ('cancelled'), hold_reason
    too_late: pd.DataFrame   # order_id, status (what it is now: label_booked or beyond)


def cancelled_in_store(pulled: Sequence[ChannelOrder | Malformed]) -> pd.DataFrame:
    """order_id, cancelled_at of every pulled order the store reports cancelled."""
    rows = [(order_id(o), o.cancelled_at) for o in pulled
            if isinstance(o, ChannelOrder) and o.cancelled_at is not None]
    return pd.DataFrame(rows, columns=["order_id", "cancelled_at"]).drop_duplicates("order_id", keep="last")


def decide_cancellations(cancelled: pd.DataFrame, current: pd.DataFrame) -> Cancellations:
    """cancelled: order_id, cancelled_at; current: order_id, status (orders in the warehouse).
    Orders already cancelled change nothing."""
    seen = cancelled.merge(current, on="order_id")
    seen = seen[seen["status"] != states.CANCELLED]
    stoppable = seen["status"].isin(STOPPABLE)
    stop = seen[stoppable]
    reason = "cancelled in the store at " + pd.to_datetime(stop["cancelled_at"], utc=True).dt.strftime("%Y-%m-%d %H:%M")
    return Cancellations(
        stop=pd.DataFrame({"order_id": stop["order_id"], "status": states.CANCELLED, "hold_reason": reason}),
        too_late=seen.loc[~stoppable, ["order_id", "status"]].reset_index(drop=True),
    )
