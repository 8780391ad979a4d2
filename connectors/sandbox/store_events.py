"""What happens to an order in the store after checkout, the same way in every storefront
simulator: a few customers cancel within hours (before the parcel ships), and a share of return
requests is refunded by the merchant in the store right when the customer asks. Decisions are
deterministic per (seed, shop, order) and drawn from their own streams, so adding them changes
none of the orders, payments or returns the simulators generated before."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

CANCEL_SALT, STORE_REFUND_SALT = 13, 19
CANCEL_AFTER_HOURS = (0.5, 6.0)     # customers change their minds within hours of ordering


def cancel_at(*, seed: int, shop_index: int, seq: int, placed_at: datetime, share: float) -> datetime | None:
    """When this order's customer cancels it (if it has not shipped by then), or None."""
    rng = np.random.default_rng([seed, shop_index, seq, CANCEL_SALT])
    if rng.random() >= share:
        return None
    return placed_at + timedelta(hours=float(rng.uniform(*CANCEL_AFTER_HOURS)))


def refunded_in_store(*, seed: int, shop_index: int, seq: int, share: float) -> bool:
    """Whether the merchant refunds this order's return request in the store when it arrives."""
    return bool(np.random.default_rng([seed, shop_index, seq, STORE_REFUND_SALT]).random() < share)


@dataclass
class Timeline:
    """Events scheduled for later (moment, payload), handed out once the clock has passed them."""

    entries: list[tuple[datetime, Any]] = field(default_factory=list)

    def add(self, at: datetime | None, payload: Any) -> None:
        if at is not None:
            self.entries.append((at, payload))

    def due(self, now: datetime) -> list[tuple[datetime, Any]]:
        """The entries at or before `now`, oldest first; they leave the timeline."""
        due = sorted((e for e in self.entries if e[0] <= now), key=lambda e: e[0])
        self.entries = [e for e in self.entries if e[0] > now]
        return due
