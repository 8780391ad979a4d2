"""The Carrier protocol's batch methods for vendors without bulk endpoints: each parcel through
the single-parcel calls in turn. A vendor's refusal of one parcel (a 4xx) becomes that parcel's
answer and the others go on; a transient error stops the call, and what it already bought is
found again by reference (find_labels) on the next run."""
from __future__ import annotations

from collections.abc import Sequence

from connectors.errors import PermanentApiError
from domain.records import Label, ParcelRequest, Rate


class OneByOne:
    """Mixed into a carrier that has quote, buy_label and find_label."""

    def quote_many(self, parcels: list[ParcelRequest]) -> dict[str, list[Rate] | str]:
        answers: dict[str, list[Rate] | str] = {}
        for parcel in parcels:
            try:
                answers[parcel.reference] = self.quote(parcel)
            except PermanentApiError as exc:
                answers[parcel.reference] = exc.message
        return answers

    def buy_labels(self, choices: list[tuple[Rate, ParcelRequest]]) -> dict[str, Label | str]:
        bought: dict[str, Label | str] = {}
        for rate, parcel in choices:   # each parcel was quoted alone: its rate_id is its own
            try:
                bought[parcel.reference] = self.buy_label(rate=rate, reference=parcel.reference)
            except PermanentApiError as exc:
                bought[parcel.reference] = exc.message
        return bought

    def find_labels(self, references: Sequence[str]) -> dict[str, Label]:
        found = {reference: self.find_label(reference) for reference in dict.fromkeys(references)}
        return {reference: label for reference, label in found.items() if label is not None}
