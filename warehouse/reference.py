"""Reference data from the world file (channels, warehouses, bins) and the sync cursors."""
from __future__ import annotations

import hashlib
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from config.world import World
from warehouse.bulk import read_frame, upsert
from warehouse.schema import channels, locations, reference_syncs, sync_cursors, warehouses

COLUMNS = {   # what the world file says of each reference table, key first
    channels: ["channel", "kind", "shop_domain"],
    warehouses: ["warehouse_id", "name", "priority"],
    locations: ["location_id", "warehouse_id", "aisle", "bay", "level", "x", "y"],
}


def sync_world(conn: Connection, world: World, *, now: datetime) -> int:
    """Make channels, warehouses and bin locations match the world file (idempotent);
    returns how many rows changed. A world whose rows were synced already (same fingerprint)
    costs one read; otherwise only rows that differ are written."""
    rows = reference_rows(world)
    fingerprint = hashlib.sha256(repr(sorted(rows.items())).encode()).hexdigest()
    synced = conn.execute(select(reference_syncs.c.fingerprint).where(reference_syncs.c.source == "world")).scalar()
    if synced == fingerprint:
        return 0
    changed = 0
    for table, columns in COLUMNS.items():
        wanted = pd.DataFrame(rows[table.name], columns=columns)
        changed += _sync(conn, table, wanted.assign(created_at=now) if table is channels else wanted,
                         update=columns[1:])
    upsert(conn, reference_syncs, pd.DataFrame([{"source": "world", "fingerprint": fingerprint, "synced_at": now}]),
           update=["fingerprint", "synced_at"])
    return changed


def reference_rows(world: World) -> dict[str, list[tuple]]:
    """What the world file says each reference table holds, row by row, key first."""
    return {
        "channels": [(c.id, c.kind, c.shop_domain) for c in world.channels],
        "warehouses": [(w.id, w.name, w.priority) for w in world.warehouses],
        "locations": [tuple(getattr(b, c) for c in COLUMNS[locations]) for w in world.warehouses for b in w.bins],
    }


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
