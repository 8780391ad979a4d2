"""Shipping: choose the cheapest carrier service that still keeps the delivery promise."""
from __future__ import annotations

import numpy as np
import pandas as pd

from domain.frames import BOOL, FLOAT, INT, TEXT, conform, money

BUDGET_COLUMNS = {"shipment_id": TEXT, "max_transit_days": INT}
CHOICE_COLUMNS = {"shipment_id": TEXT, "rate_id": TEXT, "carrier": TEXT, "service": TEXT, "amount": FLOAT,
                  "currency": TEXT, "transit_days": INT, "meets_sla": BOOL}
DAY = pd.Timedelta(days=1)


def transit_budget(shipments: pd.DataFrame, *, max_transit_days: dict[str, int]) -> pd.DataFrame:
    """shipments: shipment_id, shipping_method, promised_by, ship_at. Returns shipment_id,
    max_transit_days = min(SLA max transit for the method, whole days left between ship_at
    and promised_by), never below 1.

    A method with no SLA entry is bounded by the days left only; a missing promised_by or
    ship_at by the SLA only; with neither bound the budget is 1 (ship fastest)."""
    if shipments.empty:
        return conform(pd.DataFrame(), BUDGET_COLUMNS)
    sla = shipments["shipping_method"].map(max_transit_days).astype(float)
    left = pd.to_datetime(shipments["promised_by"]) - pd.to_datetime(shipments["ship_at"])
    days_left = np.floor(left / DAY).astype(float)
    budget = np.fmin(sla.to_numpy(), days_left.to_numpy())      # fmin: a NaN side does not bind
    budget = np.where(np.isnan(budget), 1, np.maximum(budget, 1))
    return conform(pd.DataFrame({"shipment_id": shipments["shipment_id"], "max_transit_days": budget.astype(int)}),
                   BUDGET_COLUMNS)


def choose_rates(quotes: pd.DataFrame, budget: pd.DataFrame) -> pd.DataFrame:
    """quotes: shipment_id, rate_id, carrier, service, amount, currency, transit_days.
    budget: shipment_id, max_transit_days. Returns one row per shipment that has quotes:
    the quote columns plus meets_sla — the cheapest quote with transit_days <= budget (ties:
    faster, then service name); when none meets it, the fastest (then cheapest) with
    meets_sla False. A shipment missing from `budget` has no promise to keep: every quote
    meets it."""
    if quotes.empty:
        return conform(pd.DataFrame(), CHOICE_COLUMNS)
    limits = budget.drop_duplicates("shipment_id", keep="last").set_index("shipment_id")["max_transit_days"]
    df = quotes.assign(amount=money(quotes["amount"]))
    limit = df["shipment_id"].map(limits).astype(float)
    df["meets_sla"] = limit.isna() | (df["transit_days"] <= limit)
    # Meeting quotes sort by price then speed; the others (only chosen when none meets) by speed then price.
    df["_miss"] = ~df["meets_sla"]
    df["_k1"] = np.where(df["meets_sla"], df["amount"], df["transit_days"]).astype(float)
    df["_k2"] = np.where(df["meets_sla"], df["transit_days"], df["amount"]).astype(float)
    df = df.sort_values(["shipment_id", "_miss", "_k1", "_k2", "service", "rate_id"], kind="stable")
    return conform(df.drop_duplicates("shipment_id", keep="first"), CHOICE_COLUMNS)
