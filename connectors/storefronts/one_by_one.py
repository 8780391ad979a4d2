"""The Storefront protocol's batch push for stores without a batch fulfilment endpoint: each
order through the single push in turn. A store's refusal of one order (a 4xx) becomes that
order's answer and the others go on; a transient error (the store is down or throttling us)
leaves the rest for the next run, marked retryable."""
from __future__ import annotations

from connectors.errors import PermanentApiError, TransientApiError
from domain.records import FulfillmentNotice, PushResult


class PushOneByOne:
    """Mixed into a storefront that has push_fulfillment."""

    def push_fulfillments(self, items: list[FulfillmentNotice]) -> list[PushResult]:
        results: list[PushResult] = []
        for n, item in enumerate(items):
            try:
                results.append(PushResult(item, pushed=self.push_fulfillment(**vars(item))))
            except PermanentApiError as exc:
                results.append(PushResult(item, error=exc.message))
            except TransientApiError as exc:
                results += [PushResult(rest, error=exc.message, retryable=True) for rest in items[n:]]
                break
        return results
