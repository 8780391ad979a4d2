"""Orders the store cancelled: stop them before the label is bought, stock back on the shelf."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from domain.cancellations import Cancellations, decide_cancellations
from warehouse.bulk import read_in
from warehouse.orders import transition
from warehouse.schema import orders
from warehouse.stock import release_orders


def cancel_orders(conn: Connection, cancelled: pd.DataFrame, *, at: datetime, flow_run_id: str | None) -> Cancellations:
    """cancelled: order_id, cancelled_at (as the store reports them). In the caller's transaction,
    with the orders locked, so a concurrent run cannot wave or book what is being cancelled."""
    ids = cancelled["order_id"].tolist()
    if not ids:  # the usual case: nothing cancelled, no query
        return decide_cancellations(cancelled, pd.DataFrame(columns=["order_id", "status"]))
    stmt = select(orders.c.order_id, orders.c.status).order_by(orders.c.order_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    decision = decide_cancellations(cancelled, read_in(conn, stmt, orders.c.order_id, ids))
    if not decision.stop.empty:
        release_orders(conn, decision.stop["order_id"].tolist())
        transition(conn, decision.stop, at=at, flow_run_id=flow_run_id)
    return decision
