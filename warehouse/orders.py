"""The order repository: pulled orders in, orders by state out, state transitions with events.

Every write is idempotent: re-pulling an order never resets its state, and re-running a
transition changes nothing and appends no second event. Readers take a partition (channels,
warehouses; None = all) and filter in SQL; `holding_cells` keeps two runs off one floor cell.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import Connection, DateTime, Engine, String, false, func, literal, select, text
from sqlalchemy.exc import DBAPIError

from domain.orders import ValidatedOrders, to_json
from warehouse.bulk import STAGE_ABOVE, insert_for, prepare, read_frame, read_in, staged, update_rows, upsert
from warehouse.schema import fulfillment_events, order_lines, order_payloads, orders, quarantine, stock

EVENT_KEYS = ["order_id", "event", "at"]
# json.dumps(default=str)'s ways in orjson: int keys allowed, dates and dataclasses through str()
TO_JSON_RULES = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def known_skus(conn: Connection) -> set[str]:
    """Every SKU the warehouses stock (in any bin, even at zero)."""
    return set(conn.execute(select(stock.c.sku).distinct()).scalars())


def payload_text(raw: Any) -> str:
    """A vendor payload as the JSON text a `raw` column keeps (domain.orders.to_json's rules:
    UTF-8, dates and other oddities as their str()), through orjson: some 15 times faster than
    json, which took a tenth of a peak day's pull. Compact: it differs from to_json's text only
    in whitespace."""
    try:
        return orjson.dumps(raw, default=str, option=TO_JSON_RULES).decode()
    except TypeError:        # what orjson refuses (e.g. an int beyond 64 bits): the stdlib's way
        return to_json(raw)


def stored_payloads(conn: Connection, order_ids: Sequence[str]) -> dict[str, Any]:
    """order_id -> the raw payload (parsed) of each of these orders the warehouse holds."""
    found = read_in(conn, select(order_payloads.c.order_id, order_payloads.c.raw), order_payloads.c.order_id,
                    order_ids)
    payloads = {}
    for order_id, raw in zip(found["order_id"].tolist(), found["raw"].tolist()):
        try:
            payloads[order_id] = orjson.loads(raw)
        except orjson.JSONDecodeError:   # not JSON after all (e.g. NaN from the stdlib): never equal
            continue
    return payloads


def insert_pulled(conn: Connection, validated: ValidatedOrders, *, flow_run_id: str | None,
                  at: datetime | None = None) -> dict[str, int]:
    """Store a validated batch. A new order is inserted with its lines and a 'new' event; an
    order already stored keeps its state and lines (it may be reserved or shipped by now):
    only source_updated_at and its payload refresh. Quarantined records are upserted, last_seen_at = at
    (default: the batch's ingested_at, or the clock when no order in the batch was valid)."""
    batch = validated.orders.drop_duplicates("order_id")
    known = _existing_order_ids(conn, batch["order_id"])
    new = batch[~batch["order_id"].isin(known)]
    upsert(conn, orders, new)
    upsert(conn, order_lines, validated.lines[validated.lines["order_id"].isin(new["order_id"])])
    update_rows(conn, orders, batch[batch["order_id"].isin(known)][["order_id", "source_updated_at"]],
                keys=["order_id"])
    upsert(conn, order_payloads, validated.payloads, update=["raw"])
    record_events(conn, pd.DataFrame({"order_id": new["order_id"], "event": new["status"],
                                      "at": new["status_at"], "detail": None}), flow_run_id=flow_run_id)
    seen_at = at or (batch["ingested_at"].max() if not batch.empty else _utc_now())
    return {"inserted": len(new), "already_known": len(known),
            "quarantined": _park(conn, validated.quarantined, at=seen_at)}


def _existing_order_ids(conn: Connection, order_ids: pd.Series) -> set[str]:
    found = read_in(conn, select(orders.c.order_id), orders.c.order_id, order_ids.tolist())
    return set(found["order_id"])


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _park(conn: Connection, parked: pd.DataFrame, *, at: datetime) -> int:
    if parked.empty:
        return 0
    upsert(conn, quarantine, parked.assign(first_seen_at=at, last_seen_at=at, resolved_at=None),
           update=["reason", "raw", "last_seen_at"])
    return len(parked)


def in_partition(*, channels: Sequence[str] | None = None, warehouses: Sequence[str] | None = None) -> list:
    """WHERE conditions on `orders` keeping a reader to its partition: channel IN, warehouse_id
    IN (the warehouse reservation chose). None adds no condition; an empty list matches nothing."""
    conditions = []
    if channels is not None:
        conditions.append(orders.c.channel.in_(list(channels)))
    if warehouses is not None:
        conditions.append(orders.c.warehouse_id.in_(list(warehouses)))
    return conditions


def orders_in(conn: Connection, statuses: Sequence[str] | str, *, channels: Sequence[str] | None = None,
              limit: int | None = None, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Orders in the given states (of the given channels), oldest first (placed_at, order_id)."""
    statuses = [statuses] if isinstance(statuses, str) else list(statuses)
    picked = [orders.c[c] for c in columns] if columns else list(orders.c)
    stmt = (select(*picked).where(orders.c.status.in_(statuses), *in_partition(channels=channels))
            .order_by(orders.c.placed_at, orders.c.order_id).limit(limit))
    return read_frame(conn, stmt)


def transition(conn: Connection, changes: pd.DataFrame, *, at: datetime, flow_run_id: str | None,
               held: bool = False) -> int:
    """Move orders to a new state. changes: order_id, status, and optionally hold_reason and
    warehouse_id. Only orders whose status differs change (status_at = at, hold_reason as
    given or cleared) and each appends one event (event = status, detail = hold_reason).
    Returns the number of orders changed; a re-run returns 0. held: this transaction already
    holds these orders' row locks (it claimed them), so the staged path (PostgreSQL, more than
    STAGE_ABOVE orders) does not lock them again first; the row-by-row path reads their
    statuses with its usual lock, which then costs nothing more.

    With a `status_was` column, an order moves only if it is still in that state, read under
    its row lock: a stage that decided from statuses it read without claiming the orders (payments)
    never drags back an order a concurrent run moved on meanwhile (a reserved order sent back to
    payment_verified would be reserved a second time)."""
    if changes.empty:
        return 0
    changes = changes.drop_duplicates("order_id", keep="last")
    current = None
    if "status_was" in changes:
        current = _lock_statuses(conn, changes["order_id"])
        still = changes.merge(current, on="order_id")
        changes, held = still[still["status_now"] == still["status_was"]].drop(columns=["status_now", "status_was"]), True
        if changes.empty:
            return 0
    if conn.dialect.name == "postgresql" and len(changes) > STAGE_ABOVE:
        return _transition_staged(conn, changes, at=at, flow_run_id=flow_run_id, held=held)
    if current is None:   # read (and locked) above already when the change names the state it expects
        current = _lock_statuses(conn, changes["order_id"])
    merged = changes.merge(current, on="order_id", suffixes=("", "_now"))
    moving = merged[merged["status"] != merged["status_now"]]
    if moving.empty:
        return 0
    reason = moving["hold_reason"] if "hold_reason" in moving else None
    update = moving[["order_id", "status"]].assign(status_at=at, hold_reason=reason)
    if "warehouse_id" in moving:
        update["warehouse_id"] = moving["warehouse_id"]
    update_rows(conn, orders, update, keys=["order_id"])
    record_events(conn, pd.DataFrame({"order_id": moving["order_id"], "event": moving["status"],
                                      "at": at, "detail": reason}), flow_run_id=flow_run_id)
    return len(moving)


def _transition_staged(conn: Connection, changes: pd.DataFrame, *, at: datetime, flow_run_id: str | None,
                       held: bool) -> int:
    """transition on PostgreSQL for many orders, without the rows coming back to Python: the
    changes are staged, the orders locked in order_id order (as _lock_statuses does, so runs
    that move overlapping orders queue instead of deadlocking) unless the transaction holds
    them already, then one statement updates the orders whose status differs and appends
    their events."""
    columns = ["order_id", "status", *(c for c in ("hold_reason", "warehouse_id") if c in changes)]
    with staged(conn, orders, prepare(orders, changes[columns])) as wanted:
        if not held:
            locked = (select(orders.c.order_id).where(orders.c.order_id.in_(select(wanted.c.order_id)))
                      .order_by(orders.c.order_id).with_for_update())
            conn.execute(select(func.count()).select_from(locked.subquery()))
        values = {"status": wanted.c.status, "status_at": at,
                  "hold_reason": wanted.c.hold_reason if "hold_reason" in changes else None}
        if "warehouse_id" in changes:
            values["warehouse_id"] = wanted.c.warehouse_id
        moved = (orders.update().values(values)
                 .where(orders.c.order_id == wanted.c.order_id, orders.c.status != wanted.c.status)
                 .returning(orders.c.order_id, orders.c.status, orders.c.hold_reason).cte("moved"))
        events = (insert_for(conn, fulfillment_events)
                  .from_select(["order_id", "event", "at", "flow_run_id", "detail"],
                               select(moved.c.order_id, moved.c.status, literal(at, DateTime),
                                      literal(flow_run_id, String), moved.c.hold_reason))
                  .on_conflict_do_nothing(index_elements=EVENT_KEYS).cte("logged"))
        return conn.execute(select(func.count()).select_from(moved).add_cte(events)).scalar_one()


def _lock_statuses(conn: Connection, order_ids: pd.Series) -> pd.DataFrame:
    """Current status of the orders, row-locked in order_id order on PostgreSQL so that two
    concurrent transitions of one order serialise (the second then sees the new status)."""
    stmt = select(orders.c.order_id, orders.c.status.label("status_now")).order_by(orders.c.order_id)
    return lock_rows(conn, stmt, orders.c.order_id, order_ids.tolist())


def lock_rows(conn: Connection, statement, key, values) -> pd.DataFrame:
    """`statement WHERE key IN values`, rows locked FOR UPDATE on PostgreSQL in the statement's
    ORDER BY. One statement, not chunks: chunks are each sorted by the database's collation
    but follow one another in Python's order, so two runs locking overlapping sets could take
    the same rows in different orders and deadlock. SQLite locks no rows (BEGIN IMMEDIATE)."""
    if conn.dialect.name != "postgresql":
        return read_in(conn, statement, key, values)
    values = sorted(set(values))
    return read_frame(conn, statement.where(key.in_(values) if values else false()).with_for_update())


def record_events(conn: Connection, frame: pd.DataFrame, *, flow_run_id: str | None) -> int:
    """Append events (order_id, event, at, optional detail); one already recorded is ignored."""
    if frame.empty:
        return 0
    frame = frame.assign(flow_run_id=flow_run_id)
    if "detail" not in frame:
        frame["detail"] = None
    return upsert(conn, fulfillment_events, frame[["order_id", "event", "at", "flow_run_id", "detail"]],
                  keys=EVENT_KEYS)


# --- one run per floor cell ---------------------------------------------------------------
@contextmanager
def holding_cells(engine: Engine, keys: Sequence[int]) -> Iterator[None]:
    """Hold an exclusive lock per floor cell (domain.partitions.cell_lock_key) for the block.
    Labels are bought and fulfilments pushed between transactions, so two runs working one
    (channel, warehouse) cell at once could both buy the same label: the second run waits here,
    then finds the work done. Keys are taken in sorted order, so runs sharing cells queue
    instead of deadlocking. PostgreSQL: session advisory locks on a connection of their own;
    SQLite (one machine): flock on a file per cell beside the database. Either is released
    when the block ends, or by the operating system / server when a worker dies mid-way."""
    keys = sorted(set(keys))
    locks = _advisory_locks if engine.dialect.name == "postgresql" else _file_locks
    with locks(engine, keys):
        yield


@contextmanager
def _advisory_locks(engine: Engine, keys: list[int]) -> Iterator[None]:
    conn = engine.connect()
    try:
        for key in keys:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        conn.commit()  # idle, not idle-in-transaction, while the cells are worked on
        yield
    finally:
        try:
            conn.execute(text("SELECT pg_advisory_unlock_all()"))
            conn.commit()
        except DBAPIError:
            conn.invalidate()  # never hand a connection that may still hold locks back to the pool
        conn.close()


@contextmanager
def _file_locks(engine: Engine, keys: list[int]) -> Iterator[None]:
    import fcntl  # POSIX: SQLite warehouses run on one Linux or macOS machine

    database = engine.url.database
    folder = (Path(database).parent / f"{Path(database).name}.locks" if database and database != ":memory:"
              else Path(tempfile.gettempdir()) / "cumplido-locks")
    folder.mkdir(parents=True, exist_ok=True)
    handles = []
    try:
        for key in keys:
            handles.append(open(folder / f"cell-{key & 0xFFFF_FFFF_FFFF_FFFF:016x}.lock", "a+"))  # noqa: SIM115
            fcntl.flock(handles[-1], fcntl.LOCK_EX)  # flock: also excludes threads of one process
        yield
    finally:
        for handle in reversed(handles):
            handle.close()  # closing the file releases its lock
