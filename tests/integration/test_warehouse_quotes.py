"""WarehouseQuotes keeps carrier quotes between runs: recalled while fresh, per scope, replaced."""
from __future__ import annotations

from datetime import datetime, timedelta

from domain.records import Rate
from warehouse.quotes import WarehouseQuotes

AT = datetime(2026, 12, 7, 15, 0)


def rates(amount: float) -> list[Rate]:
    return [Rate(f"se-{amount}", "usps", "usps_priority_mail", amount, "USD", 2),
            Rate(f"se-{amount}-g", "ups", "ups_ground", amount + 1.5, "USD", 4)]


def test_quotes_are_recalled_while_newer_than_asked(engine):
    memory = WarehouseQuotes(lambda: engine)
    memory.remember("acct", {"lane-a": rates(7.25), "lane-b": rates(9.0)}, at=AT)

    assert memory.recall("acct", ["lane-a", "lane-b", "lane-c"], newer_than=AT - timedelta(minutes=10)) == {
        "lane-a": rates(7.25), "lane-b": rates(9.0)}
    assert memory.recall("acct", ["lane-a"], newer_than=AT) == {}          # as old as that: too old


def test_a_scope_recalls_only_its_own_quotes(engine):
    memory = WarehouseQuotes(lambda: engine)
    memory.remember("acct-1", {"lane-a": rates(7.25)}, at=AT)

    assert memory.recall("acct-2", ["lane-a"], newer_than=AT - timedelta(minutes=10)) == {}


def test_quoting_a_key_again_replaces_its_rates_and_age(engine):
    memory = WarehouseQuotes(lambda: engine)
    memory.remember("acct", {"lane-a": rates(7.25)}, at=AT)
    memory.remember("acct", {"lane-a": rates(8.0)}, at=AT + timedelta(minutes=20))
    memory.remember("acct", {}, at=AT + timedelta(minutes=30))                # nothing to keep: no write

    assert memory.recall("acct", ["lane-a"], newer_than=AT + timedelta(minutes=15)) == {"lane-a": rates(8.0)}
