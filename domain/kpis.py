"""Analysis: the order fact table, the daily mart and the demo's KPI summary.

KPI definitions (also in the README):
- shipped: the carrier scanned the parcel (tracking reached in_transit or beyond).
- on time: delivered_at <= promised_by. A parcel not delivered by promised_by is late
  (is_on_time False) even before it arrives; before promised_by it is NULL (undecided).
- cycle time: placed_at → delivered_at in hours; click-to-ship: placed_at → shipped_at.
- on_time_pct: on-time deliveries / deliveries decided (on time + late), in percent.
- percentiles (p50, p90) interpolate linearly between the two nearest observations, like
  PostgreSQL's percentile_cont and pandas' default quantile; NULL when there are none.
- revenue: sum of order_total of the orders placed that day; refund_amount: refunds paid —
  ours that succeeded at the gateway plus those the store made itself; label_cost: outbound
  label rate_amount.
"""
from __future__ import annotations

from datetime import datetime

import pandas as pd

from domain import states
from domain.frames import BOOL, FLOAT, INT, MAYBE_BOOL, OBJECT, TEXT, TIME, conform, money

LIFECYCLE = {  # fact column ← fulfillment_events.event
    "payment_verified_at": states.PAYMENT_VERIFIED, "reserved_at": states.RESERVED,
    "waved_at": states.WAVED, "label_booked_at": states.LABEL_BOOKED,
    "shipped_at": states.SHIPPED, "delivered_at": states.DELIVERED,
}
FACT_COLUMNS = {
    "order_id": TEXT, "channel": TEXT, "warehouse_id": TEXT, "carrier": TEXT, "service": TEXT,
    "shipping_method": TEXT, "status": TEXT, "hold_reason": TEXT, "placed_at": TIME,
    **{col: TIME for col in LIFECYCLE}, "promised_by": TIME, "order_total": FLOAT,
    "label_cost": FLOAT, "is_shipped": BOOL, "is_delivered": BOOL, "is_on_time": MAYBE_BOOL,
    "click_to_ship_hours": FLOAT, "cycle_time_hours": FLOAT, "has_return": BOOL,
    "refund_amount": FLOAT, "refreshed_at": TIME,
}
MART_COLUMNS = {
    "day": OBJECT, "channel": TEXT, "warehouse_id": TEXT, "carrier": TEXT, "orders": INT,
    "orders_shipped": INT, "orders_delivered": INT, "orders_on_time": INT, "on_time_pct": FLOAT,
    "cycle_time_p50_hours": FLOAT, "cycle_time_p90_hours": FLOAT, "click_to_ship_p50_hours": FLOAT,
    "orders_on_hold": INT, "orders_backordered": INT, "returns": INT, "refund_amount": FLOAT,
    "label_cost": FLOAT, "revenue": FLOAT, "refreshed_at": TIME,
}
NONE_YET = "-"
HOUR = pd.Timedelta(hours=1)


REFUNDED = ("succeeded", "in_store")  # money back with the customer, by us or by the store

def build_order_facts(
    orders: pd.DataFrame, events: pd.DataFrame, shipments: pd.DataFrame,
    returns: pd.DataFrame, refunds: pd.DataFrame, *, as_of: datetime,
) -> pd.DataFrame:
    """orders: the orders table; events: order_id, event, at (fulfillment_events);
    shipments: outbound shipments (order_id, carrier, service, rate_amount, shipped_at,
    delivered_at); returns: order_id, return_id; refunds: order_id, amount, status.
    Returns the columns of warehouse.schema.fct_order_fulfillment, one row per order;
    lifecycle timestamps are the first event of each state; refreshed_at = as_of.

    shipped_at / delivered_at are the earlier of the event and the shipment's own column;
    warehouse_id is the order's, else the shipment's (if shipments carries warehouse_id);
    label_cost is NULL without a label; refund_amount sums refunds paid (0 if none): ours
    that succeeded at the gateway and those the store made itself (status in_store).
    """
    if orders.empty:
        return conform(pd.DataFrame(), FACT_COLUMNS)
    facts = orders.drop_duplicates("order_id", keep="last").reset_index(drop=True)
    facts = facts.merge(_first_events(events), on="order_id", how="left")
    facts = facts.merge(_outbound(shipments), on="order_id", how="left")
    for col in LIFECYCLE:
        facts[col] = pd.to_datetime(facts[col]).astype(TIME)
    for col in ("shipped_at", "delivered_at"):
        facts[col] = facts[col].where(facts[col] <= facts[f"shipment_{col}"], facts[f"shipment_{col}"]) \
            .fillna(facts[col])
    facts["warehouse_id"] = facts["warehouse_id"].fillna(facts["shipment_warehouse_id"])
    facts["has_return"] = facts["order_id"].isin(set(returns["order_id"])) if not returns.empty else False
    facts["refund_amount"] = facts["order_id"].map(_refunded(refunds)).fillna(0.0)
    return conform(_derive(facts, as_of), FACT_COLUMNS)


def _first_events(events: pd.DataFrame) -> pd.DataFrame:
    wanted = events[events["event"].isin(list(LIFECYCLE.values()))] if not events.empty else events
    cols = {"order_id": pd.Series(dtype=TEXT), **{c: pd.Series(dtype=TIME) for c in LIFECYCLE}}
    if wanted.empty:
        return pd.DataFrame(cols)
    first = wanted.assign(at=pd.to_datetime(wanted["at"])).pivot_table(
        index="order_id", columns="event", values="at", aggfunc="min")
    first = first.reindex(columns=list(LIFECYCLE.values()))
    first.columns = list(LIFECYCLE)
    return first.reset_index()


