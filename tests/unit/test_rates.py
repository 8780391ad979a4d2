"""Shipping: the cheapest service that still keeps the promise."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from domain.rates import choose_rates, transit_budget

SLA = {"standard": 4, "express": 2, "next_day": 1}
SHIP_AT = datetime(2026, 11, 26, 16, 0)


def quotes(*rows) -> pd.DataFrame:
    """(shipment_id, service, amount, transit_days) rows."""
    return pd.DataFrame([(s, f"se-{s}-{svc}", svc.split("_")[0], svc, amt, "USD", days) for s, svc, amt, days in rows],
                        columns=["shipment_id", "rate_id", "carrier", "service", "amount", "currency", "transit_days"])


def budget(**limits) -> pd.DataFrame:
    return pd.DataFrame(list(limits.items()), columns=["shipment_id", "max_transit_days"])


def test_budget_is_the_tighter_of_the_sla_and_the_days_left():
    shipments = pd.DataFrame({
        "shipment_id": ["roomy", "tight", "late", "express"],
        "shipping_method": ["standard", "standard", "standard", "express"],
        "promised_by": [datetime(2026, 12, 5), datetime(2026, 11, 28, 18), datetime(2026, 11, 25), datetime(2026, 12, 5)],
        "ship_at": [SHIP_AT] * 4,
    })
    out = transit_budget(shipments, max_transit_days=SLA)
    assert dict(zip(out["shipment_id"], out["max_transit_days"])) == {"roomy": 4, "tight": 2, "late": 1, "express": 2}


def test_budget_for_an_unknown_method_is_the_days_left():
    shipments = pd.DataFrame({"shipment_id": ["s"], "shipping_method": ["pigeon"],
                              "promised_by": [datetime(2026, 11, 29, 17)], "ship_at": [SHIP_AT]})
    assert transit_budget(shipments, max_transit_days=SLA)["max_transit_days"].tolist() == [3]


def test_rate_shopping_picks_cheapest_service_meeting_sla():
    offered = quotes(("s1", "usps_ground_advantage", 6.10, 4), ("s1", "usps_priority_mail", 9.40, 2),
                     ("s1", "ups_2nd_day_air", 16.80, 2), ("s1", "ups_next_day_air", 34.00, 1))
    chosen = choose_rates(offered, budget(s1=2)).iloc[0]
    assert (chosen["service"], chosen["amount"], bool(chosen["meets_sla"])) == ("usps_priority_mail", 9.40, True)


def test_equal_prices_prefer_the_faster_service_then_the_name():
    offered = quotes(("s1", "b_slow", 8.0, 3), ("s1", "c_fast", 8.0, 2), ("s1", "a_fast", 8.0, 2))
    assert choose_rates(offered, budget(s1=4))["service"].tolist() == ["a_fast"]


def test_when_nothing_meets_the_promise_the_fastest_is_booked_and_flagged():
    offered = quotes(("s1", "ground", 6.10, 4), ("s1", "air_a", 40.0, 2), ("s1", "air_b", 30.0, 2))
    chosen = choose_rates(offered, budget(s1=1)).iloc[0]
    assert (chosen["service"], bool(chosen["meets_sla"])) == ("air_b", False)


def test_one_choice_per_shipment_with_quotes():
    offered = quotes(("s1", "ground", 6.0, 4), ("s2", "ground", 7.0, 4), ("s2", "air", 20.0, 1))
    out = choose_rates(offered, budget(s1=4, s2=1, s3=2))
    assert dict(zip(out["shipment_id"], out["service"])) == {"s1": "ground", "s2": "air"}


def test_no_quotes_no_choices():
    out = choose_rates(quotes(), budget())
    assert out.empty and "meets_sla" in out.columns
    assert transit_budget(pd.DataFrame(columns=["shipment_id", "shipping_method", "promised_by", "ship_at"]),
                          max_transit_days=SLA).empty


@given(st.lists(st.tuples(st.floats(1, 100, allow_nan=False).map(lambda x: round(x, 2)), st.integers(1, 5)),
                min_size=1, max_size=8), st.integers(1, 5))
def test_chosen_rate_is_never_beaten_by_a_cheaper_quote_that_meets_the_promise(offers, limit):
    offered = quotes(*[("s1", f"svc{i}", amount, days) for i, (amount, days) in enumerate(offers)])
    chosen = choose_rates(offered, budget(s1=limit)).iloc[0]
    meeting = [amount for amount, days in offers if days <= limit]
    assert bool(chosen["meets_sla"]) == bool(meeting)
    if meeting:
        assert chosen["amount"] == min(meeting) and chosen["transit_days"] <= limit
    else:
        assert chosen["transit_days"] == min(days for _, days in offers)
