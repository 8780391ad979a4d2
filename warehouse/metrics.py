"""The analysts' tables: fct_order_fulfillment and mart_fulfillment_daily, rebuilt whole.

Definitions live in domain/kpis.py (and the README); this module only reads their inputs
and replaces the tables in one transaction, so analysts never see a half-built mart."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from domain.kpis import build_daily_mart, build_order_facts
from warehouse.bulk import read_frame, replace_table
from warehouse.schema import (
    fct_order_fulfillment, fulfillment_events, mart_fulfillment_daily, orders, refunds, returns, shipments,
)


def metric_inputs(conn: Connection) -> dict[str, pd.DataFrame]:
    outbound = select(shipments.c.order_id, shipments.c.carrier, shipments.c.service, shipments.c.rate_amount,
                      shipments.c.shipped_at, shipments.c.delivered_at).where(shipments.c.direction == "outbound")
    return {
        "orders": read_frame(conn, select(orders)),
        "events": read_frame(conn, select(fulfillment_events.c.order_id, fulfillment_events.c.event,
                                          fulfillment_events.c.at)),
        "shipments": read_frame(conn, outbound),
        "returns": read_frame(conn, select(returns.c.order_id, returns.c.return_id)),
        "refunds": read_frame(conn, select(refunds.c.order_id, refunds.c.amount, refunds.c.status)),
    }


def refresh_metric_tables(conn: Connection, *, as_of: datetime) -> pd.DataFrame:
    """Rebuild both tables; returns the order facts (for the KPI summary)."""
    facts = build_order_facts(**metric_inputs(conn), as_of=as_of)
    replace_table(conn, fct_order_fulfillment, facts)
    replace_table(conn, mart_fulfillment_daily, build_daily_mart(facts, refreshed_at=as_of))
    return facts


def read_facts(conn: Connection) -> pd.DataFrame:
    return read_frame(conn, select(fct_order_fulfillment))
