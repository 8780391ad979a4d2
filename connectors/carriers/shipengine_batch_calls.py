"""The calls a ShipEngine label batch takes: look it up by its external_batch_id, create it,
process it once, poll it with the injected sleep for a bounded time, read its labels and errors
page by page (following the `next` links)."""
from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import quote

from connectors.carriers.shipengine_shipment import external_id
from connectors.errors import PermanentApiError, TransientApiError
from domain.records import Label

PAGE_SIZE = 500                      # labels or batch errors per page (the spec sets no maximum)
POLL_SECONDS = (1, 2, 4, 8, 15, 30)  # then every 30 s until the wait runs out
IN_FLIGHT = frozenset({"queued", "processing", "notifying"})
PROCESS_OPTIONS = {"label_format": "pdf", "label_layout": "4x6"}


def batch_external_id(references: Iterable[str], after: str = "") -> str:
    """The same set of references (in any order), after the same predecessor, gets the same id.
    The spec types external_batch_id as an se_id (^se(-[a-z0-9]+)+$, at most 25 characters)."""
    digest = hashlib.sha256("\n".join([after, *sorted(references)]).encode()).hexdigest()[:18]
    return f"se-cmp-{digest}"


class BatchCalls:
    """Mixed into ShipEngineCarrier: uses its _api, _sleep, _batch_wait and _label."""

    def _batch_by_external(self, external: str) -> dict | None:
        return self._api.json_or_none(f"/v1/batches/external_batch_id/{quote(external, safe='')}")

    def _create_batch(self, external: str, shipment_ids: list[str]) -> dict:
        body = {"external_batch_id": external, "batch_notes": f"cumplido: {len(shipment_ids)} labels",
                "shipment_ids": shipment_ids}
        try:
            return self._api.json("POST", "/v1/batches", json=body)
        except PermanentApiError:   # refused as a duplicate when a retried attempt had made it after all
            if (batch := self._batch_by_external(external)) is None:
                raise
            return batch

    def _processed(self, batch: dict) -> dict:
        """Process an open batch (once: a refusal because a lost attempt already started it is
        fine) and wait until it is done."""
        if batch["status"] == "open":
            path = f"/v1/batches/{quote(batch['batch_id'], safe='')}"
            try:
                self._api.request("POST", f"{path}/process/labels", json=PROCESS_OPTIONS)
            except PermanentApiError:
                if self._api.json("GET", path)["status"] == "open":
                    raise
            batch = self._api.json("GET", path)
        return self._settled(batch)

    def _settled(self, batch: dict) -> dict:
        """The batch once it is no longer in flight (it may already be, as last read)."""
        path = f"/v1/batches/{quote(batch['batch_id'], safe='')}"
        return self._await(lambda: self._api.json("GET", path), first=batch, what=f"batch {batch['batch_id']}",
                           done=lambda b: b["status"] not in IN_FLIGHT)

    def _await(self, read, *, what: str, first: dict | None = None,
               done=lambda body: body.get("status") != "working") -> dict:
        """Read until done, sleeping between reads, for at most the connector's batch wait."""
        waited, body = 0.0, first if first is not None else read()
        for delay in itertools.chain(POLL_SECONDS, itertools.repeat(POLL_SECONDS[-1])):
            if done(body):
                return body
            if waited + delay > self._batch_wait:
                raise TransientApiError("shipengine", f"{what} still {body.get('status')} after {waited:.0f}s; "
                                        "the next run picks it up again")
            self._sleep(delay)
            waited += delay
            body = read()
        raise AssertionError("unreachable")

    def _batch_labels(self, batch: dict, references: Sequence[str]) -> dict[str, Label]:
        """The live labels of the batch that belong to these references, every page of them."""
        wanted = {external_id(r): r for r in references}
        labels = {}
        for raw in self._pages("/v1/labels", "labels", params={"batch_id": batch["batch_id"], "page_size": PAGE_SIZE}):
            reference = wanted.get(raw.get("external_shipment_id"))
            if reference and not (raw.get("voided") or raw.get("status") == "voided"):
                labels[reference] = self._label(raw, reference)
        return labels

    def _batch_errors(self, batch: dict, references: Sequence[str]) -> dict[str, str]:
        """reference -> the batch's message for it (the spec names this page size `pagesize`)."""
        if not batch.get("errors"):
            return {}
        wanted = {external_id(r): r for r in references}
        path = f"/v1/batches/{quote(batch['batch_id'], safe='')}/errors"
        return {wanted[e["external_shipment_id"]]: e.get("error") or "refused in the batch"
                for e in self._pages(path, "errors", params={"pagesize": PAGE_SIZE})
                if e.get("external_shipment_id") in wanted}

    def _pages(self, path: str, key: str, *, params: dict) -> Iterator[dict]:
        """Every item of a paged list, following its `next` links."""
        body = self._api.json("GET", path, params={**params, "page": 1})
        while True:
            yield from body.get(key) or []
            following = ((body.get("links") or {}).get("next") or {}).get("href")
            if not following or not body.get(key):
                return
            body = self._api.json("GET", following)
