"""Carrier quotes kept in the warehouse between runs (connectors.protocols.QuoteMemory)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime

import orjson
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from domain.records import Rate
from warehouse.bulk import read_in, upsert
from warehouse.schema import carrier_quotes


class WarehouseQuotes:
    """QuoteMemory on the warehouse; `engine` is called when first needed (a connector is built
    before anything touches the database)."""

    def __init__(self, engine: Callable[[], Engine]):
        self._engine = engine

    def recall(self, scope: str, keys: Sequence[str], *, newer_than: datetime) -> dict[str, list[Rate]]:
        statement = select(carrier_quotes.c.quote_key, carrier_quotes.c.rates).where(
            carrier_quotes.c.scope == scope, carrier_quotes.c.quoted_at > newer_than)
        with self._engine().connect() as conn:
            found = read_in(conn, statement, carrier_quotes.c.quote_key, keys)
        return {key: [Rate(**rate) for rate in orjson.loads(rates)] for key, rates in zip(found["quote_key"], found["rates"])}

    def remember(self, scope: str, quotes: dict[str, list[Rate]], *, at: datetime) -> None:
        if not quotes:
            return
        rows = pd.DataFrame({"scope": scope, "quote_key": list(quotes), "quoted_at": at,
                             "rates": [orjson.dumps([asdict(rate) for rate in rates]).decode() for rates in quotes.values()]})
        with self._engine().begin() as conn:
            upsert(conn, carrier_quotes, rows, update=["quoted_at", "rates"])
