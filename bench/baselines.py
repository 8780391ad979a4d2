"""The baselines the bench measures side by side with the run, on the same orders and layout:
pick travel (waves vs single-order picking, FCFS batches walked S-shape, and the optimum),
label cost (rate shopping vs always the default service), bulk writes vs row-by-row, and
reservation by concurrent writers on PostgreSQL."""
from __future__ import annotations

import multiprocessing
import time
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from config.world import World
from domain.baselines import fcfs_s_shape_travel, optimality_gap, pick_points, single_order_travel
from domain.rate_baselines import label_cost_comparison
from warehouse.bulk import read_frame, upsert
from warehouse.row_by_row import insert_row_by_row
from warehouse.schema import locations, order_lines, orders, pick_lines, waves

OPTIMAL_SAMPLE = 600       # waves whose exact optimum is computed (all of them when fewer)
RATE_SAMPLE = 2000         # shipments re-quoted for the label-cost comparison
WRITE_SAMPLE = 10_000      # rows written both ways


def pick_travel(engine: Engine, world: World, *, seed: int) -> dict:
    """Metres walked per warehouse and overall: the planned waves (the travel_distance
    Cumplido stored for each), every order on its own walk, first-come-first-served batches
    under the same caps walked S-shape; and the stored waves' mean gap to the exact optimum
    (Ratliff-Rosenthal) over a seeded sample of waves."""
    stmt = (select(pick_lines.c.wave_id, pick_lines.c.seq, pick_lines.c.order_id, locations.c.warehouse_id,
                   locations.c.aisle, locations.c.y, orders.c.placed_at)
            .join(locations, locations.c.location_id == pick_lines.c.location_id)
            .join(orders, orders.c.order_id == pick_lines.c.order_id)
            .order_by(pick_lines.c.wave_id, pick_lines.c.seq))
    with engine.connect() as conn:
        picks = read_frame(conn, stmt)
        stored = dict(conn.execute(select(waves.c.wave_id, waves.c.travel_distance)).all())
    rng = np.random.default_rng(seed)
    share = min(1.0, OPTIMAL_SAMPLE / max(1, picks["wave_id"].nunique()))
    out, totals = {}, {"waves_m": 0.0, "single_order_m": 0.0, "fcfs_s_shape_m": 0.0}
    gaps = []
    for warehouse_id, rows in picks.groupby("warehouse_id"):
        layout = world.warehouse(warehouse_id).layout
        wave_ids = rows["wave_id"].unique()
        waves_m = float(sum(stored[w] for w in wave_ids))
        single_m = single_order_travel(rows, layout)
        fcfs_m = fcfs_s_shape_travel(rows, layout, world.waves)
        sample = rows[rows["wave_id"].isin([w for w in wave_ids if rng.random() < share])]
        gap = optimality_gap([(pick_points(group, layout), stored[w]) for w, group in sample.groupby("wave_id")], layout)
        n = sample["wave_id"].nunique()
        gaps.append((gap, n))
        out[warehouse_id] = {"waves": len(wave_ids), "waves_m": round(waves_m, 1), "single_order_m": round(single_m, 1),
                             "fcfs_s_shape_m": round(fcfs_m, 1), "optimality_gap_pct": round(100 * gap, 2)}
        totals["waves_m"] += waves_m
        totals["single_order_m"] += single_m
        totals["fcfs_s_shape_m"] += fcfs_m
    sampled = sum(n for _, n in gaps)
    weighted_gap = sum(g * n for g, n in gaps) / sampled if sampled else 0.0
    return {
        **{k: round(v, 1) for k, v in totals.items()},
        "vs_single_order_pct": _cut(totals["waves_m"], totals["single_order_m"]),
        "vs_fcfs_s_shape_pct": _cut(totals["waves_m"], totals["fcfs_s_shape_m"]),
        "optimality_gap_pct": round(100 * weighted_gap, 2), "optimality_sample_waves": sampled,
        "pick_lines": len(picks), "by_warehouse": out,
    }


def _cut(ours: float, baseline: float) -> float:
    return round(100 * (baseline - ours) / baseline, 2) if baseline else 0.0


