"""Webhook signature checks: every vendor's verifier refuses a delivery with WebhookRejected.

Where each verifier lives:

    Shopify      connectors.storefronts.shopify_webhooks   verify_shopify_webhook, parse_shopify_webhook
    Stripe       connectors.payments.stripe_webhooks       verify_stripe_webhook
    WooCommerce  connectors.storefronts.woocommerce        verify_woocommerce_webhook
    Mercado Pago connectors.payments.mercadopago           verify_mercadopago_webhook
    EasyPost     connectors.carriers.easypost              verify_easypost_webhook

Each one checks the signature over the raw request body (never re-serialised JSON) with a
constant-time comparison, before anything in the body is believed. An endpoint answers a
WebhookRejected with 400/401 and logs its reason; the reason never contains the secret.
"""
from __future__ import annotations


class WebhookRejected(ValueError):
    """A delivery we refuse: bad or missing signature, stale timestamp, unreadable body."""

    def __init__(self, reason: str, *, vendor: str = ""):
        super().__init__(f"{vendor} webhook rejected: {reason}" if vendor else f"webhook rejected: {reason}")
        self.reason = reason
        self.vendor = vendor
