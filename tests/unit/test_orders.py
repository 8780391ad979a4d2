"""Reception: what enters the pipeline, and what is parked in quarantine with every reason."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pandas as pd

from domain import states
from domain.records import ChannelOrder
from domain.orders import unchanged_orders, validate_orders
from tests.unit.factories import T0, address, channel_order, malformed, order_line

NOW = datetime(2026, 11, 26, 10, 0)


def validate(records, world, known_skus):
    return validate_orders(records, world=world, known_skus=known_skus, ingested_at=NOW)


def test_valid_order_becomes_a_new_order_with_its_lines(world, known_skus):
    order = channel_order("1001", lines=(order_line(1, sku="SKU-00001", quantity=2),
                                         order_line(2, sku="SKU-00002", unit_price=9.99)))
    out = validate([order], world, known_skus)
    row = out.orders.iloc[0]
    assert row["order_id"] == "shopify-main:1001"
    assert row["status"] == states.NEW and row["status_at"] == NOW and row["ingested_at"] == NOW
    assert pd.isna(row["hold_reason"]) and pd.isna(row["warehouse_id"])
    assert out.payloads["order_id"].tolist() == ["shopify-main:1001"]
    assert json.loads(out.payloads["raw"].iloc[0]) == {"id": "1001"}
    assert out.lines[["order_id", "line_no", "sku", "quantity"]].values.tolist() == [
        ["shopify-main:1001", 1, "SKU-00001", 2], ["shopify-main:1001", 2, "SKU-00002", 1]]
    assert out.quarantined.empty


def test_promise_is_placed_at_plus_the_methods_delivery_days(world, known_skus):
    out = validate([channel_order("1", shipping_method="express"),
                    channel_order("2", shipping_method="standard")], world, known_skus)
    promised = dict(zip(out.orders["external_id"], out.orders["promised_by"]))
    assert promised["1"] == T0 + timedelta(days=world.sla["express"].deliver_within_days)
    assert promised["2"] == T0 + timedelta(days=world.sla["standard"].deliver_within_days)


def test_malformed_order_quarantined_with_all_reasons(world, known_skus):
    bad = channel_order("666", ship_to=None, shipping_method="teleport", currency="dollars",
                        total_amount=-1.0, lines=(order_line(1, sku="NOPE"), order_line(2, sku=None, quantity=0)))
    out = validate([bad, channel_order("1002")], world, known_skus)
    assert out.orders["external_id"].tolist() == ["1002"]
    assert set(out.lines["order_id"]) == {"shopify-main:1002"}          # nothing partial of the bad one
    parked = out.quarantined.iloc[0]
    assert (parked["source"], parked["stream"], parked["external_id"]) == ("shopify-main", "orders", "666")
    reasons = parked["reason"].split("; ")
    for expected in ["missing ship-to address", "unknown shipping method 'teleport'", "bad currency 'dollars'",
                     "negative total -1.00", "line 1: unknown SKU 'NOPE'", "line 2: missing SKU",
                     "line 2: quantity 0 <= 0"]:
        assert expected in reasons
    assert json.loads(parked["raw"]) == {"id": "666"}


def test_order_without_lines_is_quarantined(world, known_skus):
    out = validate([channel_order("7", lines=())], world, known_skus)
    assert out.orders.empty and out.quarantined["reason"].tolist() == ["no lines"]


def test_incomplete_ship_to_names_the_missing_fields(world, known_skus):
    out = validate([channel_order("8", ship_to=address(line1="", postal_code=""))], world, known_skus)
    assert out.quarantined["reason"].tolist() == ["ship-to missing line1, postal_code"]


def test_order_without_email_cannot_be_notified_and_is_quarantined(world, known_skus):
    out = validate([channel_order("9", customer_email=None)], world, known_skus)
    assert "missing or invalid customer email" in out.quarantined["reason"].iloc[0]


def test_customer_name_falls_back_to_the_ship_to_name(world, known_skus):
    out = validate([channel_order("10", customer_name=None)], world, known_skus)
    assert out.orders["customer_name"].tolist() == ["Ada Lovelace"]


def test_unparseable_record_is_quarantined_with_the_connectors_reason(world, known_skus):
    out = validate([malformed("x-1", "total is not a number")], world, known_skus)
    assert out.orders.empty
    assert out.quarantined[["external_id", "reason"]].values.tolist() == [["x-1", "total is not a number"]]
    assert json.loads(out.quarantined["raw"].iloc[0]) == "{oops"


def test_duplicate_order_in_batch_keeps_the_latest_version(world, known_skus):
    old = channel_order("11", updated_at=T0, total_amount=20.0)
    new = channel_order("11", updated_at=T0 + timedelta(minutes=5), total_amount=25.0)
    out = validate([new, old], world, known_skus)
    assert out.orders["total_amount"].tolist() == [25.0] and len(out.lines) == 1


def test_latest_version_decides_even_when_it_is_the_broken_one(world, known_skus):
    good = channel_order("12", updated_at=T0)
    broken = channel_order("12", updated_at=T0 + timedelta(minutes=5), lines=())
    out = validate([good, broken], world, known_skus)
    assert out.orders.empty and out.quarantined["external_id"].tolist() == ["12"]


def test_aware_timestamps_are_stored_as_naive_utc(world, known_skus):
    eastern = timezone(timedelta(hours=-5))
    out = validate([channel_order("13", placed_at=datetime(2026, 11, 26, 4, 0, tzinfo=eastern),
                                  updated_at=datetime(2026, 11, 26, 4, 0, tzinfo=eastern))], world, known_skus)
    assert out.orders["placed_at"].tolist() == [datetime(2026, 11, 26, 9, 0)]


def test_the_same_order_from_two_channels_is_two_orders(world, known_skus):
    out = validate([channel_order("14"), channel_order("14", channel="shopify-outlet")], world, known_skus)
    assert sorted(out.orders["order_id"]) == ["shopify-main:14", "shopify-outlet:14"]


# --- re-reads: what the store touched without changing what we read ------------------------------

def shopify_payload(updated_at: str, **changes) -> dict:
    return {"id": "gid://shopify/Order/1", "createdAt": "2026-11-26T09:00:00Z", "updatedAt": updated_at,
            "cancelledAt": None, "totalRefundedSet": {"shopMoney": {"amount": "0.00", "currencyCode": "USD"}},
            "lineItems": {"nodes": [{"id": "gid://shopify/LineItem/1", "sku": "SKU-00001", "quantity": 1}]},
            **changes}


def re_read(updated_at: datetime, **changes) -> ChannelOrder:
    return channel_order("1", updated_at=updated_at.replace(tzinfo=timezone.utc),
                         raw=shopify_payload(updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"), **changes))


STORED = {"shopify-main:1": shopify_payload("2026-11-26T09:00:00Z")}


def test_an_order_our_push_touched_is_unchanged_but_for_its_update_time():
    pushed = re_read(T0 + timedelta(hours=3))
    assert unchanged_orders([pushed], stored=STORED) == {"shopify-main:1"}
    assert unchanged_orders([re_read(T0)], stored=STORED) == {"shopify-main:1"}    # read again as it was


def test_a_cancellation_a_refund_or_an_edit_is_a_change():
    later = T0 + timedelta(hours=3)
    cancelled = re_read(later, cancelledAt="2026-11-26T12:00:00Z")
    refunded = re_read(later, totalRefundedSet={"shopMoney": {"amount": "5.00", "currencyCode": "USD"}})
    edited = re_read(later, lineItems={"nodes": []})
    returned = re_read(later, returns={"nodes": [{"id": "gid://shopify/Return/1"}]})
    assert unchanged_orders([cancelled, refunded, edited, returned], stored=STORED) == set()


def test_only_the_update_time_may_differ():
    moved = re_read(T0 + timedelta(hours=3), createdAt="2026-11-26T10:00:00Z")   # another time moved
    assert unchanged_orders([moved], stored=STORED) == set()


def test_orders_not_stored_and_unreadable_records_are_never_unchanged():
    assert unchanged_orders([channel_order("2"), malformed("1")], stored=STORED) == set()


def test_the_latest_version_in_the_batch_is_the_one_compared():
    touched = re_read(T0 + timedelta(hours=3))
    cancelled = re_read(T0 + timedelta(hours=4), cancelledAt="2026-11-26T13:00:00Z")
    assert unchanged_orders([cancelled, touched], stored=STORED) == set()
    assert unchanged_orders([touched, re_read(T0 + timedelta(hours=1))], stored=STORED) == {"shopify-main:1"}


def test_raw_is_written_by_the_encoder_given(world, known_skus):
    out = validate_orders([channel_order("15"), malformed("x-2")], world=world, known_skus=known_skus,
                          ingested_at=NOW, as_text=lambda raw: json.dumps(raw, separators=(",", ":")))
    assert out.payloads["raw"].tolist() == ['{"id":"15"}'] and out.quarantined["raw"].tolist() == ['"{oops"']
