"""Reverse logistics: inspect returned items, decide restock or quarantine, compute refunds."""
from __future__ import annotations

import numpy as np
import pandas as pd

from domain.frames import FLOAT, TEXT, conform, money

DAMAGE_REASONS = frozenset({"DEFECTIVE", "NOT_AS_DESCRIBED"})
SELLABLE, DAMAGED = "sellable", "damaged"
RESTOCKED, QUARANTINED = "restocked", "quarantined"
REFUND_COLUMNS = {"return_id": TEXT, "amount": FLOAT}


def inspect_return_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """lines: return_id, line_no, sku, quantity, reason. Adds condition ('damaged' when the
    reason says the item arrived damaged, else 'sellable') and disposition ('quarantined' |
    'restocked'). Other columns pass through; reasons compare case-insensitively."""
    damaged = lines["reason"].astype(TEXT).str.strip().str.upper().isin(DAMAGE_REASONS).to_numpy()
    return lines.assign(
        condition=pd.Series(np.where(damaged, DAMAGED, SELLABLE), index=lines.index, dtype=TEXT),
        disposition=pd.Series(np.where(damaged, QUARANTINED, RESTOCKED), index=lines.index, dtype=TEXT),
    )


def refund_amounts(lines: pd.DataFrame) -> pd.DataFrame:
    """lines: return_id, quantity, unit_price. Returns return_id, amount (sum, rounded to cents).
    Damaged and sellable items are both refunded: the customer is not at fault for either."""
    if lines.empty:
        return conform(pd.DataFrame(), REFUND_COLUMNS)
    value = lines["quantity"].astype(float) * money(lines["unit_price"])
    totals = value.groupby(lines["return_id"], sort=True).sum().rename("amount").reset_index()
    return conform(totals.assign(amount=money(totals["amount"])), REFUND_COLUMNS)


def gateway_refunds(amounts: pd.DataFrame, store_refunded: pd.DataFrame) -> pd.DataFrame:
    """amounts: return_id, amount (what the return is worth); store_refunded: return_id,
    store_refunded_amount (what the merchant already refunded in the store). Returns return_id,
    amount and in_store: in_store is True when the store refunded it all — nothing may go
    through the gateway, or the customer is paid twice — and amount is then the store's refund;
    otherwise amount is what is left for the gateway."""
    merged = amounts.merge(store_refunded, on="return_id", how="left")
    already = merged["store_refunded_amount"].fillna(0.0).astype(float)
    left = (merged["amount"].astype(float) - already).clip(lower=0.0).round(2)
    in_store = left < 0.005
    # a return refunded whole in the store is recorded with the store's amount, for the books
    amount = left.where(~in_store, already.round(2))
    return pd.DataFrame({"return_id": merged["return_id"], "amount": amount, "in_store": in_store})
