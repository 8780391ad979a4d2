"""Partitions: the share of the work one fulfil-orders run may touch, so that several runs
(several deployments, several workers) can fulfil side by side.

A partition is channels × warehouses, None meaning every one. An order has no warehouse
until reservation chooses one (the nearest that ships it complete, domain.allocation), so:

- intake — pulling orders, verifying payments, reserving stock — is partitioned by channel
  only, and only runs that cover every warehouse do it. A warehouse partition never reserves:
  it cannot take stock in another warehouse, nor keep an order from the warehouse that would
  serve it better;
- the floor — pick waves, labels, storefront pushes — is partitioned by channel and by
  warehouse: a run touches only orders of its channels allocated to its warehouses.

Partitions that overlap are still correct (the database arbitrates, docs/scale-out.md); the
floor of each (channel, warehouse) cell is booked by one run at a time, under `cell_lock_key`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    channels: tuple[str, ...] | None = None    # None: every channel
    warehouses: tuple[str, ...] | None = None  # None: every warehouse

    @classmethod
    def of(cls, channels: Iterable[str] | None = None, warehouses: Iterable[str] | None = None) -> Partition:
        """Names deduplicated and sorted; an empty list means every one, as None does."""
        return cls(_names(channels), _names(warehouses))

    @property
    def runs_intake(self) -> bool:
        """Pull, payment checks and reservation: only in runs that cover every warehouse."""
        return self.warehouses is None

    @property
    def label(self) -> str:
        """For run names: 'shopify-main', 'all-channels@EWR', 'shopify-main,shopify-outlet@LAX'."""
        scope = ",".join(self.channels) if self.channels else "all-channels"
        return scope if self.warehouses is None else f"{scope}@{','.join(self.warehouses)}"

    def unknown(self, *, channels: Sequence[str], warehouses: Sequence[str]) -> list[str]:
        """What the partition names that the world does not define ('channel x', 'warehouse y')."""
        return ([f"channel {c!r}" for c in self.channels or () if c not in channels]
                + [f"warehouse {w!r}" for w in self.warehouses or () if w not in warehouses])

    def cells(self, *, channels: Sequence[str], warehouses: Sequence[str]) -> list[tuple[str, str]]:
        """Every (channel, warehouse) of the world this partition's floor covers, sorted."""
        return sorted((c, w) for c in self.channels or channels for w in self.warehouses or warehouses)


def cell_lock_key(channel: str, warehouse: str) -> int:
    """A stable signed 64-bit key per floor cell (a PostgreSQL advisory lock key)."""
    digest = hashlib.blake2b(f"cumplido/floor/{channel}/{warehouse}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _names(names: Iterable[str] | None) -> tuple[str, ...] | None:
    if isinstance(names, str):  # one name, not its letters
        names = [names]
    unique = tuple(sorted(set(names or ())))
    return unique or None