def _outbound(shipments: pd.DataFrame) -> pd.DataFrame:
    cols = ["order_id", "carrier", "service", "rate_amount", "shipped_at", "delivered_at", "warehouse_id"]
    ship = shipments.reindex(columns=cols)
    if "direction" in shipments.columns:
        ship = ship[shipments["direction"].fillna("outbound") == "outbound"]
    ship = ship.drop_duplicates("order_id", keep="last")
    for col in ("shipped_at", "delivered_at"):
        ship[col] = pd.to_datetime(ship[col]).astype(TIME)
    return ship.rename(columns={"rate_amount": "label_cost", "shipped_at": "shipment_shipped_at",
                                "delivered_at": "shipment_delivered_at", "warehouse_id": "shipment_warehouse_id"})


def _refunded(refunds: pd.DataFrame) -> pd.Series:
    if refunds.empty:
        return pd.Series(dtype=float)
    ok = refunds[refunds["status"].isin(REFUNDED)]
    return money(ok["amount"].astype(float).groupby(ok["order_id"]).sum())


def _derive(facts: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    placed, promised = pd.to_datetime(facts["placed_at"]), pd.to_datetime(facts["promised_by"])
    delivered = facts["delivered_at"]
    on_time = pd.Series(pd.NA, index=facts.index, dtype=MAYBE_BOOL)
    on_time[delivered.notna()] = (delivered <= promised)[delivered.notna()]
    on_time[delivered.isna() & (promised < pd.Timestamp(as_of))] = False
    return facts.assign(
        order_total=money(facts["total_amount"]),
        label_cost=money(facts["label_cost"]),
        is_shipped=facts["shipped_at"].notna(),
        is_delivered=delivered.notna(),
        is_on_time=on_time,
        click_to_ship_hours=(facts["shipped_at"] - placed) / HOUR,
        cycle_time_hours=(delivered - placed) / HOUR,
        refreshed_at=as_of,
    )


def build_daily_mart(facts: pd.DataFrame, *, refreshed_at: datetime) -> pd.DataFrame:
    """Per placed day (UTC) x channel x warehouse_id ('-' if none) x carrier ('-' if none):
    the columns of warehouse.schema.mart_fulfillment_daily. `day` holds datetime.date
    values; percentiles as in the module docstring."""
    if facts.empty:
        return conform(pd.DataFrame(), MART_COLUMNS)
    df = facts.assign(
        day=pd.to_datetime(facts["placed_at"]).dt.date,
        warehouse_id=facts["warehouse_id"].fillna(NONE_YET),
        carrier=facts["carrier"].fillna(NONE_YET),
        on_time=facts["is_on_time"].astype(MAYBE_BOOL).fillna(False).astype(bool),
        decided=facts["is_on_time"].notna(),
        on_hold=facts["status"] == states.ON_HOLD,
        backordered=facts["status"] == states.BACKORDERED,
    )
    keys = ["day", "channel", "warehouse_id", "carrier"]
    grouped = df.groupby(keys, sort=True)
    mart = grouped.agg(
        orders=("order_id", "size"), orders_shipped=("is_shipped", "sum"),
        orders_delivered=("is_delivered", "sum"), orders_on_time=("on_time", "sum"),
        decided=("decided", "sum"), orders_on_hold=("on_hold", "sum"),
        orders_backordered=("backordered", "sum"), returns=("has_return", "sum"),
        refund_amount=("refund_amount", "sum"), label_cost=("label_cost", "sum"),
        revenue=("order_total", "sum"),
    )
    mart["on_time_pct"] = (100.0 * mart["orders_on_time"] / mart["decided"].where(mart["decided"] > 0)).round(2)
    mart["cycle_time_p50_hours"] = grouped["cycle_time_hours"].quantile(0.5)
    mart["cycle_time_p90_hours"] = grouped["cycle_time_hours"].quantile(0.9)
    mart["click_to_ship_p50_hours"] = grouped["click_to_ship_hours"].quantile(0.5)
    for col in ("refund_amount", "label_cost", "revenue"):
        mart[col] = money(mart[col])
    return conform(mart.reset_index().assign(refreshed_at=refreshed_at), MART_COLUMNS)


def kpi_summary(facts: pd.DataFrame) -> dict[str, float | int | None]:
    """orders, shipped, delivered, on_time_pct, cycle_p50_hours, cycle_p90_hours, on_hold,
    backordered, returns, refunds (orders refunded), refunded_amount — the demo's closing table. Plain Python numbers;
    None where nothing is decided yet; hours and percent to 2 decimals."""
    if facts.empty:
        facts = conform(pd.DataFrame(), FACT_COLUMNS)
    decided = facts["is_on_time"].dropna().astype(bool)
    cycle = facts["cycle_time_hours"].dropna()
    return {
        "orders": int(len(facts)),
        "shipped": int(facts["is_shipped"].sum()),
        "delivered": int(facts["is_delivered"].sum()),
        "on_time_pct": _maybe(100.0 * decided.mean()),
        "cycle_p50_hours": _maybe(cycle.quantile(0.5)),
        "cycle_p90_hours": _maybe(cycle.quantile(0.9)),
        "on_hold": int((facts["status"] == states.ON_HOLD).sum()),
        "backordered": int((facts["status"] == states.BACKORDERED).sum()),
        "returns": int(facts["has_return"].sum()),
        "refunds": int((facts["refund_amount"] > 0).sum()),
        "refunded_amount": round(float(facts["refund_amount"].sum()), 2),
    }


def _maybe(value: float) -> float | None:
    return None if pd.isna(value) else round(float(value), 2)
