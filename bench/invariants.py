"""Nothing oversold, nothing doubled, nothing lost: checked in SQL on the warehouse after a
bench run, against the simulators' ground truth (orders placed, labels bought)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

CHECKS = {
    "oversold_units": "select coalesce(sum(reserved - on_hand), 0) from stock where reserved > on_hand",
    "negative_stock_rows": "select count(*) from stock where on_hand < 0 or reserved < 0",
    "orders_stored_twice": "select count(*) - count(distinct channel || ':' || external_id) from orders",
    "orders_reserved_in_two_warehouses": "select count(*) from (select order_id from reservations "
                                         "where status <> 'released' group by order_id "
                                         "having count(distinct warehouse_id) > 1) d",
    "orders_in_two_waves": "select count(*) from (select order_id from pick_lines group by order_id "
                           "having count(distinct wave_id) > 1) d",
    "orders_with_two_outbound_labels": "select count(*) from (select order_id from shipments where direction = "
                                       "'outbound' and label_ref is not null group by order_id "
                                       "having count(*) > 1) d",
}


def check(engine: Engine, *, placed: dict[str, int], carrier_labels: int) -> dict:
    """Every figure must be 0 (or equal, for the ground-truth comparisons) for `ok`."""
    with engine.connect() as conn:
        out = {name: int(conn.execute(text(sql)).scalar_one()) for name, sql in CHECKS.items()}
        stored = dict(conn.execute(text("select channel, count(*) from orders group by channel")).all())
        parked = dict(conn.execute(text("select source, count(*) from quarantine where stream = 'orders' "
                                        "group by source")).all())
        our_labels = conn.execute(text("select count(*) from shipments where label_ref is not null")).scalar_one()
    accounted = {channel: int(stored.get(channel, 0)) + int(parked.get(channel, 0)) for channel in placed}
    out["orders_placed"] = sum(placed.values())
    out["orders_stored_or_parked"] = sum(accounted.values())
    out["orders_lost"] = sum(max(0, placed[c] - accounted[c]) for c in placed)
    out["carrier_labels"] = carrier_labels
    out["our_labels"] = int(our_labels)
    zero = [k for k in CHECKS] + ["orders_lost"]
    out["ok"] = all(out[k] == 0 for k in zero) and carrier_labels == out["our_labels"]
    return out
