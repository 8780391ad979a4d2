"""The pure parts of Shopify's peak-day paths: putting a bulk file's lines back together, cutting
a push into batches, and what the documents cost under Shopify's pricing (the sandbox's
shopify_cost, which charges 10 points per mutation field, aliases included)."""
from __future__ import annotations

import json

import pytest
from graphql import parse

from connectors.sandbox.shopify_cost import SINGLE_QUERY_MAX_COST, requested_cost
from connectors.storefronts import shopify_bulk, shopify_push
from connectors.storefronts.shopify_bulk import assemble
from domain.records import FulfillmentNotice

ORDER = {"Order": ("lineItems", "returns"), "Return": ("returnLineItems", "refunds")}


def gid(kind: str, n: int) -> str:
    return f"gid://shopify/{kind}/{n}"


def jsonl(objects: list[dict]) -> list[bytes]:
    """The lines as Shopify writes them: compact JSON, the parent's id last."""
    return [json.dumps(o, separators=(",", ":")).encode() for o in objects]


def test_children_are_put_back_under_their_parents_even_when_not_grouped():
    lines = [
        {"id": gid("Order", 1), "name": "#1001"},
        {"id": gid("Order", 2), "name": "#1002"},
        {"id": gid("LineItem", 11), "sku": "A", "__parentId": gid("Order", 1)},   # after a later order
        {"id": gid("Return", 21), "status": "REQUESTED", "__parentId": gid("Order", 2)},
        {"id": gid("LineItem", 12), "sku": "B", "__parentId": gid("Order", 2)},
        {"id": gid("Refund", 31), "__parentId": gid("Return", 21)},
        {"id": gid("ReturnLineItem", 41), "quantity": 1, "__parentId": gid("Return", 21)},
    ]

    roots, count = assemble(jsonl(lines), connections=ORDER)
    orders = next(shopify_bulk.handed_out(roots, 10))

    assert count == 7 and [o["name"] for o in orders] == ["#1001", "#1002"]
    assert orders[0]["lineItems"] == {"nodes": [{"id": gid("LineItem", 11), "sku": "A"}]}
    assert orders[0]["returns"] == {"nodes": []}                   # selected, empty: still there, as paged
    [ret] = orders[1]["returns"]["nodes"]
    assert [n["id"] for n in ret["returnLineItems"]["nodes"]] == [gid("ReturnLineItem", 41)]
    assert [n["id"] for n in ret["refunds"]["nodes"]] == [gid("Refund", 31)]
    assert all("__parentId" not in n for o in orders for n in o["lineItems"]["nodes"])


@pytest.mark.parametrize("line", [
    {"id": gid("LineItem", 11), "__parentId": gid("Order", 9)},        # a parent the file never showed
    {"id": gid("Fulfillment", 11), "__parentId": gid("Order", 1)},     # a kind our query does not select
])
def test_a_line_that_cannot_be_placed_makes_the_file_unreadable(line):
    with pytest.raises(ValueError):
        assemble(jsonl([{"id": gid("Order", 1)}, line]), connections=ORDER)


def test_the_bulk_query_keeps_shopifys_bulk_restrictions():
    search = "updated_at:>='2026-11-02T00:00:00Z' AND updated_at:<'2026-11-03T00:00:00Z'"
    document = parse(shopify_bulk.orders_query(search))
    [operation] = document.definitions
    [orders] = operation.selection_set.selections

    assert orders.name.value == "orders" and not operation.variable_definitions      # self-contained
    text = shopify_bulk.orders_query("x")
    assert text.count("{ edges { node {") == 5 and "first:" not in text and "pageInfo" not in text


def notice(order: int, number: str = "") -> FulfillmentNotice:
    return FulfillmentNotice(gid("Order", order), number or f"TRK{order}", "UPS", "https://ups.example/x")


def test_a_batch_holds_an_order_once_and_keeps_every_notice():
    items = [notice(1), notice(2), notice(1, "TRK1-B"), notice(3), notice(1, "TRK1-C")]

    batches = list(shopify_push.batches(items, size=2))

    assert [[p for p, _ in b] for b in batches] == [[0, 1], [2, 3], [4]]
    for batch in batches:
        orders = [n.order_external_id for _, n in batch]
        assert len(orders) == len(set(orders))


def test_a_full_batch_costs_less_than_shopifys_single_query_maximum():
    ids = [gid("Order", n) for n in range(shopify_push.BATCH)]
    look_up = requested_cost(parse(shopify_push.STATES), None, {"ids": ids})
    mutation = requested_cost(parse(shopify_push.create_document(shopify_push.BATCH)), None, {})

    assert look_up == 1 + 50 * (1 + 5 + 5 * 2) == 801
    assert mutation == 1 + 50 * 10 == 501            # every alias pays its own 10
    assert max(look_up, mutation) <= SINGLE_QUERY_MAX_COST
    single = "mutation One($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { userErrors { message } } }"
    assert requested_cost(parse(single), None, {}) == 11   # one mutation: as before
