"""The bench's measuring parts: interval union, scenario scaling, the invariant checks on a
real warehouse, and the report's targets."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from bench import invariants, report
from bench.measure import DbTimer, speed_probe, statement_kind, union_seconds
from bench.scenario import UNITS_PER_ORDER, Scenario

T0 = datetime(2026, 11, 28)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_parallel_task_runs_count_once_in_the_union():
    assert union_seconds([]) == 0
    assert union_seconds([(at(0), at(2)), (at(1), at(3)), (at(5), at(6))]) == pytest.approx(4.0)
    assert union_seconds([(at(4), at(5)), (at(0), at(10))]) == pytest.approx(10.0)


def test_scenario_stock_covers_each_deep_skus_demand_at_any_volume_and_keeps_scarce_skus_scarce():
    from connectors.sandbox.catalog import demo_catalog

    small, big = Scenario(orders=1_000).stock(), Scenario(orders=400_000).stock()
    catalog = demo_catalog(Scenario(orders=1).world()).set_index("sku")
    share = catalog["popularity"] / catalog["popularity"].sum()
    held = big.groupby("sku")["on_hand"].sum()
    deep = held.index[held > 3 * 3]
    expected = 400_000 * UNITS_PER_ORDER * share[deep]
    assert (held[deep] >= 1.49 * expected).all()                             # the top SKUs too (Zipf demand)
    assert big["on_hand"].sum() > 3 * small["on_hand"].sum()
    assert (big.loc[small["on_hand"] <= 3, "on_hand"] <= 3).all()          # thin SKUs stay thin
    assert Scenario(orders=1_000).orders_per_day() * len(Scenario(orders=1).world().channels) == 1_000


def seed_rows(engine, *, reserved: int, on_hand: int, labels_for: list[str]) -> None:
    from warehouse.bulk import upsert
    from warehouse.schema import orders, shipments, stock

    with engine.begin() as conn:
        upsert(conn, stock, pd.DataFrame([{"sku": "S1", "location_id": "EWR-A01-B01-L1", "warehouse_id": "EWR",
                                           "on_hand": on_hand, "reserved": reserved}]))
        upsert(conn, orders, pd.DataFrame([{
            "order_id": f"shop:{i}", "channel": "shop", "external_id": str(i), "order_number": str(i),
            "placed_at": T0, "source_updated_at": T0, "customer_name": "A", "customer_email": "a@example.com",
            "promised_by": T0, "raw": "{}", "status": "label_booked",
            "status_at": T0, "currency": "USD", "total_amount": 1.0, "shipping_method": "standard",
            "ship_to_line1": "1 St", "ship_to_city": "X", "ship_to_region": "NY", "ship_to_postal_code": "10001",
            "ship_to_country": "US", "ingested_at": T0} for i in range(2)]).pipe(_fit, orders))
        upsert(conn, shipments, pd.DataFrame([{
            "shipment_id": f"{o}/out/{n}", "order_id": o, "direction": "outbound", "warehouse_id": "EWR",
            "idempotency_key": f"k-{o}-{n}", "label_status": "purchased", "label_ref": f"se-{o}-{n}",
            "created_at": T0, "updated_at": T0} for n, o in enumerate(labels_for)]))


def _fit(frame: pd.DataFrame, table) -> pd.DataFrame:
    """Only the table's columns, and every NOT NULL one present."""
    return frame[[c for c in frame.columns if c in table.c]]


def test_invariants_pass_on_a_consistent_warehouse(engine):
    seed_rows(engine, reserved=5, on_hand=5, labels_for=["shop:0", "shop:1"])
    out = invariants.check(engine, placed={"shop": 2}, carrier_labels=2)
    assert out["ok"], out
    assert out["orders_lost"] == 0 and out["oversold_units"] == 0


def test_invariants_catch_doubled_and_lost(engine):
    # overselling itself is refused by the schema (ck_stock_never_oversold); the check is the bench's second look
    seed_rows(engine, reserved=5, on_hand=5, labels_for=["shop:0", "shop:0"])
    out = invariants.check(engine, placed={"shop": 3}, carrier_labels=3)
    assert not out["ok"]
    assert out["oversold_units"] == 0
    assert out["orders_with_two_outbound_labels"] == 1
    assert out["orders_lost"] == 1                        # 3 placed, 2 stored, none parked
    assert out["carrier_labels"] != out["our_labels"]


def run(flow: str, wall: float, tasks: int, share: float, rss: float = 300.0) -> dict:
    return {"flow": flow, "wall_seconds": wall, "db_seconds": 1.0, "task_runs": tasks, "orchestration_share": share,
            "peak_rss_mb": rss, "state": "COMPLETED", "counts": {"verify_payments": {"checked": 10}},
            "stages": [{"task": "verify-payments", "state": "COMPLETED", "seconds": 0.5}]}


