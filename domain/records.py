"""Normalised records every connector returns, whatever the vendor. Each keeps the raw payload."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

PaymentStatus = Literal["succeeded", "pending", "failed"]
TrackingState = Literal[
    "pre_transit", "in_transit", "out_for_delivery", "available_for_pickup", "delivered",
    "exception", "return_to_sender", "failure", "cancelled", "unknown",
]


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str = ""


@dataclass(frozen=True)
class OrderLine:
    external_line_id: str
    sku: str | None
    quantity: int
    unit_price: float
    weight_kg: float


@dataclass(frozen=True)
class ReturnLine:
    external_line_id: str        # the order line returned
    sku: str | None
    quantity: int
    reason: str                  # vendor reason code, e.g. DEFECTIVE, SIZE_TOO_SMALL


@dataclass(frozen=True)
class ReturnRequest:
    channel: str
    external_id: str
    order_external_id: str
    requested_at: datetime
    lines: tuple[ReturnLine, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)
    refunded_amount: float = 0.0   # already refunded for this return in the store itself


@dataclass(frozen=True)
class ChannelOrder:
    """One storefront order as pulled. Fields may be None when the vendor sent garbage:
    domain.orders.validate_orders decides what is quarantined."""

    channel: str
    external_id: str
    order_number: str
    placed_at: datetime
    updated_at: datetime
    customer_name: str | None
    customer_email: str | None
    ship_to: Address | None
    shipping_method: str | None
    currency: str
    total_amount: float
    payment_ref: str | None
    lines: tuple[OrderLine, ...]
    returns: tuple[ReturnRequest, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    cancelled_at: datetime | None = None   # the store cancelled the order (customer or merchant)
    refunded_amount: float = 0.0           # refunded in the store (any reason), in the order currency


@dataclass(frozen=True)
class Malformed:
    """A record the connector could not even parse; it goes to quarantine with its raw payload."""

    source: str
    stream: str
    external_id: str
    reason: str
    raw: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class Payment:
    payment_ref: str
    status: PaymentStatus
    amount: float
    currency: str
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Refund:
    gateway_refund_id: str
    status: Literal["succeeded", "pending", "failed"]
    amount: float
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class ParcelRequest:
    reference: str               # our idempotency key; sent as the vendor's external id
    ship_from: Address
    ship_to: Address
    weight_kg: float
    is_return: bool = False


@dataclass(frozen=True)
class Rate:
    rate_id: str
    carrier: str                 # our carrier code (usps, ups)
    service: str                 # service code (usps_priority_mail)
    amount: float
    currency: str
    transit_days: int


@dataclass(frozen=True)
class Label:
    label_ref: str
    reference: str
    carrier: str
    service: str
    tracking_number: str
    amount: float
    currency: str
    label_url: str
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class TrackingEvent:
    occurred_at: datetime
    status: TrackingState        # canonical state this event maps to
    carrier_status: str          # the vendor's own code, kept for audit
    description: str
    location: str = ""


@dataclass(frozen=True)
class TrackingUpdate:
    tracking_number: str
    status: TrackingState
    events: tuple[TrackingEvent, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class FulfillmentPush:
    external_fulfillment_id: str
    already_existed: bool


@dataclass(frozen=True)
class FulfillmentNotice:
    """What a storefront is told when an order's parcel ships (one item of a batched push)."""

    order_external_id: str
    tracking_number: str
    carrier_name: str
    tracking_url: str


@dataclass(frozen=True)
class PushResult:
    """The storefront's answer to one notice: `pushed` (new or already there), or refused with the
    store's own words in `error`; `retryable` when nothing is known to have changed in the store
    (outage, lost answer), so the next run simply tries again."""

    notice: FulfillmentNotice
    pushed: FulfillmentPush | None = None
    error: str | None = None
    retryable: bool = False
