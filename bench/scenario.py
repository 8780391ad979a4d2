"""The bench's reproducible scenario: a peak day (Black Friday 2026) of N orders across the
bench world's stores, opening stock scaled to the volume, all derived from one seed."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from config.world import World, load_world

BENCH_WORLD = Path(__file__).resolve().parents[1] / "config" / "worlds" / "bench.yaml"
PEAK_DAY = datetime(2026, 11, 27)          # Black Friday: orders placed over this UTC day
UNITS_PER_ORDER = 7.0                      # 1-6 lines of 1-3 units: about 3.5 x 2
COVER = 1.5                                # opening stock of a deep SKU / its expected demand on the day
INCREMENTAL_ORDERS = 500                   # a typical cycle's new orders, run after the peak pull


@dataclass(frozen=True)
class Scenario:
    orders: int
    seed: int = 7
    world_file: Path = BENCH_WORLD
    max_lines: int = 6
    incremental_orders: int = INCREMENTAL_ORDERS
    shop_plan: dict = field(default_factory=lambda: {"bucket_size": 20000.0, "restore_rate": 1000.0})  # Shopify Plus

    @classmethod
    def sized(cls, orders: int, *, seed: int = 7) -> "Scenario":
        """The scenario for N orders: the incremental cycle is 500 orders, or a quarter of a small day."""
        return cls(orders=orders, seed=seed, incremental_orders=min(INCREMENTAL_ORDERS, orders // 4))

    @property
    def start(self) -> datetime:
        return PEAK_DAY

    @property
    def day_end(self) -> datetime:
        """The end of the peak day: the incremental cycle runs then, every order placed."""
        return PEAK_DAY + timedelta(days=1)

    def world(self) -> World:
        return load_world(self.world_file)

    def orders_per_day(self) -> float:
        """Per store, so that the stores together place about `orders` on the peak day."""
        return self.orders / len(self.world().channels)

    def stock(self) -> pd.DataFrame:
        """The demo slotting (popular SKUs near the depot), each deep SKU stocked to cover its
        expected demand on the day COVER times over, spread across the warehouses that slot it
        (demand follows the catalogue's Zipf-like popularity, so a uniform scale-up starved the
        top SKUs as N grew: at 100k half the orders backordered). Scarce SKUs stay thin, so some
        orders still backorder."""
        from connectors.sandbox.catalog import demo_catalog, demo_stock

        world = self.world()
        stock = demo_stock(world)
        catalog = demo_catalog(world).set_index("sku")
        share = catalog["popularity"] / catalog["popularity"].sum()
        units = self.orders * UNITS_PER_ORDER * share                    # expected units per SKU
        slots = stock.groupby("sku")["location_id"].transform("count")
        wanted = (COVER * stock["sku"].map(units) / slots).round().astype(int)
        deep = stock["on_hand"] > 3
        stock.loc[deep, "on_hand"] = stock.loc[deep, "on_hand"].where(stock.loc[deep, "on_hand"] > wanted[deep],
                                                                      wanted[deep])
        return stock

    def to_json(self) -> dict:
        out = asdict(self)
        out["world_file"] = str(self.world_file)
        return out

    @classmethod
    def from_json(cls, data: dict) -> "Scenario":
        return cls(**{**data, "world_file": Path(data["world_file"])})
