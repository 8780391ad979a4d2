"""Webhook signature checks against the vendors' own published test vectors.

Where a case needs a signature no vendor published (a body that is not JSON, a second
endpoint secret), it is computed here from the documented algorithm, and the comment says so."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from connectors.payments.stripe_webhooks import verify_stripe_webhook
from connectors.storefronts.shopify_webhooks import parse_shopify_webhook, verify_shopify_webhook
from connectors.webhooks import WebhookRejected

# --- published vectors ---------------------------------------------------------------------

# Shopify/shopify-api-js, packages/shopify-api/lib/webhooks/__tests__/validate.test.ts
# ("returns true for valid request": rawBody and the expected hmac), signed with apiSecretKey
# from packages/shopify-api/lib/__tests__/test-config.ts; the topic is the default of headers()
# in packages/shopify-api/lib/webhooks/__tests__/utils.ts.
SHOPIFY_SECRET = "test_secret_key"
SHOPIFY_BODY = b'{"foo": "bar"}'
SHOPIFY_HMAC = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
SHOPIFY_TOPIC = "products/create"

# stripe/stripe-dotnet, src/StripeTests/Services/Events/EventUtilityTest.cs (secret, timestamp
# and the Stripe-Signature header, v1 and v0), over the fixture
# src/StripeTests/Resources/event_test_signature.json (LF line endings, final newline included:
# the test strips CRs before verifying).
STRIPE_SECRET = "webhook_secret"
STRIPE_TIMESTAMP = 1533204620
STRIPE_V1 = "2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7"
STRIPE_V0 = "63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef"
STRIPE_HEADER = f"t={STRIPE_TIMESTAMP},v1={STRIPE_V1},v0={STRIPE_V0}"
STRIPE_PAYLOAD = b"""{
  "id": "evt_123",
  "object": "event",
  "account": "acct_123",
  "api_version": "2017-05-25",
  "created": 1533204620,
  "data": {
    "object": {
      "id": "cus_123",
      "object": "customer",
      "created": 123456789,
      "email": "test@stripe.com",
      "livemode": false,
      "metadata": {}
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {
    "id": "req_123",
    "idempotency_key": "idempotency-key-123"
  },
  "type": "customer.created"
}
"""
# EventUtilityTest.ConstructEvent verifies 100 s after signing with a 300 s tolerance.
STRIPE_NOW = STRIPE_TIMESTAMP + 100


# --- the documented algorithms, for the cases no vendor published -----------------------------

def shopify_hmac(body: bytes, secret: str) -> str:
    """shopify.dev, "Verify webhooks": base64 of HMAC-SHA256 over the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def stripe_v1(payload: bytes, secret: str, timestamp: int) -> str:
    """docs.stripe.com, "Verify webhook signatures manually": hex HMAC-SHA256 of "{t}.{body}"."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


def shopify_headers(**overrides: str) -> dict[str, str]:
    headers = {"X-Shopify-Hmac-Sha256": SHOPIFY_HMAC, "X-Shopify-Topic": SHOPIFY_TOPIC,
               "X-Shopify-Shop-Domain": "shop1.myshopify.io"}
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v}


# --- Shopify -------------------------------------------------------------------------------

def test_the_published_shopify_vector_verifies():
    assert verify_shopify_webhook(SHOPIFY_BODY, SHOPIFY_HMAC, SHOPIFY_SECRET)


def test_shopify_rejects_a_tampered_body():
    assert not verify_shopify_webhook(b'{"foo": "baz"}', SHOPIFY_HMAC, SHOPIFY_SECRET)


def test_shopify_rejects_another_apps_secret():
    assert not verify_shopify_webhook(SHOPIFY_BODY, SHOPIFY_HMAC, "another_app_secret")


@pytest.mark.parametrize("header", ["", "fake", SHOPIFY_HMAC.lower(), "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g",
                                    "ñ" + SHOPIFY_HMAC])
def test_shopify_rejects_a_header_that_is_not_exactly_the_hmac(header):
    assert not verify_shopify_webhook(SHOPIFY_BODY, header, SHOPIFY_SECRET)


def test_shopify_refuses_to_verify_against_an_empty_secret():
    with pytest.raises(ValueError, match="no Shopify webhook secret") as raised:
        verify_shopify_webhook(SHOPIFY_BODY, shopify_hmac(SHOPIFY_BODY, ""), "")
    assert not isinstance(raised.value, WebhookRejected)   # a configuration error, not a bad delivery


def test_a_verified_shopify_delivery_yields_its_topic_and_payload():
    assert parse_shopify_webhook(shopify_headers(), SHOPIFY_BODY, SHOPIFY_SECRET) == (SHOPIFY_TOPIC, {"foo": "bar"})


def test_shopify_header_names_are_read_in_any_case():
    lowered = {k.lower(): v for k, v in shopify_headers().items()}
    assert parse_shopify_webhook(lowered, SHOPIFY_BODY, SHOPIFY_SECRET)[0] == SHOPIFY_TOPIC


@pytest.mark.parametrize(("headers", "body", "reason"), [
    (shopify_headers(**{"X-Shopify-Hmac-Sha256": ""}), SHOPIFY_BODY, "missing X-Shopify-Hmac-Sha256 header"),
    (shopify_headers(**{"X-Shopify-Hmac-Sha256": "fake"}), SHOPIFY_BODY, "bad signature"),
    (shopify_headers(), b'{"foo": "bar", "admin": true}', "bad signature"),
    (shopify_headers(**{"X-Shopify-Topic": ""}), SHOPIFY_BODY, "missing X-Shopify-Topic header"),
], ids=["no-hmac-header", "forged-hmac", "tampered-body", "no-topic-header"])
def test_shopify_deliveries_are_rejected_with_the_reason(headers, body, reason):
    with pytest.raises(WebhookRejected) as raised:
        parse_shopify_webhook(headers, body, SHOPIFY_SECRET)
    assert raised.value.reason.startswith(reason)
    assert raised.value.vendor == "shopify"


@pytest.mark.parametrize(("body", "reason"), [
    (b"this is not valid JSON", "body is not JSON"),
    (b"\xff\xfe{not utf-8", "body is not JSON"),
    (b'[{"foo": "bar"}]', "body is not a JSON object"),
])
def test_a_correctly_signed_shopify_body_that_is_not_a_json_object_is_rejected(body, reason):
    # No published vector signs a non-JSON body: the HMAC is computed from the documented algorithm.
    headers = shopify_headers(**{"X-Shopify-Hmac-Sha256": shopify_hmac(body, SHOPIFY_SECRET)})
    with pytest.raises(WebhookRejected) as raised:
        parse_shopify_webhook(headers, body, SHOPIFY_SECRET)
    assert raised.value.reason == reason


# --- Stripe --------------------------------------------------------------------------------

def test_the_published_stripe_vector_verifies_and_yields_the_event():
    event = verify_stripe_webhook(STRIPE_PAYLOAD, STRIPE_HEADER, STRIPE_SECRET, now=STRIPE_NOW)
    assert (event["id"], event["type"], event["account"]) == ("evt_123", "customer.created", "acct_123")
    assert event["request"] == {"id": "req_123", "idempotency_key": "idempotency-key-123"}


def test_stripe_accepts_a_delivery_exactly_at_the_edge_of_the_tolerance():
    for now in (STRIPE_TIMESTAMP + 300, STRIPE_TIMESTAMP - 300):
        assert verify_stripe_webhook(STRIPE_PAYLOAD, STRIPE_HEADER, STRIPE_SECRET, now=now)["id"] == "evt_123"


@pytest.mark.parametrize("now", [STRIPE_TIMESTAMP + 300 + 100, STRIPE_TIMESTAMP - 301],
                         ids=["replayed-late", "signed-in-the-future"])
def test_stripe_rejects_a_timestamp_outside_the_tolerance(now):
    # The late case is EventUtilityTest.RejectOutdatedTimestamp: 300 s tolerance, 400 s old.
    with pytest.raises(WebhookRejected) as raised:
        verify_stripe_webhook(STRIPE_PAYLOAD, STRIPE_HEADER, STRIPE_SECRET, now=now)
    assert raised.value.reason.startswith("timestamp outside tolerance")


def test_stripe_tolerance_is_configurable():
    with pytest.raises(WebhookRejected, match="timestamp outside tolerance"):
        verify_stripe_webhook(STRIPE_PAYLOAD, STRIPE_HEADER, STRIPE_SECRET, tolerance_s=10, now=STRIPE_NOW)


def test_stripe_checks_the_timestamp_against_the_clock_by_default():
    # Signed in 2018: today's clock puts it far outside the 300 s window.
    with pytest.raises(WebhookRejected, match="timestamp outside tolerance"):
        verify_stripe_webhook(STRIPE_PAYLOAD, STRIPE_HEADER, STRIPE_SECRET)


@pytest.mark.parametrize(("payload", "header", "secret"), [
    # EventUtilityTest.RejectIncorrectSignature appends this text to the published payload.
    (STRIPE_PAYLOAD + b"this_changes_the_json", STRIPE_HEADER, STRIPE_SECRET),
    (STRIPE_PAYLOAD, STRIPE_HEADER, "whsec_another_endpoint"),
    # The published signature moved to another second: t is part of what is signed.
    (STRIPE_PAYLOAD, STRIPE_HEADER.replace(str(STRIPE_TIMESTAMP), str(STRIPE_TIMESTAMP + 1)), STRIPE_SECRET),
    (STRIPE_PAYLOAD, f"t={STRIPE_TIMESTAMP},v1=bad_signature", STRIPE_SECRET),
    (STRIPE_PAYLOAD, f"t={STRIPE_TIMESTAMP},v1=ñ{STRIPE_V1}", STRIPE_SECRET),
], ids=["tampered-body", "wrong-secret", "moved-timestamp", "garbage-v1", "non-ascii-v1"])
def test_stripe_rejects_a_delivery_no_signature_matches(payload, header, secret):
    with pytest.raises(WebhookRejected) as raised:
        verify_stripe_webhook(payload, header, secret, now=STRIPE_NOW + 1)
    assert raised.value.reason.startswith("no signature matches")
    assert raised.value.vendor == "stripe"


def test_stripe_does_not_accept_a_v0_signature_alone():
    # The published v0 is a valid signature of its scheme, but only v1 is trusted.
    with pytest.raises(WebhookRejected) as raised:
        verify_stripe_webhook(STRIPE_PAYLOAD, f"t={STRIPE_TIMESTAMP},v0={STRIPE_V0}", STRIPE_SECRET, now=STRIPE_NOW)
    assert raised.value.reason.startswith("no v1 signature")


@pytest.mark.parametrize("header", [
    "", "bad_header", f"v1={STRIPE_V1}", f"t=,v1={STRIPE_V1}", f"t=abc,v1={STRIPE_V1}",
    f"t={STRIPE_TIMESTAMP},t={STRIPE_TIMESTAMP},v1={STRIPE_V1}",
], ids=["missing", "garbage", "no-t", "empty-t", "non-numeric-t", "two-t"])
def test_stripe_rejects_a_missing_or_malformed_signature_header(header):
    with pytest.raises(WebhookRejected) as raised:
        verify_stripe_webhook(STRIPE_PAYLOAD, header, STRIPE_SECRET, now=STRIPE_NOW)
    assert raised.value.reason.startswith("malformed Stripe-Signature header")


def test_stripe_accepts_any_matching_v1_among_several():
    # The published header with an unmatched v1 in front of the good one.
    header = f"t={STRIPE_TIMESTAMP},v1={'deadbeef' * 8},v1={STRIPE_V1},v0={STRIPE_V0}"
    assert verify_stripe_webhook(STRIPE_PAYLOAD, header, STRIPE_SECRET, now=STRIPE_NOW)["id"] == "evt_123"


def test_during_a_secret_roll_either_endpoint_secret_verifies():
    # Stripe signs with the old and the new secret while a secret is rolled. No published vector
    # carries two secrets: the new secret's v1 is computed from the documented algorithm.
    new_secret = "whsec_rolled_secret"
    header = f"t={STRIPE_TIMESTAMP},v1={STRIPE_V1},v1={stripe_v1(STRIPE_PAYLOAD, new_secret, STRIPE_TIMESTAMP)}"
    for secret in (STRIPE_SECRET, new_secret):
        assert verify_stripe_webhook(STRIPE_PAYLOAD, header, secret, now=STRIPE_NOW)["id"] == "evt_123"
    with pytest.raises(WebhookRejected, match="no signature matches"):
        verify_stripe_webhook(STRIPE_PAYLOAD, header, "whsec_retired_long_ago", now=STRIPE_NOW)


@pytest.mark.parametrize(("payload", "reason"), [
    (b"this is not valid JSON", "bad JSON: the signed payload is not JSON"),
    (b'["evt_123"]', "bad JSON: the signed payload is not a JSON object"),
])
def test_a_correctly_signed_stripe_payload_that_is_not_a_json_object_is_rejected(payload, reason):
    # stripe-python's test_raise_on_json_error signs this text at run time; no fixed signature is
    # published, so it is computed here from the documented algorithm.
    header = f"t={STRIPE_TIMESTAMP},v1={stripe_v1(payload, STRIPE_SECRET, STRIPE_TIMESTAMP)}"
    with pytest.raises(WebhookRejected) as raised:
        verify_stripe_webhook(payload, header, STRIPE_SECRET, now=STRIPE_NOW)
    assert raised.value.reason == reason


def test_a_forged_stale_stripe_delivery_learns_only_that_nothing_matched():
    with pytest.raises(WebhookRejected, match="no signature matches"):
        verify_stripe_webhook(STRIPE_PAYLOAD + b" ", STRIPE_HEADER, STRIPE_SECRET, now=STRIPE_NOW + 10_000)


def test_stripe_refuses_to_verify_against_an_empty_secret():
    header = f"t={STRIPE_TIMESTAMP},v1={stripe_v1(STRIPE_PAYLOAD, '', STRIPE_TIMESTAMP)}"
    with pytest.raises(ValueError, match="no Stripe webhook secret") as raised:
        verify_stripe_webhook(STRIPE_PAYLOAD, header, "", now=STRIPE_NOW)
    assert not isinstance(raised.value, WebhookRejected)   # a configuration error, not a bad delivery


def test_the_rejection_message_never_contains_the_secret():
    with pytest.raises(WebhookRejected) as raised:
        verify_stripe_webhook(STRIPE_PAYLOAD + b"x", STRIPE_HEADER, STRIPE_SECRET, now=STRIPE_NOW)
    assert STRIPE_SECRET not in str(raised.value)
