"""ShipEngine's label batches behind the Carrier protocol's buy_labels and find_labels (quoting,
one request per lane: shipengine_quotes).

Buying is by service, not by rate_id (a lane's parcels share their representative's rates):
each parcel becomes its own shipment, with its reference as external_shipment_id and the chosen
carrier_id and service_code, 500 per POST /v1/shipments; those shipments make one label batch
(POST /v1/batches with shipment_ids, then process/labels), polled with the injected sleep for
a bounded time, its labels read back 500 a page. The label carries what the parcel really cost.

The batch's external_batch_id is derived from its sorted references, and looked up before any
shipment or batch is made: a batch a crashed run already made is resumed and read, never bought
again. If that batch already failed some of the parcels, they go into a next batch whose id is
derived from them and its predecessor's id, so a retry after a failure is just as deterministic.
ShipEngine keeps one live label per shipment and refuses a new shipment under a reference that
has one, so a parcel bought some other way is found (find_label), not bought again.

ShipEngine's docs want a batch's shipments to leave from one warehouse: callers give buy_labels
one origin at a time."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from connectors.carriers.shipengine_batch_calls import BatchCalls, batch_external_id
from connectors.carriers.shipengine_quotes import LaneQuotes
from connectors.carriers.shipengine_shipment import external_id, shipment_body, shipment_problem
from domain.records import Label, ParcelRequest, Rate

CHUNK = 500                  # shipments per request, labels per batch (the spec sets no limit)
MAX_BATCH_GENERATIONS = 10   # batches one set of parcels may go through, failures retried


def chunks(items: Sequence) -> Iterator[Sequence]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


class ShipEngineBulk(LaneQuotes, BatchCalls):
    """Mixed into ShipEngineCarrier: uses its _api, _carrier_ids, _label and find_label."""

    # ---- buying ----

    def buy_labels(self, choices: list[tuple[Rate, ParcelRequest]]) -> dict[str, Label | str]:
        wanted = {parcel.reference: (rate, parcel) for rate, parcel in choices}
        bought: dict[str, Label | str] = {}
        for chunk in chunks(sorted(wanted)):
            bought.update(self._buy_batch({reference: wanted[reference] for reference in chunk}))
        return bought

    def _buy_batch(self, wanted: dict[str, tuple[Rate, ParcelRequest]]) -> dict[str, Label | str]:
        outcome: dict[str, Label | str] = {}
        pending, after = sorted(wanted), ""
        for _ in range(MAX_BATCH_GENERATIONS):
            external = batch_external_id(pending, after)
            batch = self._batch_by_external(external)   # an open one is processed as made, with its own shipments
            fresh = batch is None
            if fresh:
                shipment_ids = self._label_shipments({reference: wanted[reference] for reference in pending}, outcome)
                if not shipment_ids:
                    return self._recheck(outcome)
                batch = self._create_batch(external, shipment_ids)
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

    def _label_shipments(self, wanted: dict[str, tuple[Rate, ParcelRequest]], outcome: dict) -> list[str]:
        """A shipment per parcel, set to its chosen carrier and service; ShipEngine's refusals
        (e.g. a live label already bought under the reference) go to outcome."""
        bodies = {}
        for reference, (rate, parcel) in wanted.items():
            if rate.carrier not in self._carrier_ids:
                outcome[reference] = f"carrier {rate.carrier!r} is not configured for ShipEngine"
                continue
            bodies[reference] = {**shipment_body(parcel), "carrier_id": self._carrier_ids[rate.carrier],
                                 "service_code": rate.service}
        return [shipment_id for chunk in chunks(list(bodies))
                for shipment_id in self._create_shipments({r: bodies[r] for r in chunk}, outcome).values()]

    def _create_shipments(self, bodies: dict[str, dict], answers: dict) -> dict[str, str]:
        """reference -> shipment_id of the shipments ShipEngine took; the others' errors go to answers."""
        problems = {reference: problem for reference, body in bodies.items() if (problem := shipment_problem(body))}
        answers.update(problems)
        references = [reference for reference in bodies if reference not in problems]
        if not references:
            return {}
        body = self._api.json("POST", "/v1/shipments", json={"shipments": [bodies[r] for r in references]})
        by_external = {s.get("external_shipment_id"): s for s in body.get("shipments") or []}
        created = {}
        for reference in references:
            shipment = by_external.get(external_id(reference)) or {}
            if shipment.get("shipment_id") and not shipment.get("errors"):
                created[reference] = shipment["shipment_id"]
            else:
                answers[reference] = "; ".join(shipment.get("errors") or ["not in ShipEngine's answer"])
        return created

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
