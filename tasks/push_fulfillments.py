"""Shipping: tell each storefront the order is fulfilled, with its tracking number.

Telling the store is a notification no later stage reads, and the store's API budget sets
its pace (on a peak day Shopify's cost bucket makes it minutes). So a run may push within a
time budget: each store's notices go a slice at a time, no slice starts once the budget is
spent, and what is left waits for the next run (flows/notify_storefronts.py drains it).
Alongside booking (fulfil_orders), labels are told as their chunks commit, within the same
budget."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE

from connectors.errors import TransientApiError
from connectors.protocols import Storefront
from domain.records import FulfillmentNotice, PushResult
from tasks.observability import TRANSIENT_RETRIES, emit
from tasks.resources import resources
from warehouse.shipments import mark_pushed, record_push_errors, unpushed_fulfillments

log = logging.getLogger(__name__)
SLICE = 250   # notices per connector call: the budget is looked at between slices
POLL_SECONDS = 0.5   # alongside booking: how long a round that found nothing waits before looking again
CARRIER_NAMES = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl": "DHL Express"}  # Shopify's company names
TRACKING_URLS = {
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "ups": "https://www.ups.com/track?tracknum={}",
}
Answer = list[PushResult] | Exception   # a store's answer to one slice, or what went wrong


class Budget:
    """`seconds` from the moment it is made (None: no limit), on an injectable clock."""

    def __init__(self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic):
        self.seconds, self._clock, self._started = seconds, clock, clock()

    def remaining(self) -> float | None:
        """Seconds still to spend; None when there is no limit."""
        return None if self.seconds is None else max(0.0, self.seconds - (self._clock() - self._started))

    def spent(self) -> bool:
        return self.remaining() == 0.0


class PushLog:
    """What one run's slices came to: pushed, refused by the store, to retry, broken."""

    def __init__(self):
        self.pushed: list[str] = []
        self.rejected: list[dict] = []
        self.retry: list[str] = []
        self.broken: list[Exception] = []
        self.sent = 0

    def add(self, channel: str, rows: pd.DataFrame, answer: Answer) -> None:
        self.sent += len(rows)
        if isinstance(answer, TransientApiError):    # that store is unreachable: the others went on
            self.retry.append(answer.message)
            return
        if isinstance(answer, Exception):           # raised by the task, once the others' pushes are recorded
            self.broken.append(answer)
            return
        for shipment_id, result in zip(rows["shipment_id"], answer):
            if result.pushed:
                self.pushed.append(shipment_id)
            elif result.retryable:          # nothing known to have changed in the store
                self.retry.append(result.error)
            else:  # parked on the shipment with the store's words; retried next run
                self.rejected.append({"shipment_id": shipment_id, "error": f"storefront push: {result.error}"})
                emit("cumplido.fulfillment.rejected", resource=f"cumplido.channel.{channel}",
                     payload={"shipment_id": shipment_id, "error": result.error})


@task(task_run_name="push-fulfillments", cache_policy=NONE, **TRANSIENT_RETRIES)
def push_fulfillments(as_of: datetime, channels: list[str] | None = None, warehouses: list[str] | None = None,
                      budget_seconds: float | None = None, alongside: threading.Event | None = None) -> dict[str, int]:
    """Each store's unpushed fulfilments in slices of SLICE, the stores at the same time (each
    has an API budget of its own). Once `budget_seconds` have passed since the task started, no
    store starts another slice (None: no limit); each store's first slice always goes, so every
    run makes progress. Returns pushed, rejected and `left`: the notices no slice got to.

    alongside: set when the labels this task tells about are all booked. Until then the task
    pushes each label as its chunk commits, in rounds (waiting up to POLL_SECONDS for more when
    a round found none) while the budget lasts; once it is spent, one last round after booking
    ends (each store's first slice). On a peak day the pushes thus share the budget's first
    seconds with booking instead of adding them after it; pushing beside booking for all its
    length would compete with it for the machine all that time (a 100k-order peak ran slower)."""
    budget = Budget(budget_seconds)
    res = resources()
    tally = PushLog()
    left = in_rounds(lambda: push_round(res, tally, budget, as_of=as_of, channels=channels, warehouses=warehouses),
                     tally, budget, alongside=alongside)
    if tally.broken:
        raise tally.broken[0]
    if tally.retry:  # Prefect retries the task; what was pushed is already recorded
        raise TransientApiError("storefront", f"{len(tally.retry)} fulfillments not pushed for now: "
                                              f"{tally.retry[0]}")
    if left:
        log.info("%d fulfillments pushed within the %g s budget; %d left for the next run",
                 len(tally.pushed), budget.seconds, left)
    return {"pushed": len(tally.pushed), "rejected": len(tally.rejected), "left": left}


