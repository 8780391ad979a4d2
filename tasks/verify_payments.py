"""Reception: check every unverified order's payment at the gateway.

New orders are verified in rounds of CHUNK by the time they were placed, each round reading
the gateway's listing of that window and committing on its own, two rounds in flight, so a
peak day's raw payments never sit in memory whole. Held orders re-checked are scattered over days: they are read one
by one (a window spanning them would list every payment in between), and only when due
(domain.payments.due_for_recheck: less often the longer they have waited)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import orjson
import pandas as pd
from prefect import task
from sqlalchemy import Connection, select
from prefect.cache_policies import NONE

from domain import states
from domain.partitions import Partition
from domain.payments import due_for_recheck, verify_payments as decide_payments
from tasks.observability import TRANSIENT_RETRIES, current_flow_run_id, emit, in_threads
from tasks.resources import resources
from warehouse.bulk import read_in, upsert
from warehouse.orders import orders_in, transition
from warehouse.schema import payments

COLUMNS = ["order_id", "total_amount", "currency", "payment_ref", "placed_at", "status", "hold_reason", "status_at"]
CHUNK = 20_000                          # new orders per round (a raw Stripe intent is ~3 KB in memory)
ROUNDS_IN_FLIGHT = 2                    # one listed by the gateway while another is decoded and stored
CHECKOUT = timedelta(hours=1)           # a payment is made at checkout, shortly before its order is placed
NO_PAYMENTS = pd.DataFrame(columns=["payment_ref", "status", "amount", "currency"])


def awaiting_payment(frame: pd.DataFrame) -> pd.DataFrame:
    """New orders, and held orders whose hold is about the payment (other holds wait for ops)."""
    held_for_payment = (frame["status"] == states.ON_HOLD) & frame["hold_reason"].fillna("").str.contains("payment")
    return frame[(frame["status"] == states.NEW) | held_for_payment]


def due(conn: Connection, pending: pd.DataFrame, *, as_of: datetime) -> pd.DataFrame:
    """New orders, and the held ones due for a re-check. A hold was last checked when its
    payment row was (or, with no payment found, when the order went on hold)."""
    held = pending[pending["status"] != states.NEW]
    if held.empty:
        return pending
    checked = read_in(conn, select(payments.c.order_id, payments.c.checked_at), payments.c.order_id,
                      held["order_id"].tolist()).set_index("order_id")["checked_at"]
    last = held["order_id"].map(checked).fillna(held["status_at"])
    recheck = due_for_recheck(held.assign(last_checked_at=last), as_of=as_of)
    return pd.concat([pending[pending["status"] == states.NEW], held[recheck.to_numpy()]])


def rounds(pending: pd.DataFrame) -> Iterator[tuple[pd.DataFrame, dict]]:
    """(orders, the gateway's window for them): new orders CHUNK at a time by placed_at, then
    the re-checked holds with no window."""
    new = pending[pending["status"] == states.NEW].sort_values("placed_at", kind="stable")
    for start in range(0, len(new), CHUNK):
        batch = new.iloc[start:start + CHUNK]
        yield batch, {"created_since": batch["placed_at"].min() - CHECKOUT,
                      "created_until": batch["placed_at"].max() + CHECKOUT}
    held = pending[pending["status"] != states.NEW]
    if not held.empty:
        yield held, {"created_since": None}


def payment_rows(found: list, *, gateway: str, refs_to_orders: dict[str, str], at: datetime) -> pd.DataFrame:
    kept = [p for p in found if p.payment_ref in refs_to_orders]
    return pd.DataFrame({
        "order_id": [refs_to_orders[p.payment_ref] for p in kept], "gateway": gateway,
        "payment_ref": [p.payment_ref for p in kept], "status": [p.status for p in kept],
        "amount": [p.amount for p in kept], "currency": [p.currency for p in kept], "checked_at": at,
        "raw": [orjson.dumps(p.raw).decode() for p in kept],
    })


def verify_round(orders: pd.DataFrame, window: dict, *, as_of: datetime) -> Counter:
    """Read one round's payments, decide, and commit the payments with the orders' transitions."""
    res = resources()
    refs = orders.dropna(subset=["payment_ref"]).set_index("payment_ref")["order_id"].to_dict()
    gateway = res.payment_gateway
    found = gateway.fetch_payments(list(refs), **window)
    rows = payment_rows(found, gateway=gateway.name, refs_to_orders=refs, at=as_of)
    decisions = decide_payments(orders, rows if not rows.empty else NO_PAYMENTS)
    # decided from statuses read unclaimed: an order another run moved on meanwhile is left alone
    decisions["status_was"] = decisions["order_id"].map(orders.set_index("order_id")["status"])
    with res.engine.begin() as conn:
        if not rows.empty:
            upsert(conn, payments, rows, update=["status", "amount", "currency", "checked_at", "raw"])
        changed = transition(conn, decisions, at=as_of, flow_run_id=current_flow_run_id())
    return Counter(changed=changed, **decisions["status"].value_counts().to_dict())


def in_flight(work: Iterator[tuple[pd.DataFrame, dict]], *, as_of: datetime) -> Counter:
    """verify_round over the rounds, ROUNDS_IN_FLIGHT at a time: the gateway lists one round's
    window while this process decodes and stores another's (the rounds hold different orders,
    each commits on its own). Each runs in a copy of this context (the flow run's id and logger);
    a round that fails is raised once the others have committed."""
    counts = in_threads(lambda round_: verify_round(*round_, as_of=as_of), work, at_once=ROUNDS_IN_FLIGHT,
                        name="verify")
    return sum(counts, Counter())


def run_name() -> str:
    """'verify-payments shop-us', or '… all-channels'."""
    from prefect.runtime import task_run

    return f"verify-payments {Partition.of(task_run.parameters.get('channels')).label}"


@task(task_run_name=run_name, cache_policy=NONE, **TRANSIENT_RETRIES)
def verify_payments(as_of: datetime, channels: list[str] | None = None) -> dict[str, int]:
    """Orders of `channels` (None = all): intake has no warehouse yet (domain.partitions)."""
    res = resources()
    with res.engine.begin() as conn:
        waiting = awaiting_payment(orders_in(conn, states.AWAITING_PAYMENT, channels=channels, columns=COLUMNS))
        pending = due(conn, waiting, as_of=as_of)
    if pending.empty:
        return {"checked": 0, "not_due": len(waiting)}
    counts = in_flight(rounds(pending), as_of=as_of)
    counts = {"checked": len(pending), "not_due": len(waiting) - len(pending), "changed": counts.pop("changed", 0),
              **counts}
    emit("cumplido.payments.verified", resource="cumplido.gateway." + res.payment_gateway.name, payload=counts)
    return counts
