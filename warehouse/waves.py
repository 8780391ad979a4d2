"""Pick waves: what is ready to wave, and the planned waves with their pick lines."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from domain import states
from domain.waves import PlannedWaves
from warehouse.bulk import read_frame, upsert
from warehouse.orders import in_partition, transition
from warehouse.schema import locations, orders, pick_lines, reservations, waves


def warehouses_to_wave(conn: Connection, *, channels: Sequence[str] | None = None,
                       warehouses: Sequence[str] | None = None) -> list[str]:
    """The warehouses (of `warehouses`; None = all) where reserved orders of `channels` wait to be
    waved, the one with the most first."""
    count = func.count().label("waiting")
    stmt = (select(orders.c.warehouse_id, count)
            .where(orders.c.status == states.RESERVED, *in_partition(channels=channels, warehouses=warehouses))
            .group_by(orders.c.warehouse_id).order_by(count.desc(), orders.c.warehouse_id))
    return [warehouse for warehouse, _ in conn.execute(stmt).all()]


def claim_reserved_picks(conn: Connection, *, channels: Sequence[str] | None = None,
                         warehouses: Sequence[str] | None = None) -> pd.DataFrame:
    """Active reservations of reserved orders (of `channels`, allocated to `warehouses`; None =
    all) with their bin coordinates, locked so that two concurrent runs never wave the same
    order (PostgreSQL: SKIP LOCKED, the other run takes the rest; SQLite serialises writers)."""
    claimed = select(orders.c.order_id).where(orders.c.status == states.RESERVED,
                                              *in_partition(channels=channels, warehouses=warehouses))
    if conn.dialect.name == "postgresql":
        claimed = claimed.with_for_update(skip_locked=True)
    # One statement: the claim is a locking sub-select, so the ids (84k at a 100k-order peak)
    # never travel to Python and back as bound parameters.
    stmt = (
        select(reservations.c.order_id, reservations.c.line_no, reservations.c.sku, reservations.c.location_id,
               reservations.c.warehouse_id, reservations.c.quantity, orders.c.promised_by,
               locations.c.aisle, locations.c.bay, locations.c.level, locations.c.y)
        .join(orders, orders.c.order_id == reservations.c.order_id)
        .join(locations, locations.c.location_id == reservations.c.location_id)
        .where(and_(reservations.c.status == "active", reservations.c.order_id.in_(claimed)))
        .order_by(reservations.c.order_id, reservations.c.line_no, reservations.c.location_id)
    )
    return read_frame(conn, stmt)


def save_waves(conn: Connection, planned: PlannedWaves, *, at, flow_run_id: str | None) -> int:
    """Write the waves and their pick lines and move their orders to waved, in the transaction
    that claimed them (claim_reserved_picks); returns the orders moved."""
    if planned.waves.empty:
        return 0
    upsert(conn, waves, planned.waves)
    upsert(conn, pick_lines, planned.pick_lines)
    waved = pd.DataFrame({"order_id": planned.pick_lines["order_id"].unique(), "status": states.WAVED})
    return transition(conn, waved, at=at, flow_run_id=flow_run_id, held=True)
