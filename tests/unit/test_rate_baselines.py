"""Label-cost baseline: rate shopping against always booking the world's default service."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from config.settings import DEFAULT_WORLD
from config.world import World, load_world
from domain.rate_baselines import label_cost_comparison, policy_bookings
from domain.rates import transit_budget

QUOTE_COLUMNS = ["shipment_id", "rate_id", "carrier", "service", "amount", "currency", "transit_days"]


def quotes(*rows, currency: str = "USD") -> pd.DataFrame:
    """(shipment_id, service, amount, transit_days) rows."""
    return pd.DataFrame([(s, f"se-{s}-{svc}-{i}", svc.split("_")[0], svc, amt, currency, days)
                         for i, (s, svc, amt, days) in enumerate(rows)], columns=QUOTE_COLUMNS)


def budget(**limits) -> pd.DataFrame:
    return pd.DataFrame(list(limits.items()), columns=["shipment_id", "max_transit_days"])


def four_shipments() -> pd.DataFrame:
    return quotes(
        ("s1", "usps_ground_advantage", 6.10, 4), ("s1", "ups_ground", 8.20, 4), ("s1", "ups_2nd_day_air", 16.80, 2),
        ("s2", "usps_priority_mail", 9.40, 2), ("s2", "ups_ground", 8.20, 4), ("s2", "ups_2nd_day_air", 16.80, 2),
        ("s3", "usps_priority_mail_express", 29.50, 1), ("s3", "usps_ground_advantage", 6.10, 4),  # no ups_ground
        ("s4", "ups_ground", 8.20, 4), ("s4", "usps_ground_advantage", 6.10, 4),                  # no budget
    )


def test_costs_savings_and_sla_shares_of_both_policies():
    got = label_cost_comparison(four_shipments(), budget(s1=4, s2=2, s3=1), default_service="ups_ground")
    assert got == {
        "default_service": "ups_ground", "currency": "USD",
        "shipments": 4, "default_unbooked": 1,
        "shopping_cost": 51.10,                     # 6.10 + 9.40 + 29.50 + 6.10
        "default_cost": 24.60,                      # 3 × 8.20; s3 is not booked
        "compared_shipments": 3,                    # s1, s2, s4
        "compared_shopping_cost": 21.60, "compared_default_cost": 24.60,
        "saving": 3.00, "saving_pct": 12.2,         # 3.00 / 24.60
        "kept_shipments": 2,                        # s1, s4: ups_ground misses s2's 2-day budget
        "kept_saving": 4.20, "kept_saving_pct": 25.61,  # (16.40 - 12.20) / 16.40
        "shopping_sla_met": 4, "default_sla_met": 2,
        "shopping_sla_share": 1.0, "default_sla_share": 0.5,  # ups_ground is too slow for s2, s3 unbooked
    }


def test_a_shipment_without_a_default_quote_is_not_booked_by_the_default_policy():
    rows = policy_bookings(four_shipments(), budget(s3=1), default_service="ups_ground").set_index("shipment_id")
    s3 = rows.loc["s3"]
    assert (bool(s3["default_booked"]), bool(s3["default_meets_sla"]), pd.isna(s3["default_amount"])) == (False, False, True)
    assert (s3["shopping_service"], bool(s3["shopping_meets_sla"])) == ("usps_priority_mail_express", True)


def test_the_default_policy_books_the_cheapest_of_several_default_quotes():
    offered = quotes(("s1", "ups_ground", 9.00, 4), ("s1", "ups_ground", 8.20, 4))
    got = label_cost_comparison(offered, budget(s1=4), default_service="ups_ground")
    assert (got["default_cost"], got["shopping_cost"], got["saving"]) == (8.20, 8.20, 0.0)


def test_no_quotes_compare_as_zero():
    got = label_cost_comparison(quotes(), budget(), default_service="ups_ground")
    assert (got["shipments"], got["shopping_cost"], got["saving_pct"], got["default_sla_share"]) == (0, 0.0, 0.0, 0.0)


def test_mixed_currencies_are_refused():
    offered = pd.concat([quotes(("s1", "ups_ground", 8.20, 4)), quotes(("s2", "ups_ground", 8.20, 4), currency="EUR")])
    with pytest.raises(ValueError, match="currencies"):
        label_cost_comparison(offered, budget(), default_service="ups_ground")


# --- a realistic day from the world's carriers ----------------------------------------------
def seeded_day(world: World, *, seed: int = 11, shipments: int = 600, default_missing: float = 0.03):
    """Quotes for every world service (base_rate + per_kg × weight) and budgets from the world's
    SLA: orders ship 0-2 days after they were placed, so some promises are tight. A few
    shipments get no default-service quote (the carrier does not serve the address)."""
    rng = np.random.default_rng(seed)
    methods = rng.choice(list(world.sla), size=shipments, p=[0.7, 0.2, 0.1])
    weights = rng.gamma(2.0, 1.2, size=shipments).round(2) + 0.1
    placed = pd.Timestamp("2026-11-26 09:00") + pd.to_timedelta(rng.uniform(0, 24, shipments), unit="h")
    ship_at = placed + pd.to_timedelta(rng.uniform(0, 48, shipments), unit="h")
    promised = placed + pd.to_timedelta([world.sla[m].deliver_within_days for m in methods], unit="D")
    ids = [f"shp-{i:04d}" for i in range(shipments)]
    no_default = set(rng.choice(ids, size=int(default_missing * shipments), replace=False))
    rows = [(sid, f"se-{sid}-{svc.code}", carrier.code, svc.code, round(svc.base_rate + svc.per_kg * kg, 2),
             "USD", svc.transit_days)
            for sid, kg in zip(ids, weights) for carrier, svc in world.services.values()
            if not (svc.code == world.default_service and sid in no_default)]
    frame = pd.DataFrame({"shipment_id": ids, "shipping_method": methods, "promised_by": promised, "ship_at": ship_at})
    limits = transit_budget(frame, max_transit_days={m: p.max_transit_days for m, p in world.sla.items()})
    return pd.DataFrame(rows, columns=QUOTE_COLUMNS), limits


@pytest.fixture(scope="module")
def day():
    world = load_world(DEFAULT_WORLD)
    offered, limits = seeded_day(world)
    return world, offered, limits


def test_rate_shopping_never_costs_more_where_both_policies_keep_the_promise(day):
    world, offered, limits = day
    rows = policy_bookings(offered, limits, default_service=world.default_service)
    both = rows[rows["shopping_meets_sla"] & rows["default_meets_sla"]]
    assert len(both) > 300
    assert (both["shopping_amount"] <= both["default_amount"]).all()
    assert (both["shopping_amount"] < both["default_amount"]).mean() > 0.5   # usually strictly cheaper


def test_rate_shopping_keeps_the_promise_at_least_as_often(day):
    world, offered, limits = day
    rows = policy_bookings(offered, limits, default_service=world.default_service)
    assert not (rows["default_meets_sla"] & ~rows["shopping_meets_sla"]).any()
    got = label_cost_comparison(offered, limits, default_service=world.default_service)
    assert got["shopping_sla_share"] >= got["default_sla_share"]
    assert got["default_unbooked"] == 18 and got["shipments"] == 600


def test_on_price_alone_rate_shopping_saves(day):
    world, offered, limits = day
    got = label_cost_comparison(offered, limits, default_service=world.default_service)
    assert got["kept_saving"] > 0 and got["kept_saving_pct"] > 5
