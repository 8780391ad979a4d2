"""The ShipEngine sandbox decides a label's journey only when someone looks past its first hour:
what any clock shows must be what the journey decided at purchase would show."""
from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from connectors.sandbox.shipengine_tracking import (
    HOUR, PlannedJourney, Place, journey_rng, label_created, outbound_journey, return_journey, tracking_number,
)

BOUGHT = datetime(2026, 11, 27, 9, 30)
NEWARK, AUSTIN = Place("Newark", "NJ", "07105"), Place("Austin", "TX", "78701")


def decided_now(label_id: str, *, is_return: bool, transit_days: int):
    """The journey as the sandbox decided it at purchase before: the tracking number's draws, then the journey's."""
    rng = journey_rng(7, label_id)
    tracking_number(rng, "ups", "ups_ground")
    if is_return:
        return return_journey(rng, issued_at=BOUGHT, customer=AUSTIN, warehouse=NEWARK, carrier="ups")
    return outbound_journey(rng, purchased_at=BOUGHT, transit_days=transit_days, origin=NEWARK, destination=AUSTIN,
                            carrier="ups", late_share=0.3, exception_share=0.3)


@given(label=st.integers(0, 10**6), is_return=st.booleans(), transit_days=st.integers(1, 5),
       minutes=st.lists(st.integers(-60, 12 * 24 * 60), min_size=1, max_size=6),
       voided_after=st.none() | st.integers(-30, 600))
def test_a_planned_journey_shows_what_the_decided_one_does_at_any_time(label, is_return, transit_days, minutes,
                                                                        voided_after):
    label_id = f"se-{label}"
    eager = decided_now(label_id, is_return=is_return, transit_days=transit_days)
    planned = PlannedJourney(lambda: decided_now(label_id, is_return=is_return, transit_days=transit_days),
                             first=label_created(BOUGHT, carrier="ups", place=AUSTIN if is_return else NEWARK,
                                                 is_return=is_return))
    voided_at = BOUGHT + timedelta(minutes=voided_after) if voided_after is not None else None
    for minute in minutes:   # in the order drawn: looking late first, then early, must not matter
        now = BOUGHT + timedelta(minutes=minute)
        assert planned.seen_by(now, voided_at=voided_at) == eager.seen_by(now, voided_at=voided_at)
        assert planned.delivered_at(now) == eager.delivered_at(now)
    assert planned.first == eager.scans[0]
    assert all(scan.at >= BOUGHT + PlannedJourney.QUIET for scan in eager.scans[1:])


def test_nothing_is_decided_while_only_the_label_exists():
    decided = []
    planned = PlannedJourney(lambda: decided.append(1), first=label_created(BOUGHT, carrier="usps", place=NEWARK))
    assert [s.detail_code for s in planned.seen_by(BOUGHT + 59 * timedelta(minutes=1))] == ["SHIPMENT_CREATED"]
    assert planned.seen_by(BOUGHT - HOUR) == [] and planned.delivered_at(BOUGHT + HOUR / 2) is None
    assert decided == []
