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