def label_cost(engine: Engine, world: World, carrier, *, as_of: datetime, seed: int) -> dict:
    """Re-quote a sample of the run's outbound parcels at the carrier, exactly as book_carriers
    quotes them, then compare rate shopping with always booking world.default_service."""
    from tasks.book_carriers import parcels_for, quotes_frame, shipping_budget
    from warehouse.shipments import booked_outbound

    with engine.connect() as conn:
        work = booked_outbound(conn)                    # ordered: the same sample on every database
    if work.empty:
        return {"shipments": 0}
    work = work.sample(n=min(RATE_SAMPLE, len(work)), random_state=seed)
    work["idempotency_key"] = "bench-quote-" + work["shipment_id"]     # never a label's reference
    quotes, _ = quotes_frame(work, carrier.quote_many(parcels_for(work, world)))
    return label_cost_comparison(quotes, shipping_budget(work, world, as_of=as_of),
                                 default_service=world.default_service)


def bulk_vs_row_by_row(engine: Engine, *, repeats: int = 3) -> dict:
    """Write the same order lines into an empty copy of the order_lines table with the bulk
    path and with one INSERT per row; each in its own transaction, rolled back after timing
    so the warehouse is untouched. Each is timed `repeats` times, alternating, and its best
    time kept (as timeit does): one write of a tenth of a second is at the mercy of whatever
    else the machine does in that moment."""
    with engine.connect() as conn:
        frame = read_frame(conn, select(order_lines).limit(WRITE_SAMPLE))
    timings: dict[str, float] = {}
    for _ in range(repeats):
        for label, write in (("bulk", lambda c, f: upsert(c, order_lines, f)),
                             ("row_by_row", lambda c, f: insert_row_by_row(c, order_lines, f))):
            with engine.connect() as conn:
                trans = conn.begin()
                conn.execute(order_lines.delete().where(order_lines.c.order_id.in_(frame["order_id"].unique().tolist())))
                started = time.perf_counter()
                write(conn, frame)
                timings[label] = min(timings.get(label, float("inf")), time.perf_counter() - started)
                trans.rollback()
    return {"rows": len(frame), "repeats": repeats, "bulk_seconds": round(timings["bulk"], 3),
            "row_by_row_seconds": round(timings["row_by_row"], 3),
            "bulk_rows_per_s": round(len(frame) / timings["bulk"]) if timings["bulk"] else None,
            "row_by_row_rows_per_s": round(len(frame) / timings["row_by_row"]) if timings["row_by_row"] else None,
            "speedup": round(timings["row_by_row"] / timings["bulk"], 1) if timings["bulk"] else None}


def _reserve_until_done(url: str, world_file: str, now: datetime, batch: int, results) -> None:
    from config.world import load_world
    from domain import states
    from warehouse.db import make_engine
    from warehouse.stock import reserve_orders

    world, engine = load_world(world_file), make_engine(url)
    lines = orders_done = 0
    while True:
        with engine.begin() as conn:
            allocation = reserve_orders(conn, warehouses=world.warehouses, now=now, ttl=timedelta(hours=24),
                                        limit=batch, statuses=[states.PAYMENT_VERIFIED])  # backorders: once
        if allocation.outcomes.empty:
            break
        lines += len(allocation.reservations)
        orders_done += len(allocation.outcomes)
    engine.dispose()
    results.put((lines, orders_done))


def concurrent_reservation(url: str, world_file: str, *, now: datetime, writers: int = 4, batch: int = 250) -> dict:
    """`writers` processes reserving the same verified orders against the same stock at once
    (each claims `batch` orders per transaction with SKIP LOCKED); then the oversold check."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_reserve_until_done, args=(url, world_file, now, batch, results)) for _ in range(writers)]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    done = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    seconds = time.perf_counter() - started
    lines = sum(d[0] for d in done)
    from warehouse.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        oversold = conn.execute(text("select coalesce(sum(reserved - on_hand), 0) from stock where reserved > on_hand")).scalar_one()
        negative = conn.execute(text("select count(*) from stock where reserved < 0")).scalar_one()
        doubled = conn.execute(text("select count(*) from (select order_id, line_no from reservations "
                                    "where status = 'active' group by order_id, line_no, sku "
                                    "having count(distinct warehouse_id) > 1) d")).scalar_one()
    engine.dispose()
    return {"writers": writers, "orders": sum(d[1] for d in done), "lines_reserved": lines,
            "seconds": round(seconds, 3), "lines_per_s": round(lines / seconds) if seconds else None,
            "per_writer_lines": [d[0] for d in done], "oversold_units": int(oversold),
            "negative_reserved_rows": int(negative), "orders_in_two_warehouses": int(doubled)}
