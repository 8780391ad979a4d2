"""Bulk writes and typed reads between DataFrames and warehouse tables.

Every function works inside the caller's transaction (`with engine.begin() as conn:`).
PostgreSQL loads rows with COPY into a temporary table and applies them with one set-based
statement (the fastest path measured, see DESIGN.md); SQLite uses one executemany. Reads
build frames a column at a time; `read_in` sends its keys as one array on PostgreSQL.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
from sqlalchemy import (
    Boolean, Connection, Date, DateTime, Float, Integer, Numeric, Table, any_, bindparam, column,
    false, func, or_, select, table as lightweight_table, text,
)
from sqlalchemy.dialects import postgresql, sqlite

from warehouse.copy_text import copy_chunks

IN_CHUNK = 900  # below SQLite's historic 999 bound-parameter limit
# Small frames skip the temporary table on PostgreSQL: staging costs three statements more
# (measured when each made and dropped its table: ~4 ms). Measured crossovers: a multi-row
# INSERT … VALUES beats it up to a few hundred rows; an executemany UPDATE (one round trip per
# row) up to ~10.
STAGE_ABOVE = 200
STAGE_UPDATES_ABOVE = 10
# Rows per COPY statement: bounds the text held in memory at once (an order's raw JSON is
# large); 100k orders load no slower in chunks of 5k than in one statement.
COPY_ROWS = 5_000


def insert_for(conn: Connection, table: Table):
    """The dialect's INSERT construct, which knows ON CONFLICT."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def upsert(conn: Connection, table: Table, frame: pd.DataFrame, *,
           update: Sequence[str] | None = None, keys: Sequence[str] | None = None) -> int:
    """Insert the frame's rows; on a key conflict leave the row (update=None) or set the
    `update` columns, only where a value differs. keys default to the primary key.
    Returns the number of rows inserted or changed, so a re-run returns 0."""
    keys = list(keys or table.primary_key.columns.keys())
    if frame.empty:
        return 0
    frame = prepare(table, frame).drop_duplicates(keys, keep="last" if update else "first")
    if _staging_pays(conn, frame, above=STAGE_ABOVE):
        with staged(conn, table, frame) as tmp:
            source = select(*(tmp.c[c] for c in frame.columns))
            stmt = insert_for(conn, table).from_select(list(frame.columns), source)
            return conn.execute(_on_conflict(stmt, table, keys, update)).rowcount
    if conn.dialect.name == "postgresql":  # one multi-row VALUES statement, not one per row
        stmt = insert_for(conn, table).values(records(frame))
        return conn.execute(_on_conflict(stmt, table, keys, update)).rowcount
    stmt = _on_conflict(insert_for(conn, table), table, keys, update)
    return execute_many(conn, stmt, table, frame)


def _staging_pays(conn: Connection, frame: pd.DataFrame, *, above: int) -> bool:
    return conn.dialect.name == "postgresql" and len(frame) > above


def _on_conflict(stmt, table: Table, keys: list[str], update: Sequence[str] | None):
    if not update:
        return stmt.on_conflict_do_nothing(index_elements=keys)
    changed = or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in update))
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in update}, where=changed)


def update_rows(conn: Connection, table: Table, frame: pd.DataFrame, *, keys: Sequence[str]) -> int:
    """UPDATE the frame's non-key columns of the rows matching `keys`, only where a value
    differs. Returns the number of rows changed."""
    values = [c for c in frame.columns if c not in keys]
    if frame.empty or not values:
        return 0
    frame = prepare(table, frame).drop_duplicates(list(keys), keep="last")
    if _staging_pays(conn, frame, above=STAGE_UPDATES_ABOVE):
        with staged(conn, table, frame) as tmp:
            stmt = (table.update()
                    .values({c: tmp.c[c] for c in values})
                    .where(*(table.c[k] == tmp.c[k] for k in keys))
                    .where(or_(*(table.c[c].is_distinct_from(tmp.c[c]) for c in values))))
            return conn.execute(stmt).rowcount
    # executemany. Bind names must differ from column names in an UPDATE's SET clause; typed
    # binds so SQLite stores timestamps in SQLAlchemy's format, not sqlite3's default one.
    bind = {c: bindparam(f"v_{c}", type_=table.c[c].type) for c in frame.columns}
    stmt = (table.update()
            .values({c: bind[c] for c in values})
            .where(*(table.c[k] == bind[k] for k in keys))
            .where(or_(*(table.c[c].is_distinct_from(bind[c]) for c in values))))
    return execute_many(conn, stmt, table, frame, bind_prefix="v_")


