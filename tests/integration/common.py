"""What the connector tests share: a fixed moment, the parcels' customers, carrier fixtures."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from connectors.errors import TransientApiError
from domain.records import Address, ParcelRequest

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)
PROGRESS = {"pre_transit": 0, "in_transit": 1, "out_for_delivery": 2, "delivered": 3}
CUSTOMERS = [Address("Ann Lee", "1 Main St", "Austin", "TX", "78701", "US"),
             Address("Bo Diaz", "9 Elm Ave", "Albany", "NY", "12207", "US", phone="+1 518 555 0199"),
             Address("Cy Park", "4 Bay Rd", "Seattle", "WA", "98101", "US")]


def carrier_fixtures(sandbox_cls, carrier_cls, **credentials):
    """make_sandbox, sandbox, make_carrier, carrier for a carrier module: a simulator answering on
    the module's switchboard, and a client of it that records its sleeps instead of sleeping.
    Use: `make_sandbox, sandbox, make_carrier, carrier = carrier_fixtures(Sim, Client, api_key=KEY)`."""

    @pytest.fixture
    def make_sandbox(world, clock, switchboard):
        def make(**options):
            simulator = sandbox_cls(clock=clock, world=world, seed=5, **options)
            switchboard[1]["app"] = simulator.wsgi_app
            return simulator
        return make

    @pytest.fixture
    def sandbox(make_sandbox):
        return make_sandbox()

    @pytest.fixture
    def make_carrier(world, url, sleeps):
        def make(**options):
            options = {**credentials, "carriers": world.carriers, "sleep": sleeps.append, **options}
            return carrier_cls(api_base=url, **options)
        return make

    @pytest.fixture
    def carrier(make_carrier, sandbox):
        return make_carrier()

    return make_sandbox, sandbox, make_carrier, carrier


def parcel(world, reference: str, *, to: Address = CUSTOMERS[0], weight_kg: float = 1.4) -> ParcelRequest:
    """A parcel from the EWR warehouse to one of the test customers."""
    origin = Address(**world.warehouse("EWR").address.model_dump())
    return ParcelRequest(reference=reference, ship_from=origin, ship_to=to, weight_kg=weight_kg)


def book(carrier, world, reference: str, *, service: str = "usps_ground_advantage", **parcel_options):
    """Quote the parcel and buy the named service's rate."""
    rate = next(r for r in carrier.quote(parcel(world, reference, **parcel_options)) if r.service == service)
    return carrier.buy_label(rate=rate, reference=reference)


def book_each_once(carrier, world, references, **parcel_options) -> dict:
    """What the booking task does for each reference: look it up first, else quote and buy; on a
    transient error, start over. Returns reference -> Label."""

    def book_once(reference: str):
        for _ in range(10):
            try:
                return carrier.find_label(reference) or book(carrier, world, reference, **parcel_options)
            except TransientApiError:
                continue
        raise AssertionError(f"{reference} never booked")

    return {reference: book_once(reference) for reference in references}
