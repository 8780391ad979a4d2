"""Shipping: the canonical, monotonic tracking state machine."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from domain.frames import TEXT, TIME, conform

# Rank: a shipment only moves to a state of equal or higher rank; terminal states never move.
RANK = {
    "unknown": -1, "pre_transit": 0, "in_transit": 1, "out_for_delivery": 2,
    "available_for_pickup": 2, "exception": 2, "delivered": 3, "return_to_sender": 3,
    "failure": 3, "cancelled": 3,
}
TERMINAL = frozenset({"delivered", "return_to_sender", "failure", "cancelled"})
NOTIFY_ON = {"in_transit": "shipped", "delivered": "delivered", "exception": "exception"}
# The carrier has had the parcel in hand: in_transit or beyond, except a voided label.
SHIPPED_STATES = frozenset(s for s, r in RANK.items() if r >= RANK["in_transit"]) - {"cancelled"}
_NOTHING_YET = -2          # rank of "no state": even "unknown" moves it

SHIPMENT_COLUMNS = {"shipment_id": TEXT, "tracking_status": TEXT, "tracking_status_at": TIME,
                    "shipped_at": TIME, "delivered_at": TIME}
NOTIFICATION_COLUMNS = {"shipment_id": TEXT, "template": TEXT, "at": TIME}


@dataclass(frozen=True)
class TrackingOutcome:
    shipments: pd.DataFrame      # shipment_id, tracking_status, tracking_status_at, shipped_at, delivered_at (changed rows only)
    notifications: pd.DataFrame  # shipment_id, template (shipped|delivered|exception), at


def next_state(current: str | None, candidate: str) -> str:
    """The state after observing `candidate` while in `current` (None = nothing seen yet).
    A candidate outside the canonical vocabulary counts as 'unknown'."""
    candidate = candidate if candidate in RANK else "unknown"
    if current is None:
        return candidate
    if current in TERMINAL:
        return current
    return candidate if RANK[candidate] >= RANK.get(current, -1) else current


def apply_tracking(current: pd.DataFrame, events: pd.DataFrame) -> TrackingOutcome:
    """current: shipment_id, tracking_status (None if never tracked), shipped_at, delivered_at
    (optionally tracking_status_at, kept on rows whose status did not change; without it the
    first event in that status stands in). events: shipment_id, occurred_at, status
    (canonical). Events are folded in time order through next_state (same instant: lower
    rank first). shipped_at = first event at rank >= in_transit (other than cancelled);
    delivered_at = the delivered event. A notification is due the first time a shipment
    reaches in_transit-or-beyond (shipped), delivered, or exception — never twice (compare
    with `current`).

    Details: existing shipped_at/delivered_at are never overwritten; tracking_status_at is
    when the final state was entered; the exception notice fires when a batch leaves the
    shipment in exception and `current` was not (one notice per episode; the outbox key
    "<shipment_id>/exception" keeps it to one per shipment). Events without occurred_at
    are ignored; a shipment only in `events` starts from None.
    """
    ev = _ranked_events(events)
    if ev.empty:
        return TrackingOutcome(conform(pd.DataFrame(), SHIPMENT_COLUMNS), conform(pd.DataFrame(), NOTIFICATION_COLUMNS))
    cur = _current_for(current, ev["shipment_id"].unique())
    ev = ev.merge(cur[["shipment_id", "tracking_status"]].rename(columns={"tracking_status": "s0"}),
                  on="shipment_id", how="left")
    ev = _accept(ev)
    folded, seen_in = _fold(ev)
    out = cur.merge(folded, on="shipment_id", how="left").merge(
        seen_in, left_on=["shipment_id", "tracking_status"], right_on=["shipment_id", "status"], how="left")
    return _outcome(out)


def _ranked_events(events: pd.DataFrame) -> pd.DataFrame:
    if events.empty:
        return pd.DataFrame()
    ev = events.loc[events["occurred_at"].notna(), ["shipment_id", "occurred_at", "status"]].copy()
    ev["occurred_at"] = pd.to_datetime(ev["occurred_at"]).astype(TIME)
    ev["status"] = ev["status"].where(ev["status"].isin(list(RANK)), "unknown").astype(TEXT)
    ev["rank"] = ev["status"].map(RANK).astype(int)
    return ev.sort_values(["shipment_id", "occurred_at", "rank", "status"], kind="stable").reset_index(drop=True)


def _current_for(current: pd.DataFrame, shipment_ids: np.ndarray) -> pd.DataFrame:
    cols = ["shipment_id", "tracking_status", "tracking_status_at", "shipped_at", "delivered_at"]
    cur = current.reindex(columns=cols).drop_duplicates("shipment_id", keep="last")
    cur = pd.DataFrame({"shipment_id": pd.Series(shipment_ids, dtype=TEXT)}).merge(cur, on="shipment_id", how="left")
    cur["tracking_status"] = cur["tracking_status"].astype(TEXT)
    for col in ("tracking_status_at", "shipped_at", "delivered_at"):
        cur[col] = pd.to_datetime(cur[col]).astype(TIME)
    return cur


def _accept(ev: pd.DataFrame) -> pd.DataFrame:
    """Mark the events next_state would act on, without a Python loop: an event is accepted
    when its rank reaches the running maximum and no terminal state came before it."""
    by = ev.groupby("shipment_id", sort=False)
    r0 = ev["s0"].map(RANK).fillna(RANK["unknown"]).where(ev["s0"].notna(), _NOTHING_YET).to_numpy(dtype=float)
    seen_max = by["rank"].cummax().groupby(ev["shipment_id"], sort=False).shift(1).to_numpy(dtype=float)
    prev_max = np.fmax(r0, seen_max)                           # NaN (first event) → r0
    terminal = ev["status"].isin(TERMINAL)
    terminal_before = terminal.astype(int).groupby(ev["shipment_id"], sort=False).cumsum() - terminal.astype(int)
    blocked = ev["s0"].isin(TERMINAL) | (terminal_before > 0)
    return ev.assign(accepted=(ev["rank"].to_numpy() >= prev_max) & ~blocked.to_numpy())


def _fold(ev: pd.DataFrame) -> pd.DataFrame:
    """Per shipment: final state and when it was entered, first shipped and delivered scans;
    and per (shipment, status) the first event in that status."""
    acc = ev[ev["accepted"]].copy()
    prev = acc.groupby("shipment_id", sort=False)["status"].shift(1)
    prev = prev.where(prev.notna(), acc["s0"])
    acc["entered"] = acc["status"].ne(prev) | prev.isna()
    last = acc.groupby("shipment_id", sort=False)["status"].last().rename("final")
    entered_at = acc[acc["entered"]].groupby("shipment_id", sort=False)["occurred_at"].last().rename("entered_at")
    shipped = ev[ev["status"].isin(SHIPPED_STATES)].groupby("shipment_id", sort=False)["occurred_at"].min()
    delivered = ev[ev["status"] == "delivered"].groupby("shipment_id", sort=False)["occurred_at"].min()
    seen_in = ev.groupby(["shipment_id", "status"], sort=False)["occurred_at"].min().rename("first_seen_in")
    return pd.concat([last, entered_at, shipped.rename("first_shipped"), delivered.rename("first_delivered")],
                     axis=1).rename_axis("shipment_id").reset_index(), seen_in.reset_index()


def _outcome(out: pd.DataFrame) -> TrackingOutcome:
    moved = out["entered_at"].notna()
    status = out["final"].where(moved, out["tracking_status"])
    status_at = out["entered_at"].where(moved, out["tracking_status_at"].fillna(out["first_seen_in"]))
    shipped_at = out["shipped_at"].fillna(out["first_shipped"])
    delivered_now = out["first_delivered"].where(status == "delivered")
    delivered_at = out["delivered_at"].fillna(delivered_now)
    newly_shipped = out["shipped_at"].isna() & shipped_at.notna()
    newly_delivered = out["delivered_at"].isna() & delivered_at.notna()
    newly_exception = moved & (status == "exception") & (out["tracking_status"] != "exception").fillna(True)
    changed = (moved & status.ne(out["tracking_status"]).fillna(True)) | newly_shipped | newly_delivered
    shipments = pd.DataFrame({"shipment_id": out["shipment_id"], "tracking_status": status,
                              "tracking_status_at": status_at, "shipped_at": shipped_at,
                              "delivered_at": delivered_at})[changed.to_numpy()]
    notices = pd.concat([
        pd.DataFrame({"shipment_id": out["shipment_id"], "template": NOTIFY_ON["in_transit"], "at": shipped_at})[newly_shipped],
        pd.DataFrame({"shipment_id": out["shipment_id"], "template": NOTIFY_ON["delivered"], "at": delivered_at})[newly_delivered],
        pd.DataFrame({"shipment_id": out["shipment_id"], "template": NOTIFY_ON["exception"], "at": status_at})[newly_exception],
    ], ignore_index=True)
    return TrackingOutcome(conform(shipments, SHIPMENT_COLUMNS), conform(notices, NOTIFICATION_COLUMNS))
