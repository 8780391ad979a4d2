"""ShipEngine's bulk endpoints behind the Carrier protocol's batch methods.

Quoting: the parcels become shipments 500 at a time (POST /v1/shipments, our reference as
external_shipment_id, so each answer names its parcel) and are rated 500 at a time (POST
/v1/rates/bulk). The bulk answer holds no rates (its `bulk_rate` is rate_request_id,
shipment_id, status, errors; the docs call the rating asynchronous), so each shipment's rates
are read back with GET /v1/shipments/{id}/rates: one request per parcel, which no ShipEngine
endpoint avoids.

Buying: one label batch per 500 rates (POST /v1/batches with rate_ids, then process/labels),
polled with the injected sleep for a bounded time, its labels read back 500 a page. The
batch's external_batch_id is derived from its sorted references, and looked up before a batch
is created: a batch a crashed run already made is resumed and read, never bought again. If that
batch already failed some of the parcels, they go into a next batch whose id is derived from
them and its predecessor's id, so a retry after a failure is just as deterministic.

The spec sets no limit on how many shipments, rates or labels a request may carry; 500 keeps
each answer to a few MB. ShipEngine's docs also want a batch's shipments to leave from one
warehouse: callers give buy_labels one origin at a time."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import quote

from connectors.carriers.shipengine_batch_calls import BatchCalls, batch_external_id
from connectors.carriers.shipengine_shipment import external_id, shipment_body, shipment_problem
from connectors.errors import PermanentApiError
from domain.records import Label, ParcelRequest, Rate

CHUNK = 500                  # shipments per request, rates per batch (the spec sets no limit)
MAX_BATCH_GENERATIONS = 10   # batches one set of parcels may go through, failures retried


def chunks(items: Sequence) -> Iterator[Sequence]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


class ShipEngineBulk(BatchCalls):
    """Mixed into ShipEngineCarrier: uses its _api, _codes, _ranked and find_label."""

    # ---- quoting ----

    def quote_many(self, parcels: list[ParcelRequest]) -> dict[str, list[Rate] | str]:
        answers: dict[str, list[Rate] | str] = {}
        for is_return in (False, True):
            for chunk in chunks([p for p in parcels if p.is_return == is_return]):
                created = self._create_shipments(chunk, answers)
                for reference, shipment_id in self._rate_in_bulk(created, answers, is_return=is_return).items():
                    answers[reference] = self._rates_of(shipment_id, reference)
        return answers

    def _create_shipments(self, parcels: Sequence[ParcelRequest], answers: dict) -> dict[str, str]:
        """reference -> shipment_id of the shipments ShipEngine took; the others' errors go to answers."""
        bodies = {p.reference: shipment_body(p) for p in parcels}
        problems = {reference: problem for reference, body in bodies.items() if (problem := shipment_problem(body))}
        answers.update(problems)
        parcels = [p for p in parcels if p.reference not in problems]
        if not parcels:
            return {}
        body = self._api.json("POST", "/v1/shipments", json={"shipments": [bodies[p.reference] for p in parcels]})
        by_external = {s.get("external_shipment_id"): s for s in body.get("shipments") or []}
        created = {}
        for parcel in parcels:
            shipment = by_external.get(external_id(parcel.reference)) or {}
            if shipment.get("shipment_id") and not shipment.get("errors"):
                created[parcel.reference] = shipment["shipment_id"]
            else:
                answers[parcel.reference] = "; ".join(shipment.get("errors") or ["not in ShipEngine's answer"])
        return created

    def _rate_in_bulk(self, created: dict[str, str], answers: dict, *, is_return: bool) -> dict[str, str]:
        """The shipments whose bulk rating did not fail outright; the others' errors go to answers."""
        if not created:
            return {}
        options = {"carrier_ids": list(self._codes), "is_return": is_return}
        body = self._api.json("POST", "/v1/rates/bulk", json={"rate_options": options,
                                                              "shipment_ids": list(created.values())})
        status = {r.get("shipment_id"): r for r in body}
        rated = {}
        for reference, shipment_id in created.items():
            answer = status.get(shipment_id) or {"status": "error", "errors": [{"message": "not rated"}]}
            if answer["status"] == "error":
                answers[reference] = f"no rates for parcel {reference}: " + \
                    "; ".join(e.get("message", "?") for e in answer.get("errors") or [])
            else:
                rated[reference] = shipment_id
        return rated

    def _rates_of(self, shipment_id: str, reference: str) -> list[Rate] | str:
        path = f"/v1/shipments/{quote(shipment_id, safe='')}/rates"
        body = self._await(lambda: self._api.json("GET", path), what=f"rates of {reference}")
        try:
            return self._ranked(body, reference)
        except PermanentApiError as exc:
            return exc.message

    # ---- buying ----

    def buy_labels(self, choices: list[tuple[Rate, str]]) -> dict[str, Label | str]:
        rates = {reference: rate for rate, reference in choices}
        bought: dict[str, Label | str] = {}
        for chunk in chunks(sorted(rates)):
            bought.update(self._buy_batch({reference: rates[reference] for reference in chunk}))
        return bought

    def _buy_batch(self, rates: dict[str, Rate]) -> dict[str, Label | str]:
        outcome: dict[str, Label | str] = {}
        pending, after = sorted(rates), ""
        for _ in range(MAX_BATCH_GENERATIONS):
            external = batch_external_id(pending, after)
            batch = self._batch_by_external(external)   # an open one is processed as made, with its own rates
            fresh = batch is None
            if fresh:
                batch = self._create_batch(external, [rates[reference].rate_id for reference in pending])
            batch = self._processed(batch)
            outcome.update(self._batch_labels(batch, pending))
            pending = [reference for reference in pending if reference not in outcome]
            if fresh or not pending:
                errors = self._batch_errors(batch, pending) if pending else {}
                outcome.update({r: errors.get(r, f"no label in batch {batch['batch_id']}") for r in pending})
                return self._recheck(outcome)
            after = external   # an earlier run's batch failed these: they go into the next one
        outcome.update({r: f"refused in {MAX_BATCH_GENERATIONS} batches already; not tried again" for r in pending})
        return self._recheck(outcome)

    def _recheck(self, outcome: dict[str, Label | str]) -> dict[str, Label | str]:
        """A parcel the batch refused may hold a label bought some other way (e.g. one at a time):
        ShipEngine keeps one live label per shipment, so it is that label, not a failure."""
        for reference in [r for r, answer in outcome.items() if isinstance(answer, str)]:
            if (label := self.find_label(reference)) is not None:
                outcome[reference] = label
        return outcome

    # ---- recovery ----

    def find_labels(self, references: Sequence[str]) -> dict[str, Label]:
        """Labels bought under these references: read from the batches buy_labels would have made
        for them (one look-up per 500), then one look-up per reference those did not settle."""
        found: dict[str, Label] = {}
        for chunk in chunks(sorted(set(references))):
            pending, after = list(chunk), ""
            while pending and (batch := self._batch_by_external(external := batch_external_id(pending, after))):
                if batch["status"] == "open":
                    break   # made but never processed: nothing bought in it
                labels = self._batch_labels(self._settled(batch), pending)
                found.update(labels)
                pending, after = [r for r in pending if r not in labels], external
        for reference in [r for r in dict.fromkeys(references) if r not in found]:
            if (label := self.find_label(reference)) is not None:
                found[reference] = label
        return found
