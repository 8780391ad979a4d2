"""The simulated shop's catalogue and opening stock, deterministic from the world's seed."""
from __future__ import annotations

import numpy as np
import pandas as pd

from config.world import World


def demo_catalog(world: World) -> pd.DataFrame:
    """sku, title, unit_price, weight_kg, scarce — the products the sandbox shops sell."""
    spec = world.catalog
    rng = np.random.default_rng(spec.seed)
    n = spec.skus
    nouns = ["Mug", "Tote", "Tee", "Cap", "Notebook", "Candle", "Bottle", "Scarf", "Socks", "Poster"]
    return pd.DataFrame({
        "sku": [f"SKU-{i:05d}" for i in range(1, n + 1)],
        "title": [f"{nouns[i % len(nouns)]} {i:03d}" for i in range(1, n + 1)],
        "unit_price": np.round(rng.uniform(8, 120, n), 2),
        "weight_kg": np.round(rng.uniform(0.1, 2.5, n), 2),
        "scarce": rng.random(n) < spec.scarce_share,
        # popularity: a few SKUs sell much more than the rest (Zipf-like)
        "popularity": 1.0 / np.arange(1, n + 1) ** 0.8,
    })


def demo_stock(world: World) -> pd.DataFrame:
    """sku, location_id, warehouse_id, on_hand — each SKU slotted in one bin per warehouse,
    popular SKUs near the depot (as a slotting study would put them)."""
    catalog = demo_catalog(world)
    rng = np.random.default_rng(world.catalog.seed + 1)
    frames = []
    for warehouse in world.warehouses:
        bins = sorted(warehouse.bins, key=lambda b: (b.y + b.x, b.level))
        n = min(len(catalog), len(bins))
        # popular SKUs are stocked deeper, as a buyer would; scarce ones hardly at all
        deep = rng.integers(40, 160, n) + (1500 * catalog["popularity"].to_numpy()[:n]).astype(int)
        on_hand = np.where(catalog["scarce"].to_numpy()[:n], rng.integers(0, 3, n), deep)
        frames.append(pd.DataFrame({
            "sku": catalog["sku"].to_numpy()[:n],
            "location_id": [b.location_id for b in bins[:n]],
            "warehouse_id": warehouse.id,
            "on_hand": on_hand.astype(int),
        }))
    return pd.concat(frames, ignore_index=True)
