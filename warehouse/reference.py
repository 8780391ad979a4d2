"""Reference data from the world file (channels, warehouses, bins) and the sync cursors."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from config.world import World
from warehouse.bulk import read_frame, upsert
from warehouse.schema import channels, locations, sync_cursors, warehouses


def sync_world(conn: Connection, world: World, *, now: datetime) -> int:
    """Make channels, warehouses and bin locations match the world file (idempotent);
    returns how many rows changed. Only rows that differ are written, so the run-start check
    costs one read when nothing changed (the usual case)."""
    changed = _sync(conn, channels, pd.DataFrame(
        [{"channel": c.id, "kind": c.kind, "shop_domain": c.shop_domain, "created_at": now} for c in world.channels]
    ), update=["kind", "shop_domain"])
    changed += _sync(conn, warehouses, pd.DataFrame(
        [{"warehouse_id": w.id, "name": w.name, "priority": w.priority} for w in world.warehouses]
    ), update=["name", "priority"])
    changed += _sync(conn, locations, pd.DataFrame(
        [b.model_dump() for w in world.warehouses for b in w.bins]
    ), update=["warehouse_id", "aisle", "bay", "level", "x", "y"])
    return changed


def _sync(conn: Connection, table, wanted: pd.DataFrame, *, update: list[str]) -> int:
    keys = [c.name for c in table.primary_key.columns]
    have = read_frame(conn, select(*[table.c[c] for c in keys + update]))
    if not have.empty:
        merged = wanted.merge(have, on=keys, how="left", suffixes=("", "_have"), indicator=True)
        same = merged["_merge"] == "both"
        for column in update:
            same &= merged[column].astype(str) == merged[f"{column}_have"].astype(str)
        wanted = wanted[~same.to_numpy()]
    return upsert(conn, table, wanted, update=update) if not wanted.empty else 0


def read_cursor(conn: Connection, *, channel: str, stream: str) -> datetime | None:
    row = conn.execute(
        select(sync_cursors.c.cursor_at).where(sync_cursors.c.channel == channel, sync_cursors.c.stream == stream)
    ).first()
    return row[0] if row else None


def advance_cursor(conn: Connection, *, channel: str, stream: str, to: datetime, now: datetime) -> None:
    """Move the cursor forward only (a late, slow run never moves it back)."""
    current = read_cursor(conn, channel=channel, stream=stream)
    if current is not None and current >= to:
        return
    upsert(conn, sync_cursors, pd.DataFrame(
        [{"channel": channel, "stream": stream, "cursor_at": to, "updated_at": now}]
    ), update=["cursor_at", "updated_at"])