def result(**over) -> dict:
    r = {"date": "2026-11-26", "db": "postgres", "orders": 100_000, "seed": 7, "peak_orders": 100_000,
         "incremental_orders": 500, "command": "cumplido bench", "machine": "2 cores",
         "scenario": Scenario(orders=100_000).to_json(),
         "runs": {"peak": run("fulfil-orders", 58.0, 8, 0.04), "incremental": run("fulfil-orders", 4.0, 8, 0.2)},
         "baselines": {"pick_travel": {"waves_m": 50.0, "single_order_m": 100.0, "fcfs_s_shape_m": 80.0,
                                       "vs_single_order_pct": 50.0, "vs_fcfs_s_shape_pct": 37.5,
                                       "optimality_gap_pct": 0.0, "optimality_sample_waves": 3},
                       "bulk_writes": {"rows": 10, "bulk_seconds": 0.1, "row_by_row_seconds": 1.0, "speedup": 10.0}},
         "invariants": {"ok": True, "oversold_units": 0}}
    r.update(over)
    return r


def test_targets_hold_when_every_figure_is_within_its_bound():
    checks = report.targets(result())
    assert checks and all(ok for _, ok in checks), checks
    text_ = report.markdown({**result(), "targets": checks})
    assert "verify-payments" in text_ and "Reproduce: `cumplido bench`" in text_


def test_targets_report_each_miss():
    slow = result(runs={"peak": run("fulfil-orders", 75.0, 250, 0.2, rss=2000.0),
                        "incremental": run("fulfil-orders", 9.0, 8, 0.2)})
    missed = [label for label, ok in report.targets(slow) if not ok]
    assert len(missed) == 5, missed          # time, RSS, task runs, overhead, incremental cycle


def test_the_report_says_how_long_the_store_backlog_took_to_drain():
    peak = {**run("fulfil-orders", 58.0, 8, 0.04), "counts": {"push_fulfillments": {"pushed": 2_000, "left": 90_000}}}
    drain = {**run("notify-storefronts", 110.0, 12, 0.02),
             "counts": {"push_fulfillments": {"pushed": 90_000, "rejected": 0, "left": 0, "rounds": 11}},
             "stages": [{"task": "push-fulfillments", "state": "COMPLETED", "seconds": 10.0}] * 11}
    r = result(runs={"peak": peak, "store-backlog": drain, "incremental": run("fulfil-orders", 4.0, 8, 0.2)})
    checks = report.targets(r)
    assert all(ok for _, ok in checks), checks          # the targets still judge the peak fulfil-orders run
    text_ = report.markdown({**r, "targets": checks})
    assert "| store-backlog | notify-storefronts | 110.00 |" in text_
    assert "| store-backlog | push-fulfillments ×11 | 110.00 | 90,000 | 818 |" in text_   # one row for the rounds
    assert "left 90,000" in text_ and "told them about 90,000 in 110.0 s (11 rounds" in text_


@pytest.mark.parametrize("statement, kind", [
    ('UPDATE "cumplido_bench".orders SET status=%(status)s', "UPDATE orders"),
    ("INSERT INTO cumplido_bench.reservations (reservation_id) SELECT …", "INSERT INTO reservations"),
    ("SELECT o.order_id FROM orders AS o JOIN order_lines", "SELECT … FROM orders"),
    ('COPY "tmp_shipments_1a2b3c4d" (shipment_id) FROM STDIN', "COPY tmp_shipments"),
    ("TRUNCATE tmp_pick_lines_0011aabb", "TRUNCATE tmp_pick_lines"),
    ("select 1", "SELECT 1"),
])
def test_statements_are_grouped_by_verb_and_table(statement, kind):
    assert statement_kind(statement) == kind


def test_the_report_shows_where_the_peak_runs_db_time_went_and_the_machines_speed():
    timer = DbTimer()
    for seconds, statement in [(2.0, "UPDATE orders SET a=1"), (1.0, "UPDATE orders SET b=2"), (0.5, "SELECT 1")]:
        timer._add(seconds, statement_kind(statement))
    assert timer.top(1) == [{"statement": "UPDATE orders", "seconds": 3.0, "calls": 2}]
    assert timer.seconds == 3.5 and timer.statements == 3
    r = result(speed_probe_seconds={"before": 0.21, "after": 0.63})
    r["runs"]["peak"]["db_top"] = timer.top()
    text_ = report.markdown({**r, "targets": report.targets(r)})
    assert "| `UPDATE orders` | 3.00 | 2 |" in text_
    assert "speed probe 0.21 s before the runs, 0.63 s after" in text_


def test_the_speed_probe_times_its_workload():
    assert 0 < speed_probe(repeats=1) < 30
