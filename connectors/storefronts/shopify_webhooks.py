"""Shopify webhook deliveries: verify X-Shopify-Hmac-Sha256, then read topic and body.

    X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(key=app client secret, msg=raw request body))

The HMAC covers the body only, not the headers, so the topic is trusted only because the
endpoint secret is per app; Shopify puts no timestamp in the signature (replays are caught by
X-Shopify-Webhook-Id de-duplication downstream, not here)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from connectors.webhooks import WebhookRejected

VENDOR = "shopify"
HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"


def verify_shopify_webhook(body: bytes, hmac_header: str, secret: str) -> bool:
    """True when the header is the body's HMAC under `secret`. Compared in constant time."""
    if not secret:
        # An empty key is a misconfiguration, and anyone could compute its HMAC.
        raise ValueError("no Shopify webhook secret configured")
    if not hmac_header:
        return False
    expected = base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest())
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header is attacker-controlled.
    return hmac.compare_digest(expected, hmac_header.strip().encode("utf-8"))


def parse_shopify_webhook(headers: Mapping[str, str], body: bytes, secret: str) -> tuple[str, dict]:
    """(topic, payload) of a verified delivery, e.g. ("orders/create", {...}); else WebhookRejected.

    The signature is checked before anything else is read, so an unsigned request learns nothing."""
    signature = _header(headers, HMAC_HEADER)
    if not signature:
        raise WebhookRejected(f"missing {HMAC_HEADER} header", vendor=VENDOR)
    if not verify_shopify_webhook(body, signature, secret):
        raise WebhookRejected(f"bad signature: {HMAC_HEADER} does not match the body "
                              "(wrong app secret, or the body was altered)", vendor=VENDOR)
    topic = _header(headers, TOPIC_HEADER)
    if not topic:
        raise WebhookRejected(f"missing {TOPIC_HEADER} header", vendor=VENDOR)
    try:
        payload = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        raise WebhookRejected("body is not JSON", vendor=VENDOR) from None
    if not isinstance(payload, dict):
        raise WebhookRejected("body is not a JSON object", vendor=VENDOR)
    return topic, payload


def _header(headers: Mapping[str, str], name: str) -> str:
    """HTTP header names are case-insensitive; frameworks hand them over in any case."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value.strip()
    return ""
