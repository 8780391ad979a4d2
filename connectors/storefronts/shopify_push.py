"""Fulfillments pushed to Shopify in batches (GraphQL Admin 2025-10): per batch of orders, one
`nodes(ids:)` look-up of their fulfillment orders and fulfillments, then one document sending a
`fulfillmentCreate` per order under aliases (`f0: fulfillmentCreate(...) f1: ...`; GraphQL runs a
document's mutation fields one after the other, each with its own payload and userErrors).

Costs (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits#cost-calculation), kept under
the single-query maximum of 1000: the look-up is 1 + 50 x (1 + 5 fulfillment orders + 5 x (1 + 1
tracking)) = 801; the batch mutation 1 + 50 x 10 per mutation = 501 (its payloads select nothing
that is listed, so nothing more is charged). The bucket, not the round trips, then bounds the
pace: every order still costs what its objects cost (at Shopify 10 points per fulfillmentCreate).

Idempotent without a key, as the single push: a tracking number already on the order is reported
pushed and never sent again; an order whose answer was lost is looked up again, never re-sent in
the same run. A refusal (userErrors, a field error) fails that order alone."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from connectors.errors import ConnectorError, TransientApiError
from domain.records import FulfillmentNotice, FulfillmentPush, PushResult

BATCH = 50
FULFILLMENTS_FIRST = 5
FULFILLABLE = ("OPEN", "IN_PROGRESS")
STATES = f"""
query FulfillmentStates($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    ... on Order {{
      id cancelledAt
      fulfillmentOrders(first: 5) {{ nodes {{ id status }} }}
      fulfillments(first: {FULFILLMENTS_FIRST}) {{ id status trackingInfo(first: 1) {{ number }} }}
    }}
  }}
}}"""
PAYLOAD = "fulfillment { id status } userErrors { field message }"


def create_document(size: int) -> str:
    params = ", ".join(f"$f{i}: FulfillmentInput!" for i in range(size))
    fields = "\n".join(f"  f{i}: fulfillmentCreate(fulfillment: $f{i}) {{ {PAYLOAD} }}" for i in range(size))
    return f"mutation FulfillmentCreateBatch({params}) {{\n{fields}\n}}"


def batches(items: list[FulfillmentNotice], size: int = BATCH) -> Iterator[list[tuple[int, FulfillmentNotice]]]:
    """(position, notice) in batches of `size`, an order at most once per batch (a second notice
    for it waits for a later batch, which then sees the first one's fulfillment)."""
    waiting = list(enumerate(items))
    while waiting:
        batch, later, seen = [], [], set()
        for position, notice in waiting:
            if len(batch) < size and notice.order_external_id not in seen:
                batch.append((position, notice))
                seen.add(notice.order_external_id)
            else:
                later.append((position, notice))
        yield batch
        waiting = later


def fulfillment_with(order: dict, tracking_number: str) -> str | None:
    for fulfillment in order.get("fulfillments") or []:
        if fulfillment.get("status") in ("CANCELLED", "ERROR", "FAILURE"):
            continue
        if any(t.get("number") == tracking_number for t in fulfillment.get("trackingInfo") or []):
            return fulfillment["id"]
    return None


def fulfillment_input(notice: FulfillmentNotice, open_orders: list[str]) -> dict:
    return {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo} for fo in open_orders],
            "notifyCustomer": True,
            "trackingInfo": {"number": notice.tracking_number, "company": notice.carrier_name,
                             "url": notice.tracking_url}}


def decide(notice: FulfillmentNotice, order: dict | None, *, complete: bool) -> PushResult | list[str]:
    """What to do for one order, from its state: a result already, or the fulfillment orders to
    fulfil. Not `complete` (a look-up capped at FULFILLMENTS_FIRST fulfillments, all of them full)
    returns [] when only a closer look can tell."""
    oid = notice.order_external_id
    if order is None:
        return PushResult(notice, error=f"order {oid} not found in the shop")
    existing = fulfillment_with(order, notice.tracking_number)
    if existing:
        return PushResult(notice, pushed=FulfillmentPush(existing, already_existed=True))
    if order.get("cancelledAt"):
        return PushResult(notice, error=f"order {oid} was cancelled in Shopify at {order['cancelledAt']}: "
                                        "not fulfilling it")
    open_orders = [fo["id"] for fo in order["fulfillmentOrders"]["nodes"] if fo["status"] in FULFILLABLE]
    if open_orders or (not complete and len(order.get("fulfillments") or []) >= FULFILLMENTS_FIRST):
        return open_orders
    return PushResult(notice, error=f"order {oid} has no open fulfillment order "
                                    "(fulfilled with another tracking number, cancelled or on hold)")


