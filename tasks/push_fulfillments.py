"""Shipping: tell each storefront the order is fulfilled, with its tracking number."""
from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NONE

from connectors.errors import PermanentApiError
from tasks.observability import TRANSIENT_RETRIES, emit
from tasks.resources import resources
from warehouse.shipments import mark_pushed, record_push_errors, unpushed_fulfillments

CARRIER_NAMES = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl": "DHL Express"}  # Shopify's company names
TRACKING_URLS = {
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "ups": "https://www.ups.com/track?tracknum={}",
}


@task(task_run_name="push-fulfillments", cache_policy=NONE, **TRANSIENT_RETRIES)
def push_fulfillments(as_of: datetime) -> dict[str, int]:
    res = resources()
    with res.engine.begin() as conn:
        todo = unpushed_fulfillments(conn)
    pushed, rejected = [], []
    try:
        for row in todo.itertuples():
            try:
                res.storefront(row.channel).push_fulfillment(
                    order_external_id=row.external_id, tracking_number=row.tracking_number,
                    carrier_name=CARRIER_NAMES.get(row.carrier, row.carrier),
                    tracking_url=TRACKING_URLS.get(row.carrier, "{}").format(row.tracking_number),
                )
                pushed.append(row.shipment_id)
            except PermanentApiError as exc:  # parked on the shipment with the store's words; retried next run
                rejected.append({"shipment_id": row.shipment_id, "error": f"storefront push: {exc.message}"})
                emit("cumplido.fulfillment.rejected", resource=f"cumplido.channel.{row.channel}",
                     payload={"shipment_id": row.shipment_id, "error": exc.message})
    finally:
        with res.engine.begin() as conn:
            mark_pushed(conn, pushed, at=as_of)
            record_push_errors(conn, rejected, at=as_of)
    return {"pushed": len(pushed), "rejected": len(rejected)}
