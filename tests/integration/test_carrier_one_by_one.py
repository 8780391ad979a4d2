"""The batch methods of carriers without bulk endpoints (EasyPost, Shippo): their single calls in
turn, a refused parcel answered alone, a transient error stopping the call."""
from __future__ import annotations

import pytest

from connectors.carriers.one_by_one import OneByOne
from connectors.errors import PermanentApiError, TransientApiError
from domain.records import Label, Rate
from tests.integration.common import parcel


class FakeCarrier(OneByOne):
    """Refuses the references in `refuse`; is down (transient) for those in `down`."""

    def __init__(self, *, refuse=(), down=()):
        self.refuse, self.down, self.bought = set(refuse), set(down), {}

    def _check(self, reference: str) -> None:
        if reference in self.down:
            raise TransientApiError("fake", "down")
        if reference in self.refuse:
            raise PermanentApiError("fake", f"{reference} refused", status=422)

    def quote(self, parcel):
        self._check(parcel.reference)
        return [Rate(f"rate-{parcel.reference}", "usps", "usps_ground_advantage", 5.0, "USD", 3)]

    def buy_label(self, *, rate, reference):
        self._check(reference)
        return self.bought.setdefault(reference, Label(f"label-{reference}", reference, "usps", rate.service,
                                                       "9400", rate.amount, "USD", "", raw={}))

    def find_label(self, reference):
        return self.bought.get(reference)


def test_a_refused_parcel_is_answered_alone_and_the_others_go_on(world):
    carrier = FakeCarrier(refuse={"b"})

    quoted = carrier.quote_many([parcel(world, r) for r in ("a", "b", "c")])
    bought = carrier.buy_labels([(quoted["a"][0], parcel(world, "a")), (quoted["c"][0], parcel(world, "c")),
                                 (quoted["a"][0], parcel(world, "b"))])

    assert quoted["b"] == "b refused" and [r.rate_id for r in quoted["c"]] == ["rate-c"]
    assert bought["b"] == "b refused" and bought["c"].label_ref == "label-c"
    assert carrier.find_labels(["a", "b", "c", "a"]) == {"a": bought["a"], "c": bought["c"]}


def test_a_transient_error_stops_the_call_and_what_was_bought_is_found_again(world):
    carrier = FakeCarrier(down={"b"})
    rate = Rate("rate-x", "usps", "usps_ground_advantage", 5.0, "USD", 3)

    with pytest.raises(TransientApiError):
        carrier.buy_labels([(rate, parcel(world, r)) for r in ("a", "b", "c")])

    assert set(carrier.find_labels(["a", "b", "c"])) == {"a"}
