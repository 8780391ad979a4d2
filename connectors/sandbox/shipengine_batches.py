"""The ShipEngine sandbox's bulk endpoints: shipments created by the hundred, bulk rating read
back per shipment, label batches (create, process, poll, errors) and the paged label listing a
batch is read with. Everything is found by id or index (batch -> its labels, external id ->
batch), never by scanning all labels, so 100k parcels cost only their own requests.

Processing buys every label at once (the money is spent when process/labels is accepted); the
batch then reads "processing" for `batch_polls` GETs before it shows its final status."""
from __future__ import annotations

import math

from werkzeug.wrappers import Request

from config.world import Carrier, Service
from connectors.sandbox.server import request_json
from connectors.sandbox.shipengine_batch_views import (
    IN_FLIGHT, BatchRecord, RateRequest, batch_view, page_args, page_links,
)
from connectors.sandbox.shipengine_objects import ShipEngineError, ShipmentRecord, rate_view, shipment_view
from connectors.sandbox.shipengine_rates import price, zone
from connectors.sandbox.shipengine_tracking import DAY, iso

MAX_EXTERNAL_ID = 50


class BulkEndpoints:
    """Mixed into ShipEngineSandbox, whose state and single-parcel helpers it uses."""

    # ---- shipments and rates ----

    def _create_shipments(self, request: Request) -> dict:
        raw = self._body(request).get("shipments")
        if not isinstance(raw, list) or not raw:
            raise ShipEngineError(400, "shipments must list at least one shipment", code="field_value_required",
                                  field_name="shipments")
        for index, item in enumerate(raw):   # a malformed shipment fails the whole request, as any 400
            self._shipment_details(item, where=f"shipments[{index}]")
        created = [self._created_shipment(item, index) for index, item in enumerate(raw)]
        return {"has_errors": any(item["errors"] for item in created), "shipments": created}

    def _created_shipment(self, raw: dict, index: int) -> dict:
        """One shipment of the array; one ShipEngine turns down (an unknown service, a live label
        already bought for it) answers with its errors and the others go on."""
        try:
            service = None
            if raw.get("carrier_id"):   # an explicit service, for a batch by shipment_id
                carrier = self._carrier(raw["carrier_id"], f"shipments[{index}].carrier_id")
                service = (carrier.carrier_id, self._service(carrier, raw).code)
            shp = self._upsert_shipment(raw, is_return=False, where=f"shipments[{index}]")
            if service is not None:
                shp.carrier_id, shp.service_code = service
        except ShipEngineError as exc:
            external = raw.get("external_shipment_id")
            item = {"external_shipment_id": external[:MAX_EXTERNAL_ID]} if isinstance(external, str) else {}
            return {**item, "errors": [exc.body["errors"][0]["message"]]}
        return {**shipment_view(shp, status="pending"), "errors": []}

    def _bulk_rates(self, request: Request) -> list[dict]:
        body = self._body(request)
        options = body.get("rate_options") or {}
        carriers = self._rating_carriers(options)
        if body.get("shipment_ids"):
            shipments = [(sid, self._shipments.get(sid)) for sid in body["shipment_ids"]]
        elif body.get("shipments"):
            shipments = [(shp.shipment_id, shp) for shp in (
                self._upsert_shipment(s, is_return=bool(options.get("is_return"))) for s in body["shipments"])]
        else:
            raise ShipEngineError(400, "shipment_ids or shipments is required", code="field_value_required",
                                  field_name="shipment_ids")
        now, wanted = self.clock.now(), set(options.get("service_codes") or [])
        answers = []
        for sid, shp in shipments:
            status, errors = "completed", []
            if shp is None:
                status, errors = "error", [{"error_source": "shipengine", "error_type": "validation",
                                            "error_code": "invalid_identifier",
                                            "message": f"shipment_id {sid} was not found"}]
            rate_request = self._rate_shipment(shp, carriers, wanted).rate_request_id if shp else self._new_id()
            answers.append({"rate_request_id": rate_request, "shipment_id": sid, "created_at": iso(now),
                            "status": status, "errors": errors})
        return answers

    def _shipment_rates(self, request: Request, shipment_id: str) -> dict:
        shp = self._shipment(shipment_id)
        rated: RateRequest | None = self._rate_requests.get(shp.shipment_id)
        if rated is None:
            raise ShipEngineError(404, f"shipment_id {shipment_id} has not been rated", code="invalid_identifier")
        at, rates = rated.created_at, [self._quoted[rate_id] for rate_id in rated.rate_ids]
        rates = [rate_view(r, ship_date=at, estimated=at + DAY * r.service.transit_days) for r in rates]
        return {"rates": rates, "invalid_rates": [], "rate_request_id": rated.rate_request_id,
                "shipment_id": shp.shipment_id, "created_at": iso(rated.created_at), "status": "completed",
                "errors": []}

    # ---- batches ----

    def _create_batch(self, request: Request) -> dict:
        body = self._body(request)
        external = body.get("external_batch_id") or None
        if external is not None and external in self._batch_ids_by_external:
            raise ShipEngineError(400, f"A batch with external_batch_id '{external}' already exists "
                                       f"({self._batch_ids_by_external[external]})", code="identifier_conflict",
                                  type="business_rules", field_name="external_batch_id")
        items = [(self._quoted_rate(rid).shipment_id, rid) for rid in body.get("rate_ids") or []]
        items += [(self._shipment(sid).shipment_id, None) for sid in body.get("shipment_ids") or []]
        if not items:
            raise ShipEngineError(400, "A batch needs shipment_ids or rate_ids", code="field_value_required",
                                  field_name="rate_ids")
        batch_id = self._new_id()
        batch = BatchRecord(batch_id, batch_id[3:], external, body.get("batch_notes") or "", self.clock.now(),
                            request.host_url.rstrip("/"), items)
        self._batches[batch_id] = batch
        if external is not None:
            self._batch_ids_by_external[external] = batch_id
        if (body.get("process_labels") or {}).get("create_batch_and_process_labels"):
            self._run_batch(batch)
        return batch_view(batch)

    def _batch_by_external(self, request: Request, external_batch_id: str) -> dict:
        batch_id = self._batch_ids_by_external.get(external_batch_id)
        if batch_id is None:
            raise ShipEngineError(404, f"No batch found with external_batch_id '{external_batch_id}'",
                                  code="invalid_identifier")
        return batch_view(self._polled(self._batches[batch_id]))

    def _get_batch(self, request: Request, batch_id: str) -> dict:
        return batch_view(self._polled(self._batch(batch_id)))

    def _process_batch(self, request: Request, batch_id: str) -> None:
        batch = self._batch(batch_id)
        if request.get_data() and not isinstance(request_json(request), dict):
            raise ShipEngineError(400, "The request body must be a JSON object", code="invalid_field_value")
        if batch.status != "open":
            raise ShipEngineError(400, f"Batch {batch_id} is {batch.status}; only an open batch can be processed",
                                  code="batch_cannot_be_modified", type="business_rules")
        self._run_batch(batch)
        return None   # 204

    def _batch_errors(self, request: Request, batch_id: str) -> dict:
        batch = self._batch(batch_id)
        page, size = page_args(request.args, size_name="pagesize")
        pages = math.ceil(len(batch.errors) / size)
        return {"errors": batch.errors[(page - 1) * size: page * size],
                "links": page_links(request.base_url, request.args, page=page, pages=pages)}

    def _list_labels(self, request: Request) -> dict:
        """GET /v1/labels, filtered by batch_id (the batch's own index) or not at all; newest first
        unless sort_dir=asc. Other filters of the real API are not simulated."""
        page, size = page_args(request.args)
        direction = request.args.get("sort_dir", "desc")
        if direction not in ("asc", "desc"):
            raise ShipEngineError(400, "sort_dir must be asc or desc", code="invalid_field_value",
                                  field_name="sort_dir")
        batch_id = request.args.get("batch_id")
        ids = (self._batches[batch_id].label_ids if batch_id in self._batches else []) if batch_id else self._label_ids
        total, start, pages = len(ids), (page - 1) * size, math.ceil(len(ids) / size)
        if direction == "asc":
            chosen = ids[start:start + size]
        else:   # newest first, sliced from the end: no copy of the whole list
            chosen = ids[max(total - start - size, 0):max(total - start, 0)][::-1]
        return {"labels": [self._label_view(self._labels[i]) for i in chosen], "total": total, "page": page,
                "pages": pages, "links": page_links(request.base_url, request.args, page=page, pages=pages)}

    # ---- state ----

    def _batch(self, batch_id: str) -> BatchRecord:
        if batch_id not in self._batches:
            raise ShipEngineError(404, f"batch_id {batch_id} was not found", code="invalid_identifier")
        return self._batches[batch_id]

    def _quoted_rate(self, rate_id: str):
        if rate_id not in self._quoted:
            raise ShipEngineError(400, f"rate_id {rate_id} was not found", code="invalid_identifier",
                                  field_name="rate_ids")
        return self._quoted[rate_id]

    def _polled(self, batch: BatchRecord) -> BatchRecord:
        if batch.status in IN_FLIGHT:
            if batch.polls_left > 0:
                batch.polls_left -= 1
            else:
                batch.status = "completed_with_errors" if batch.errors else "completed"
        return batch

    def _run_batch(self, batch: BatchRecord) -> None:
        for shipment_id, rate_id in batch.items:
            self._batch_label(batch, shipment_id, rate_id)
        batch.processed_at, batch.status, batch.polls_left = self.clock.now(), "processing", self.batch_polls
        if self.batch_polls == 0:
            self._polled(batch)

    def _shipment_service(self, shp: ShipmentRecord) -> tuple[Carrier, Service, float]:
        """A shipment batched by its id is labelled with its own carrier and service (docs: batches)."""
        if not shp.carrier_id or not shp.service_code:
            raise ShipEngineError(400, f"Shipment {shp.shipment_id} has no carrier_id and service_code",
                                  code="field_value_required", field_name="carrier_id")
        carrier = self._accounts[shp.carrier_id]
        service = self._service(carrier, {"service_code": shp.service_code})
        return carrier, service, price(service, weight_kg=shp.weight_kg, zone_number=zone(
            shp.ship_from["state_province"], shp.ship_to["state_province"]))

    def _batch_label(self, batch: BatchRecord, shipment_id: str, rate_id: str | None) -> None:
        """One shipment of the batch: its label, or its line in the batch's errors."""
        shp = self._shipments[shipment_id]
        try:
            if rate_id is not None:
                rate = self._quoted[rate_id]
                carrier, service, amount = rate.carrier, rate.service, rate.amount
            else:
                carrier, service, amount = self._shipment_service(shp)
            self._refuse_second_label(shp)
            self._check_deliverable(shp)
        except ShipEngineError as exc:
            error = {"error": exc.body["errors"][0]["message"], "shipment_id": shipment_id}
            if shp.external_shipment_id:
                error["external_shipment_id"] = shp.external_shipment_id
            batch.errors.append(error)
            return
        label = self._new_label(shp, carrier, service, amount, download_base=batch.download_base,
                                batch_id=batch.batch_id)
        batch.label_ids.append(label.label_id)