class BatchPush:
    """Pushes a list of notices; `answer(name, query, variables, reread=)` is the storefront's
    transport (data and field errors), `full_state(order_id)` its single-order look-up."""

    def __init__(self, *, answer: Callable[..., tuple[dict, list]], full_state: Callable[[str], dict]):
        self._answer, self._full_state = answer, full_state

    def push(self, items: list[FulfillmentNotice]) -> list[PushResult]:
        results: dict[int, PushResult] = {}
        for batch in batches(items):
            try:
                results.update(self._batch(batch))
            except TransientApiError as exc:   # the shop is unreachable or throttled out: the rest wait
                results.update({p: PushResult(n, error=exc.message, retryable=True)
                                for p, n in enumerate(items) if p not in results})
                break
            except ConnectorError as exc:      # the whole document refused (token, scope): each order says so
                results.update({p: PushResult(n, error=exc.message) for p, n in batch})
        return [results[p] for p in range(len(items))]

    def _states(self, order_ids: list[str]) -> dict[str, dict]:
        data, _ = self._answer("FulfillmentStates", STATES, {"ids": order_ids})
        return {node["id"]: node for node in data["nodes"] if node and node.get("id")}

    def _batch(self, batch: list[tuple[int, FulfillmentNotice]]) -> dict[int, PushResult]:
        states = self._states([n.order_external_id for _, n in batch])
        results, to_create = {}, []
        for position, notice in batch:
            outcome = decide(notice, states.get(notice.order_external_id), complete=False)
            if outcome == []:                  # more fulfillments than the look-up shows: look closer
                outcome = decide(notice, self._full_state(notice.order_external_id), complete=True)
            if isinstance(outcome, PushResult):
                results[position] = outcome
            else:
                to_create.append((position, notice, outcome))
        if to_create:
            results.update(self._create(to_create))
        return results

    def _create(self, to_create: list[tuple[int, FulfillmentNotice, list[str]]]) -> dict[int, PushResult]:
        variables = {f"f{k}": fulfillment_input(notice, open_orders)
                     for k, (_, notice, open_orders) in enumerate(to_create)}
        try:
            data, errors = self._answer("FulfillmentCreateBatch", create_document(len(to_create)), variables,
                                        reread=False)
        except TransientApiError:
            data, errors = None, []
        results, unsure = {}, []
        for k, (position, notice, _) in enumerate(to_create):
            payload = (data or {}).get(f"f{k}")
            if payload and not payload["userErrors"] and payload.get("fulfillment"):
                results[position] = PushResult(notice, pushed=FulfillmentPush(payload["fulfillment"]["id"], False))
            else:
                unsure.append((position, notice, _why(data, payload, errors, f"f{k}")))
        if unsure:   # lost, or refused: perhaps an earlier attempt of ours went through
            states = self._states([n.order_external_id for _, n, _ in unsure])
            for position, notice, why in unsure:
                created = fulfillment_with(states.get(notice.order_external_id) or {}, notice.tracking_number)
                results[position] = (PushResult(notice, pushed=FulfillmentPush(created, already_existed=False))
                                     if created else PushResult(notice, error=why, retryable=data is None))
        return results


def _why(data: dict | None, payload: dict | None, errors: list, alias: str) -> str:
    if data is None:
        return "fulfillmentCreate got no readable answer and created nothing; the next run will retry"
    if payload and payload["userErrors"]:
        return "fulfillmentCreate refused: " + "; ".join(e["message"] for e in payload["userErrors"])
    mine = [e.get("message", str(e)) for e in errors if isinstance(e, dict) and (e.get("path") or [None])[0] == alias]
    return "fulfillmentCreate failed: " + ("; ".join(mine) or "no fulfillment in the answer")
