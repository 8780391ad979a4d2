"""ShipEngine's bulk quoting, one parcel per lane (domain.lanes).

Rates are read back one request per shipment (GET /v1/shipments/{id}/rates: the bulk rating's
answer holds none, and no ShipEngine endpoint returns many shipments' rates), and ShipEngine
allows 200 requests a minute. So only one shipment per lane is rated: the lane's first parcel at
the lane's rounded-up weight, under the lane's own external_shipment_id (never a parcel's, which
stays free for the label). Every parcel of the lane gets that lane's rates, the representative's
rate_ids included: labels are bought by service (shipengine_bulk), not by rate_id.

The shipments are created 500 at a time (POST /v1/shipments, each answer named by its
external_shipment_id) and rated 500 at a time (POST /v1/rates/bulk)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from connectors.carriers.shipengine_shipment import external_id, shipment_body, shipment_problem
from connectors.errors import PermanentApiError
from domain.lanes import lanes_of, representative
from domain.records import ParcelRequest, Rate

CHUNK = 500   # shipments per request, rates per batch (the spec sets no limit)
RATE_READERS = 8   # rate reads in flight at once: each is a round trip, and ShipEngine answers them in parallel


def chunks(items: Sequence) -> Iterator[Sequence]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


class LaneQuotes:
    """Mixed into ShipEngineCarrier: uses its _api, _codes, _ranked and _await."""

    def quote_many(self, parcels: list[ParcelRequest]) -> dict[str, list[Rate] | str]:
        answers: dict[str, list[Rate] | str] = {}
        for parcel in parcels:   # a parcel the spec refuses is answered alone, never lent a lane's rates
            if problem := shipment_problem(shipment_body(parcel)):
                answers[parcel.reference] = problem
        lanes = lanes_of([p for p in parcels if p.reference not in answers])
        quoted = self._quote_shipments([representative(lane, members) for lane, members in lanes.items()])
        for lane, members in lanes.items():
            answers.update({parcel.reference: quoted[lane.reference] for parcel in members})
        return answers

    def _quote_shipments(self, parcels: list[ParcelRequest]) -> dict[str, list[Rate] | str]:
        quoted: dict[str, list[Rate] | str] = {}
        for is_return in (False, True):
            for chunk in chunks([p for p in parcels if p.is_return == is_return]):
                created = self._create_shipments({p.reference: shipment_body(p) for p in chunk}, quoted)
                rated = self._rate_in_bulk(created, quoted, is_return=is_return)
                with ThreadPoolExecutor(max_workers=RATE_READERS, thread_name_prefix="shipengine-rates") as pool:
                    read = pool.map(lambda item: self._rates_of(item[1], item[0]), rated.items())
                    quoted.update(zip(rated, read))
        return quoted

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
