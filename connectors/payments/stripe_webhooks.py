"""Stripe webhook deliveries: verify the Stripe-Signature header, then read the event.

    Stripe-Signature: t=1533204620,v1=<hex>[,v1=<hex>...][,v0=<hex>]
    v1 = hex(HMAC-SHA256(key=endpoint secret "whsec_...", msg=f"{t}.{raw body}"))

While an endpoint secret is being rolled Stripe signs with the old and the new one, so the
header carries several v1 values and any of them may match. The timestamp is inside the
signed message, which is what makes the tolerance window a defence against replays."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

from connectors.webhooks import WebhookRejected

VENDOR = "stripe"
SCHEME = "v1"        # any other scheme (v0) is ignored: a header must not talk us down to it


def verify_stripe_webhook(payload: bytes, sig_header: str, secret: str, *, tolerance_s: int = 300,
                          now: float | None = None) -> dict:
    """The event dict of a genuine, fresh delivery; anything else raises WebhookRejected.

    Fresh means |now - t| <= tolerance_s. The signature is checked before the timestamp, as
    Stripe's own libraries do, so a forger is told only that nothing matched."""
    if not secret:
        # An empty key is a misconfiguration, and anyone could compute its HMAC.
        raise ValueError("no Stripe webhook secret configured")
    timestamp, signatures = _parse_header(sig_header)
    if not signatures:
        raise WebhookRejected(f"no {SCHEME} signature in the Stripe-Signature header", vendor=VENDOR)
    signed = timestamp.encode("ascii") + b"." + payload
    expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest().encode("ascii")
    if not any(hmac.compare_digest(expected, s.encode("utf-8")) for s in signatures):
        raise WebhookRejected("no signature matches the payload (wrong endpoint secret whsec_..., "
                              "or the body was altered)", vendor=VENDOR)
    age = (time.time() if now is None else now) - int(timestamp)
    if abs(age) > tolerance_s:
        raise WebhookRejected(f"timestamp outside tolerance: signed {age:+.0f}s from now, "
                              f"allowed ±{tolerance_s}s (replayed delivery, or a clock is off)",
                              vendor=VENDOR)
    return _event(payload)


def _parse_header(sig_header: str) -> tuple[str, list[str]]:
    """(t exactly as sent, the v1 signatures). The raw t is signed, so it is kept as text."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in (sig_header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value.strip())
        elif key == SCHEME and value.strip():
            signatures.append(value.strip())
    if len(timestamps) != 1 or not (timestamps[0].isascii() and timestamps[0].isdigit()):
        raise WebhookRejected("malformed Stripe-Signature header: expected one t=<unix seconds>",
                              vendor=VENDOR)
    return timestamps[0], signatures


def _event(payload: bytes) -> dict:
    try:
        event = json.loads(payload)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        raise WebhookRejected("bad JSON: the signed payload is not JSON", vendor=VENDOR) from None
    if not isinstance(event, dict):
        raise WebhookRejected("bad JSON: the signed payload is not a JSON object", vendor=VENDOR)
    return event
