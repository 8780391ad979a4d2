"""Deterministic idempotency keys: the same business fact always gets the same key."""
from __future__ import annotations

import hashlib


def idempotency_key(kind: str, natural_id: str) -> str:
    """e.g. idempotency_key("label", "shopify-main:1001/out") -> "cmp-label-3f2a…" (≤ 40 chars,
    safe in URLs and in every vendor's external-id field)."""
    digest = hashlib.sha1(f"{kind}:{natural_id}".encode()).hexdigest()[:24]
    return f"cmp-{kind}-{digest}"
