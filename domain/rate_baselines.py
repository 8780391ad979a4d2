"""Label-cost baseline that rate shopping is measured against: always booking the one
default service a shop without rate shopping would use (the world's `default_service`).

Both policies see the same quotes. Rate shopping books what domain.rates.choose_rates
picks; the default policy books the default service's quote (the cheapest, should a
shipment have several), and a shipment without such a quote is not booked at all.
"""
from __future__ import annotations

import pandas as pd

from domain.frames import BOOL, FLOAT, TEXT, conform, money
from domain.rates import choose_rates

BOOKING_COLUMNS = {"shipment_id": TEXT, "shopping_service": TEXT, "shopping_amount": FLOAT,
                   "shopping_meets_sla": BOOL, "default_booked": BOOL, "default_amount": FLOAT,
                   "default_meets_sla": BOOL, "transit_limit": FLOAT}


def policy_bookings(quotes: pd.DataFrame, budget: pd.DataFrame, *, default_service: str) -> pd.DataFrame:
    """One row per shipment that has quotes: what each policy books and whether it keeps the
    transit budget. default_amount is NaN (and default_meets_sla False) when the shipment
    has no default-service quote; transit_limit is NaN for a shipment without a budget."""
    if quotes.empty:
        return conform(pd.DataFrame(), BOOKING_COLUMNS)
    shopped = choose_rates(quotes, budget).set_index("shipment_id")
    default = (quotes[quotes["service"] == default_service]
               .assign(amount=lambda d: money(d["amount"]))
               .sort_values(["shipment_id", "amount", "rate_id"], kind="stable")
               .drop_duplicates("shipment_id").set_index("shipment_id"))
    limits = budget.drop_duplicates("shipment_id", keep="last").set_index("shipment_id")["max_transit_days"]
    out = pd.DataFrame({"shipment_id": shopped.index})
    out["shopping_service"] = shopped["service"].to_numpy()
    out["shopping_amount"] = shopped["amount"].to_numpy()
    out["shopping_meets_sla"] = shopped["meets_sla"].to_numpy()
    out["transit_limit"] = out["shipment_id"].map(limits).astype(float)
    out["default_amount"] = out["shipment_id"].map(default["amount"]).astype(float)
    out["default_booked"] = out["default_amount"].notna()
    days = out["shipment_id"].map(default["transit_days"]).astype(float)
    # Same rule as choose_rates: no budget means no promise to keep.
    out["default_meets_sla"] = out["default_booked"] & (out["transit_limit"].isna() | (days <= out["transit_limit"]))
    return conform(out, BOOKING_COLUMNS)


def label_cost_comparison(quotes: pd.DataFrame, budget: pd.DataFrame, *, default_service: str) -> dict:
    """Rate shopping against always booking `default_service`.

    quotes: shipment_id, rate_id, carrier, service, amount, currency, transit_days (one
    currency). budget: shipment_id, max_transit_days. Shipments are those with quotes.
    Costs: shopping_cost over every shipment, default_cost over those it books. The saving
    (default - shopping, and as % of default) is over `compared_shipments`, the ones both
    policies book, so it compares like with like. SLA shares are over every shipment: an
    unbooked shipment does not meet its budget. The saving overall also pays for the faster
    services that keep promises the default breaks; `kept_*` is the saving over the
    shipments where both policies keep the promise, i.e. on price alone."""
    currencies = set(quotes["currency"].dropna()) if not quotes.empty else set()
    if len(currencies) > 1:
        raise ValueError(f"quotes mix currencies {sorted(currencies)}; compare one currency at a time")
    b = policy_bookings(quotes, budget, default_service=default_service)
    both = b[b["default_booked"]]
    compared_default = _total(both["default_amount"])
    compared_shopping = _total(both["shopping_amount"])
    kept = b[b["shopping_meets_sla"] & b["default_meets_sla"]]
    n = len(b)
    return {
        "default_service": default_service,
        "currency": next(iter(currencies), None),
        "shipments": n,
        "default_unbooked": int((~b["default_booked"]).sum()),
        "shopping_cost": _total(b["shopping_amount"]),
        "default_cost": _total(both["default_amount"]),
        "compared_shipments": len(both),
        "compared_shopping_cost": compared_shopping,
        "compared_default_cost": compared_default,
        **_saving("", compared_default, compared_shopping),
        "kept_shipments": len(kept),
        **_saving("kept_", _total(kept["default_amount"]), _total(kept["shopping_amount"])),
        "shopping_sla_met": int(b["shopping_meets_sla"].sum()),
        "default_sla_met": int(b["default_meets_sla"].sum()),
        "shopping_sla_share": float(b["shopping_meets_sla"].mean()) if n else 0.0,
        "default_sla_share": float(b["default_meets_sla"].mean()) if n else 0.0,
    }


def _saving(prefix: str, default_cost: float, shopping_cost: float) -> dict:
    saving = round(default_cost - shopping_cost, 2)
    pct = round(100 * saving / default_cost, 2) if default_cost else 0.0
    return {f"{prefix}saving": saving, f"{prefix}saving_pct": pct}


def _total(amounts: pd.Series) -> float:
    return round(float(amounts.sum()), 2)
