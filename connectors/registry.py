"""Pick each outside system's implementation from the world file and settings: one table per
kind of system. Adding a vendor is one row here plus its connector module."""
from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from config.secrets import resolve_secret
from config.settings import Settings, SettingsError
from config.world import Channel, Vendor, World
from connectors.protocols import Carrier, PaymentGateway, QuoteMemory, Storefront


class Implementation(NamedTuple):
    module: str
    cls: str
    credentials: tuple[str, ...]   # keyword arguments of the constructor, read per vendor
    options: tuple[str, ...] = ()  # optional keyword arguments it takes (others' are not passed)


STOREFRONTS = {
    "shopify": Implementation("connectors.storefronts.shopify", "ShopifyStorefront", ("access_token",)),
    "woocommerce": Implementation("connectors.storefronts.woocommerce", "WooCommerceStorefront",
                                  ("consumer_key", "consumer_secret")),
    "tiendanube": Implementation("connectors.storefronts.tiendanube", "TiendanubeStorefront",
                                 ("access_token", "user_agent")),
}
GATEWAYS = {
    "stripe": Implementation("connectors.payments.stripe", "StripeGateway", ("api_key",)),
    "paypal": Implementation("connectors.payments.paypal", "PayPalGateway", ("client_id", "client_secret")),
    "mercadopago": Implementation("connectors.payments.mercadopago", "MercadoPagoGateway", ("access_token",)),
}
CARRIERS = {
    "shipengine": Implementation("connectors.carriers.shipengine", "ShipEngineCarrier", ("api_key",),
                                 ("quote_memory",)),
    "easypost": Implementation("connectors.carriers.easypost", "EasyPostCarrier", ("api_key",)),
    "shippo": Implementation("connectors.carriers.shippo", "ShippoCarrier", ("api_token",)),
}


def _api_base(entry: Channel | Vendor, settings: Settings, what: str, suffix: str = "") -> str:
    if entry.api_base:
        return entry.api_base
    if sandbox := settings.sandbox_url(entry.kind):
        return f"{sandbox.rstrip('/')}{suffix}"
    raise SettingsError(
        f"{what} has no api_base in the world file and no {entry.kind} simulator is running: set api_base "
        "(the vendor's URL) or start the simulators with `cumplido sandbox serve`"
    )


def _credentials(entry: Channel | Vendor, impl: Implementation, settings: Settings, what: str) -> dict[str, str]:
    """Each credential from the entry's own reference, else from CUMPLIDO_<VENDOR>_<NAME>."""
    return {name: resolve_secret(entry.credentials[name], what=f"{what} {name}") if name in entry.credentials
            else settings.credential(entry.kind, name) for name in impl.credentials}


def _build(table: dict[str, Implementation], entry: Channel | Vendor, settings: Settings, what: str,
           options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    impl = table.get(entry.kind)
    if impl is None:
        raise SettingsError(f"{what}: unknown kind {entry.kind!r}; known: {', '.join(sorted(table))}")
    cls = getattr(importlib.import_module(impl.module), impl.cls)
    kwargs.update({name: value for name, value in (options or {}).items() if name in impl.options})
    return cls(**kwargs, **_credentials(entry, impl, settings, what),
               timeout=settings.http_timeout_seconds, max_retries=settings.http_max_retries)


def storefront_for(channel: Channel, settings: Settings) -> Storefront:
    what = f"channel {channel.id}"
    extra = {"api_version": settings.shopify_api_version} if channel.kind == "shopify" else {}
    return _build(STOREFRONTS, channel, settings, what, channel=channel.id,
                  api_base=_api_base(channel, settings, what, f"/{channel.shop_domain}"), **extra)


def payment_gateway(world: World, settings: Settings) -> PaymentGateway:
    gateway = world.payment_gateway
    return _build(GATEWAYS, gateway, settings, "the payment gateway",
                  api_base=_api_base(gateway, settings, "the payment gateway"))


def carrier(world: World, settings: Settings, quote_memory: QuoteMemory | None = None) -> Carrier:
    """The carrier account's connector; one that quotes by lane keeps its quotes in quote_memory."""
    account = world.carrier_account
    return _build(CARRIERS, account, settings, "the carrier account", {"quote_memory": quote_memory},
                  carriers=world.carriers,
                  api_base=_api_base(account, settings, "the carrier account"))
