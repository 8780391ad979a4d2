"""Small hand-written fakes for the Shopify connector tests: the payment issuer and the carrier's
delivery look-up the sandbox depends on, and a time source whose sleeps cost nothing."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class FakePayments:
    """Stands in for the Stripe sandbox: hands out payment ids and remembers what was asked."""

    intents: dict[str, dict] = field(default_factory=dict)

    def create_payment_intent(self, *, amount_cents, currency, outcome, created_at, settle_at, metadata) -> str:
        payment_id = f"pi_test_{len(self.intents) + 1:06d}"
        self.intents[payment_id] = {"amount_cents": amount_cents, "currency": currency, "outcome": outcome,
                                    "created_at": created_at, "settle_at": settle_at, "metadata": dict(metadata)}
        return payment_id


@dataclass
class FakeDeliveries:
    """Stands in for the carrier: a parcel is delivered once a test says when."""

    delivered: dict[str, datetime] = field(default_factory=dict)

    def __call__(self, tracking_number: str) -> datetime | None:
        return self.delivered.get(tracking_number)


@dataclass
class FakeTime:
    """One clock for both sides: the client's sleeps advance it and the sandbox's cost bucket
    restores by it, so waiting is honoured without a real second passing."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
