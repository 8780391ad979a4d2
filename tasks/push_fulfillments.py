"""Shipping: tell each storefront the order is fulfilled, with its tracking number."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE

from connectors.errors import TransientApiError
from domain.records import FulfillmentNotice
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
    res = resources()
    with res.engine.begin() as conn:
        todo = unpushed_fulfillments(conn, channels=channels, warehouses=warehouses)
    pushed, rejected, retry = [], [], []
    try:
        for channel, rows in todo.groupby("channel", sort=False):   # one batched call per storefront
            try:
                results = res.storefront(channel).push_fulfillments(_notices(rows))
            except TransientApiError as exc:    # that store is unreachable: the others go on
                retry.append(exc.message)
                continue
            for shipment_id, result in zip(rows["shipment_id"], results):
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
    if retry:  # Prefect retries the task; what was pushed is already recorded
        raise TransientApiError("storefront", f"{len(retry)} fulfillments not pushed for now: {retry[0]}")
    return {"pushed": len(pushed), "rejected": len(rejected)}


def _notices(rows: pd.DataFrame) -> list[FulfillmentNotice]:
    return [FulfillmentNotice(order_external_id=row.external_id, tracking_number=row.tracking_number,
                              carrier_name=CARRIER_NAMES.get(row.carrier, row.carrier),
                              tracking_url=TRACKING_URLS.get(row.carrier, "{}").format(row.tracking_number))
            for row in rows.itertuples()]
