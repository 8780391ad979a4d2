"""Pick each outside system's implementation from settings and the world (one mapping)."""
from __future__ import annotations

from config.settings import Settings, SettingsError
from config.world import Channel, World
from connectors.protocols import Carrier, PaymentGateway, Storefront


def _base(configured: str | None, sandbox: str | None, what: str, suffix: str = "") -> str:
    if configured:
        return configured
    if sandbox:
        return f"{sandbox.rstrip('/')}{suffix}"
    raise SettingsError(
        f"{what} has no api_base in the world file and no sandbox is running: set api_base "
        "(the vendor's URL) or start the simulators with `cumplido sandbox serve`"
    )


def storefront_for(channel: Channel, settings: Settings) -> Storefront:
    from connectors.storefronts.shopify import ShopifyStorefront

    api_base = _base(channel.api_base, settings.sandbox_shopify_url, f"channel {channel.id}",
                     f"/{channel.shop_domain}")
    return ShopifyStorefront(
        channel=channel.id, api_base=api_base,
        access_token=settings.shopify_access_token.get_secret_value(),
        api_version=settings.shopify_api_version,
        timeout=settings.http_timeout_seconds, max_retries=settings.http_max_retries,
    )


def payment_gateway(world: World, settings: Settings) -> PaymentGateway:
    from connectors.payments.stripe import StripeGateway

    api_base = _base(world.payment_gateway.api_base, settings.sandbox_stripe_url, "the payment gateway")
    return StripeGateway(
        api_base=api_base, api_key=settings.stripe_api_key.get_secret_value(),
        timeout=settings.http_timeout_seconds, max_retries=settings.http_max_retries,
    )


def carrier(world: World, settings: Settings) -> Carrier:
    from connectors.carriers.shipengine import ShipEngineCarrier

    api_base = _base(world.carrier_account.api_base, settings.sandbox_shipengine_url, "the carrier account")
    return ShipEngineCarrier(
        api_base=api_base, api_key=settings.shipengine_api_key.get_secret_value(),
        carriers=world.carriers, timeout=settings.http_timeout_seconds, max_retries=settings.http_max_retries,
    )
