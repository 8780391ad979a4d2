"""One Protocol per kind of outside system. Implementations normalise to domain.records.

Times passed in are naive UTC (the warehouse's convention); implementations must also accept
aware ones. Times returned may be aware UTC: the domain normalises them."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from domain.records import (
    ChannelOrder, FulfillmentNotice, FulfillmentPush, Label, Malformed, ParcelRequest, Payment, PushResult, Rate,
    Refund, ReturnRequest, TrackingUpdate,
)


@runtime_checkable
class Storefront(Protocol):
    channel: str

    def pull_orders(self, *, since: datetime, until: datetime) -> Iterator[list[ChannelOrder | Malformed]]:
        """Orders updated in [since, until), one list per API page, oldest first."""

    def pull_return_requests(self, *, since: datetime, until: datetime) -> Iterator[list[ReturnRequest | Malformed]]:
        """Return requests created or updated in [since, until), one list per page."""

    def push_fulfillment(
        self, *, order_external_id: str, tracking_number: str, carrier_name: str, tracking_url: str,
    ) -> FulfillmentPush:
        """Mark the order fulfilled with tracking; a second call for the same order is a no-op."""

    def push_fulfillments(self, items: list[FulfillmentNotice]) -> list[PushResult]:
        """push_fulfillment for many orders (as few calls as the API allows): one result per item,
        in order. A refusal or a lost answer fails that item alone (PushResult.error, .retryable);
        the call itself does not raise for one order's trouble."""

    def check(self) -> str:
        """Reach the API with the configured credentials; return a one-line description."""


@runtime_checkable
class PaymentGateway(Protocol):
    name: str

    def fetch_payments(self, refs: Sequence[str], *, created_since: datetime | None,
                       created_until: datetime | None = None) -> list[Payment]:
        """Current state of the given payments (refs not found are simply absent). The payments
        were created in [created_since, created_until] (a hint for gateways that list a window;
        None: unbounded); created_since None says the refs are scattered in time: read each."""

    def refund(self, *, payment_ref: str, amount: float, currency: str, idempotency_key: str) -> Refund:
        """Refund once: the same idempotency_key never refunds twice."""

    def check(self) -> str: ...


class QuoteMemory(Protocol):
    """Carrier quotes kept between runs and processes, by the carrier's own key for what it
    priced (a ShipEngine lane's reference). A tariff does not change within minutes, and a
    carrier's rate limit (ShipEngine: 200 requests a minute) would not let every run of a busy
    day quote its lanes afresh. Times are naive UTC, real time (not a run's as_of)."""

    def recall(self, scope: str, keys: Sequence[str], *, newer_than: datetime) -> dict[str, list[Rate]]:
        """The rates remembered for these keys in scope, quoted after newer_than."""

    def remember(self, scope: str, quotes: dict[str, list[Rate]], *, at: datetime) -> None:
        """Keep these rates (key -> rates), quoted at `at`, replacing older ones."""


@runtime_checkable
class Carrier(Protocol):
    name: str

    def quote(self, parcel: ParcelRequest) -> list[Rate]:
        """Rates for every service the account offers for this parcel."""

    def find_label(self, reference: str) -> Label | None:
        """The label already bought for our reference, if any (idempotency look-up)."""

    def buy_label(self, *, rate: Rate, reference: str) -> Label:
        """Buy the label for a quoted rate."""

    def quote_many(self, parcels: list[ParcelRequest]) -> dict[str, list[Rate] | str]:
        """quote() for many parcels, keyed by parcel.reference; a str is the vendor's refusal of
        that parcel (the others are still quoted). Parcels of one lane (domain.lanes) may share
        one quote, rate_ids included. Transient errors raise."""

    def buy_labels(self, choices: list[tuple[Rate, ParcelRequest]]) -> dict[str, Label | str]:
        """Buy the chosen rate's carrier and service for each (rate, parcel) pair, from one origin:
        parcel.reference -> its label (its amount is what the carrier charged), or the vendor's
        refusal of that parcel. Never buys twice for a reference, also when repeated after a
        crash; a transient error raises and a repeat of the call finds what was already bought."""

    def find_labels(self, references: Sequence[str]) -> dict[str, Label]:
        """find_label() for many references (those without a live label are absent)."""

    def track(self, label: Label | str) -> TrackingUpdate:
        """Tracking history of a label (or label_ref), mapped to canonical states."""

    def create_return_label(self, *, outbound_label_ref: str, reference: str) -> Label:
        """A return label for a parcel we shipped; idempotent on reference."""

    def check(self) -> str: ...
