"""Shipping: tell each storefront the order is fulfilled, with its tracking number."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE

from connectors.errors import TransientApiError
from domain.records import FulfillmentNotice, PushResult
from tasks.observability import TRANSIENT_RETRIES, emit
from tasks.resources import resources
from warehouse.shipments import mark_pushed, record_push_errors, unpushed_fulfillments

CARRIER_NAMES = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl": "DHL Express"}  # Shopify's company names
TRACKING_URLS = {
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "ups": "https://www.ups.com/track?tracknum={}",
}


@task(task_run_name="push-fulfillments", cache_policy=NONE, **TRANSIENT_RETRIES)
def push_fulfillments(as_of: datetime, channels: list[str] | None = None, warehouses: list[str] | None = None) -> dict[str, int]:
    """One batched call per storefront, the storefronts at the same time: each store has an API
    budget of its own (on a peak day Shopify's cost bucket, not us, sets the pace)."""
    res = resources()
    with res.engine.begin() as conn:
        todo = unpushed_fulfillments(conn, channels=channels, warehouses=warehouses)
    pushed, rejected, retry, broken = [], [], [], []
    by_channel = list(todo.groupby("channel", sort=False))
    try:
        with ThreadPoolExecutor(max_workers=max(1, len(by_channel)), thread_name_prefix="push") as pool:
            answers = list(pool.map(lambda item: _push(res, *item), by_channel))
        for (channel, rows), answer in zip(by_channel, answers):
            if isinstance(answer, TransientApiError):    # that store is unreachable: the others went on
                retry.append(answer.message)
                continue
            if isinstance(answer, Exception):           # raised below, once the others' pushes are recorded
                broken.append(answer)
                continue
            for shipment_id, result in zip(rows["shipment_id"], answer):
                if result.pushed:
                    pushed.append(shipment_id)
                elif result.retryable:          # nothing known to have changed in the store
                    retry.append(result.error)
                else:  # parked on the shipment with the store's words; retried next run
                    rejected.append({"shipment_id": shipment_id, "error": f"storefront push: {result.error}"})
                    emit("cumplido.fulfillment.rejected", resource=f"cumplido.channel.{channel}",
                         payload={"shipment_id": shipment_id, "error": result.error})
    finally:
        with res.engine.begin() as conn:
            mark_pushed(conn, pushed, at=as_of)
            record_push_errors(conn, rejected, at=as_of)
    if broken:
        raise broken[0]
    if retry:  # Prefect retries the task; what was pushed is already recorded
        raise TransientApiError("storefront", f"{len(retry)} fulfillments not pushed for now: {retry[0]}")
    return {"pushed": len(pushed), "rejected": len(rejected)}


def _push(res, channel: str, rows: pd.DataFrame) -> list[PushResult] | Exception:
    """One store's pushes; what went wrong comes back as a value, so one store's failure never
    loses the record of what the others pushed."""
    try:
        return res.storefront(channel).push_fulfillments(_notices(rows))
    except Exception as exc:  # noqa: BLE001 - handed back to the task, which raises it after recording
        return exc


def _notices(rows: pd.DataFrame) -> list[FulfillmentNotice]:
    return [FulfillmentNotice(order_external_id=row.external_id, tracking_number=row.tracking_number,
                              carrier_name=CARRIER_NAMES.get(row.carrier, row.carrier),
                              tracking_url=TRACKING_URLS.get(row.carrier, "{}").format(row.tracking_number))
            for row in rows.itertuples()]