def in_rounds(one_round: Callable[[], tuple[int, int]], tally: PushLog, budget: Budget, *,
              alongside: threading.Event | None) -> int:
    """one_round (returning the notices it sent and those it left) until the last one, which
    starts once `alongside` is set (at once when None): beside booking, rounds follow one another
    while the budget lasts, waiting up to POLL_SECONDS after one that sent nothing; once it is
    spent, only the last one is left. A round that met a broken or struggling store is the last.
    Returns what the last round left."""
    while True:
        last = alongside is None or alongside.is_set()   # read first: the last round sees every label
        if not last and budget.spent():
            alongside.wait()
            continue
        sent, left = one_round()
        if last or tally.broken or tally.retry:
            return left
        if not sent:
            alongside.wait(POLL_SECONDS)


def push_round(res, tally: PushLog, budget: Budget, *, as_of: datetime, channels: list[str] | None,
               warehouses: list[str] | None) -> tuple[int, int]:
    """Push what is unpushed now, each store in its own thread, and record it in one commit;
    returns the notices its slices sent and those no slice got to."""
    with res.engine.begin() as conn:
        todo = unpushed_fulfillments(conn, channels=channels, warehouses=warehouses)
    by_channel = list(todo.groupby("channel", sort=False))
    pushed, rejected, sent_before = len(tally.pushed), len(tally.rejected), tally.sent
    try:
        with ThreadPoolExecutor(max_workers=max(1, len(by_channel)), thread_name_prefix="push") as pool:
            answers = list(pool.map(lambda item: push_in_slices(res, *item, budget=budget), by_channel))
        for (channel, _), slices in zip(by_channel, answers):
            for rows, answer in slices:
                tally.add(channel, rows, answer)
    finally:
        with res.engine.begin() as conn:
            mark_pushed(conn, tally.pushed[pushed:], at=as_of)
            record_push_errors(conn, tally.rejected[rejected:], at=as_of)
    sent = tally.sent - sent_before
    return sent, len(todo) - sent


def push_in_slices(res, channel: str, rows: pd.DataFrame, *, budget: Budget) -> list[tuple[pd.DataFrame, Answer]]:
    """One store's notices, a slice per call, until the budget is spent (the first slice always
    goes). A store that fails or answers "not now" gets no further slice: the rest waits for the
    task's retry. What went wrong comes back as a value, so one store's failure never loses the
    record of what the others pushed."""
    answers: list[tuple[pd.DataFrame, Answer]] = []
    try:
        store = res.storefront(channel)
    except Exception as exc:  # noqa: BLE001 - handed back to the task, which raises it after recording
        return [(rows, exc)]
    for start in range(0, len(rows), SLICE):
        if answers and budget.spent():
            break
        part = rows.iloc[start:start + SLICE]
        answers.append((part, _push(store, part)))
        if _store_struggles(answers[-1][1]):
            break
    return answers


def _push(store: Storefront, rows: pd.DataFrame) -> Answer:
    try:
        return store.push_fulfillments(_notices(rows))
    except Exception as exc:  # noqa: BLE001 - handed back to the task, which raises it after recording
        return exc


def _store_struggles(answer: Answer) -> bool:
    return isinstance(answer, Exception) or any(result.retryable for result in answer)


def _notices(rows: pd.DataFrame) -> list[FulfillmentNotice]:
    return [FulfillmentNotice(order_external_id=row.external_id, tracking_number=row.tracking_number,
                              carrier_name=CARRIER_NAMES.get(row.carrier, row.carrier),
                              tracking_url=TRACKING_URLS.get(row.carrier, "{}").format(row.tracking_number))
            for row in rows.itertuples()]