def replace_table(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Replace every row (for rebuilt tables such as the metrics). DELETE, not TRUNCATE:
    readers keep seeing the old rows until commit instead of waiting on a table lock."""
    conn.execute(table.delete())
    if frame.empty:
        return 0
    frame = prepare(table, frame)
    if conn.dialect.name == "postgresql":
        copy_into(conn, table.name, frame)
    else:
        execute_many(conn, table.insert(), table, frame)
    return len(frame)


def read_frame(conn: Connection, statement) -> pd.DataFrame:
    """Run a query into a DataFrame typed from the statement's columns; an empty result
    keeps its columns and dtypes."""
    result = conn.execute(statement)
    names = list(result.keys())
    rows = result.fetchall()
    kinds = getattr(statement, "selected_columns", None)
    types = [c.type for c in kinds] if kinds is not None else [None] * len(names)
    # Built a column at a time: pandas turning row tuples into columns (nested_data_to_arrays)
    # cost more than the query at 100k rows. Each column infers its dtype as the rows did.
    columns = zip(*rows) if rows else ([] for _ in names)
    frame = pd.DataFrame({position: _typed(pd.Series(values, dtype=None if rows else object), sql_type)
                          for position, (values, sql_type) in enumerate(zip(columns, types))})
    frame.columns = names
    return frame


def read_in(conn: Connection, statement, key, values, *, chunk: int = IN_CHUNK) -> pd.DataFrame:
    """read_frame of `statement WHERE key IN values`. PostgreSQL: one statement whatever the
    count, the values bound as one array (`key = ANY(:values)`). SQLite: chunked below its
    bind-parameter limit; values are sorted so that a statement ordered by `key` (e.g. FOR
    UPDATE) still visits rows in one global key order across chunks."""
    values = sorted(set(values))
    if not values:
        return read_frame(conn, statement.where(false()))
    if conn.dialect.name == "postgresql":
        return read_frame(conn, statement.where(key == any_(array_of(values, key.type))))
    parts = [read_frame(conn, statement.where(key.in_(values[i:i + chunk])))
             for i in range(0, len(values), chunk)]
    return pd.concat(parts, ignore_index=True)


def array_of(values: list, item_type):
    """PostgreSQL: a list bound as one array parameter (psycopg2 sends it as one literal)."""
    return bindparam(None, values, type_=postgresql.ARRAY(item_type))


def _typed(series: pd.Series, sql_type) -> pd.Series:
    if isinstance(sql_type, (DateTime, Date)):
        return pd.to_datetime(series).astype("datetime64[us]")
    if isinstance(sql_type, Boolean):
        return series.astype("boolean" if series.isna().any() else bool)
    if isinstance(sql_type, Integer):
        return series.astype("Int64" if series.isna().any() else "int64")
    if isinstance(sql_type, (Float, Numeric)):
        return series.astype("float64")
    if series.empty:
        return series.astype("str")
    return series


def execute_many(conn: Connection, stmt, table: Table, frame: pd.DataFrame, *, bind_prefix: str = "") -> int:
    """Execute `stmt` once per row of the (prepared) frame in one executemany; binds are named
    after the frame's columns (with `bind_prefix`). On SQLite the rows go to the driver as
    tuples of values already in SQLAlchemy's storage format, converted a column at a time:
    SQLAlchemy's per-row parameter processing cost more than SQLite's own insert."""
    if conn.dialect.name != "sqlite":
        return conn.execute(stmt, records(frame.add_prefix(bind_prefix))).rowcount
    compiled = stmt.compile(dialect=conn.dialect, column_keys=[f"{bind_prefix}{c}" for c in frame.columns])
    columns = {f"{bind_prefix}{c}": _sqlite_values(frame[c], table.c[c].type, conn.dialect) for c in frame.columns}
    rows = list(zip(*(columns[name] for name in compiled.positiontup)))
    return conn.exec_driver_sql(compiled.string, rows).rowcount


def _sqlite_values(series: pd.Series, sql_type, dialect) -> list:
    """A column's values as SQLAlchemy would bind them on SQLite: timestamps as
    'YYYY-MM-DD HH:MM:SS.ffffff' text, dates as 'YYYY-MM-DD', missing values as None."""
    if isinstance(sql_type, (DateTime, Date)) and pd.api.types.is_datetime64_any_dtype(series):
        text_values = series.dt.strftime("%Y-%m-%d %H:%M:%S.%f" if isinstance(sql_type, DateTime) else "%Y-%m-%d")
        return text_values.astype(object).where(series.notna(), None).tolist()
    values = _python_values(series)
    process = sql_type._cached_bind_processor(dialect)
    return [process(v) for v in values] if process else values


# --- value conversion ------------------------------------------------------------------
def prepare(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce columns to what the table stores: whole numbers for integer columns (a NaN
    turns an int column into floats), naive UTC datetimes for timestamp columns."""
    frame = frame.copy()
    for name in frame.columns:
        sql_type = table.c[name].type
        series = frame[name]
        if isinstance(sql_type, Integer) and not pd.api.types.is_integer_dtype(series):
            frame[name] = pd.to_numeric(series).astype("Int64")
        elif isinstance(sql_type, DateTime):
            # Naive values are UTC already; aware ones are converted to UTC and made naive.
            frame[name] = pd.to_datetime(series, utc=True).dt.tz_localize(None)
    return frame


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values: NaN/NaT/pd.NA → None, numpy scalars → Python."""
    columns = {name: _python_values(frame[name]) for name in frame.columns}
    return [dict(zip(columns, row)) for row in zip(*columns.values())]


def _python_values(series: pd.Series) -> list:
    missing = series.isna().to_numpy()
    values = series.tolist()
    if series.dtype.kind in "iufb" or isinstance(series.dtype, pd.StringDtype):
        # tolist gives plain Python numbers and strings already: only the missing ones change
        # (converting every value one by one was most of a bulk write's time on SQLite)
        return [None if gone else value for value, gone in zip(values, missing)] if missing.any() else values
    return [None if gone else _python(value) for value, gone in zip(values, missing)]


def _python(value):
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


# --- PostgreSQL staging ----------------------------------------------------------------
@contextmanager
def staged(conn: Connection, table: Table, frame: pd.DataFrame) -> Iterator:
    """COPY the frame into a temporary table shaped like `table`'s columns of the frame
    (types only, no constraints) and yield it, emptied afterwards.

    The temporary table is the connection's own, one per (table, columns), made the first time
    and kept (emptied at every commit): creating and dropping one per statement wrote ~20
    catalog rows each time, thousands per run, and PostgreSQL's catalogs swell until vacuum
    catches up (with autovacuum off, pg_attribute held 168,000 dead rows for 2,300 live ones
    after a morning of bench runs, and every statement's catalog lookups paid for them)."""
    name = _staging_name(table, frame.columns)
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in frame.columns)
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ON COMMIT DELETE ROWS AS "
                      f"SELECT {quoted} FROM {_quoted_table(conn, table)} WITH NO DATA"))
    copy_into(conn, name, frame)
    yield lightweight_table(name, *(column(c) for c in frame.columns))
    conn.execute(text(f"TRUNCATE {name}"))     # a later statement of this transaction may stage again


