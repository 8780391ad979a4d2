"""Row-by-row INSERT: exists only as the benchmark's baseline for warehouse.bulk.

It is the naive way to write a frame — one INSERT statement executed per row, one round
trip each — so the benchmark can show what the bulk path (COPY on PostgreSQL, executemany
on SQLite) buys. Nothing in the pipeline should call it. Values are converted exactly as
warehouse.bulk converts them (NaN/NaT/pd.NA become NULL), so both write identical rows.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, Table

from warehouse.bulk import prepare, records


def insert_row_by_row(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """INSERT every row of the frame with its own statement execution, inside the caller's
    transaction. A plain INSERT: a key conflict raises. Returns the number of rows inserted."""
    if frame.empty:
        return 0
    statement = table.insert()
    inserted = 0
    for row in records(prepare(table, frame)):
        inserted += conn.execute(statement, row).rowcount   # one dict, not a list: no executemany
    return inserted
