"""The ShipEngine sandbox's bulk objects: rate requests, batches and paged lists (spec 1.1)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from connectors.sandbox.shipengine_objects import ShipEngineError
from connectors.sandbox.shipengine_tracking import iso

IN_FLIGHT = ("queued", "processing")


@dataclass
class RateRequest:
    """The latest rating of one shipment, as GET /v1/shipments/{id}/rates reads it back."""
    rate_request_id: str
    shipment_id: str
    created_at: datetime
    rate_ids: list[str]


@dataclass
class BatchRecord:
    batch_id: str
    number: str
    external_batch_id: str | None
    notes: str
    created_at: datetime
    download_base: str
    items: list[tuple[str, str | None]]             # (shipment_id, rate_id or None: the shipment's service)
    status: str = "open"
    processed_at: datetime | None = None
    polls_left: int = 0                              # GETs that still see "processing"
    label_ids: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def batch_view(batch: BatchRecord) -> dict:
    base, short = f"{batch.download_base}/v1", batch.batch_id[3:]
    done = batch.status not in ("open", *IN_FLIGHT)
    download = {"href": f"{base}/downloads/10/{short}/batch-{short}.pdf",
                "pdf": f"{base}/downloads/10/{short}/batch-{short}.pdf"} if done and batch.label_ids else {}
    completed, errors = len(batch.label_ids), len(batch.errors)
    return {
        "label_layout": "4x6", "label_format": "pdf", "batch_id": batch.batch_id, "batch_number": batch.number,
        "external_batch_id": batch.external_batch_id, "batch_notes": batch.notes, "created_at": iso(batch.created_at),
        "processed_at": iso(batch.processed_at) if batch.processed_at else None, "errors": errors,
        "process_errors": [], "warnings": 0, "completed": completed, "forms": 0, "count": completed + errors,
        "batch_shipments_url": {"href": f"{base}/shipments?batch_id={batch.batch_id}"},
        "batch_labels_url": {"href": f"{base}/labels?batch_id={batch.batch_id}"},
        "batch_errors_url": {"href": f"{base}/batches/{batch.batch_id}/errors"},
        "label_download": download, "form_download": {}, "paperless_download": {}, "status": batch.status,
    }


def page_args(args, *, size_name: str = "page_size", default_size: int = 25) -> tuple[int, int]:
    """page and page size from the query string, refused as ShipEngine does when not whole numbers >= 1."""
    values = []
    for name, default in (("page", 1), (size_name, default_size)):
        raw = args.get(name, str(default))
        if not raw.isdigit() or int(raw) < 1:
            raise ShipEngineError(400, f"{name} must be a whole number of at least 1", code="invalid_field_value",
                                  field_name=name)
        values.append(int(raw))
    return values[0], values[1]


def page_links(url: str, args, *, page: int, pages: int) -> dict:
    """first/last always link somewhere (page 1 when empty); prev and next only when they exist."""
    def link(number: int) -> dict:
        return {"href": f"{url}?{urlencode({**args.to_dict(), 'page': number})}"}

    return {"first": link(1), "last": link(max(pages, 1)), "prev": link(page - 1) if page > 1 else {},
            "next": link(page + 1) if page < pages else {}}