def _staging_name(table: Table, columns: Sequence[str]) -> str:
    """tmp_orders_1a2b3c4d: the table and a digest of the columns staged, in their order."""
    return f"tmp_{table.name}_{hashlib.blake2s(','.join(columns).encode(), digest_size=4).hexdigest()}"


def unnested(frame: pd.DataFrame, types: dict, *, name: str):
    """The frame's columns (`types`: column -> SQL type) as rows to select or join from:
    `unnest(:array, …) AS name(columns)`, one array parameter per column. Set-based like
    `staged`, without a temporary table: for frames of up to a few thousand rows."""
    arrays = [bindparam(f"{name}_{c}", frame[c].tolist(), type_=postgresql.ARRAY(t)) for c, t in types.items()]
    return func.unnest(*arrays).table_valued(*types).render_derived(name=name)


def copy_into(conn: Connection, table_name: str, frame: pd.DataFrame) -> None:
    """COPY a frame (already prepared) into a table through the connection's psycopg2 cursor,
    in COPY's text format (warehouse.copy_text), COPY_ROWS rows per statement."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(c) for c in frame.columns)
    sql = f"COPY {quote(table_name)} ({columns}) FROM STDIN"
    with conn.connection.driver_connection.cursor() as cursor:
        for chunk in copy_chunks(frame, rows=COPY_ROWS):
            cursor.copy_expert(sql, io.StringIO(chunk))


def _quoted_table(conn: Connection, table: Table) -> str:
    return conn.dialect.identifier_preparer.format_table(table)
