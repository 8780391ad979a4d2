"""One Settings object, read from CUMPLIDO_* environment variables and validated at start."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WORLD = Path(__file__).with_name("world.yaml")
SANDBOX_SUFFIX = "sandbox"  # every simulator key above contains it


class SettingsError(ValueError):
    """A setting is wrong; the message says which one and how to fix it."""


class Settings(BaseSettings):
    """Everything configurable, with defaults that run the offline demo."""

    model_config = SettingsConfigDict(env_prefix="CUMPLIDO_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///var/cumplido.db"
    world_file: Path = DEFAULT_WORLD

    # Credentials per vendor: the fallback when a world entry names none of its own. The
    # defaults are the local simulators' keys, refused in production.
    shopify_access_token: SecretStr = SecretStr("shpat_sandbox")
    shopify_api_version: str = "2025-10"
    woocommerce_consumer_key: SecretStr = SecretStr("ck_sandbox")
    woocommerce_consumer_secret: SecretStr = SecretStr("cs_sandbox")
    tiendanube_access_token: SecretStr = SecretStr("tn_sandbox")
    tiendanube_user_agent: str = "Cumplido (ops@example.com)"
    stripe_api_key: SecretStr = SecretStr("sk_test_sandbox")
    paypal_client_id: SecretStr = SecretStr("paypal_sandbox_client")
    paypal_client_secret: SecretStr = SecretStr("paypal_sandbox_secret")
    mercadopago_access_token: SecretStr = SecretStr("TEST-sandbox")
    shipengine_api_key: SecretStr = SecretStr("TEST_sandbox")
    easypost_api_key: SecretStr = SecretStr("EZTK_sandbox")
    shippo_api_token: SecretStr = SecretStr("shippo_test_sandbox")

    # Set by `cumplido demo` / `cumplido sandbox serve`: where the local simulators listen.
    sandbox_shopify_url: str | None = None
    sandbox_woocommerce_url: str | None = None
    sandbox_tiendanube_url: str | None = None
    sandbox_stripe_url: str | None = None
    sandbox_paypal_url: str | None = None
    sandbox_mercadopago_url: str | None = None
    sandbox_shipengine_url: str | None = None
    sandbox_easypost_url: str | None = None
    sandbox_shippo_url: str | None = None

    http_timeout_seconds: float = Field(20.0, gt=0)
    http_max_retries: int = Field(4, ge=0, le=10)
    pull_overlap_minutes: int = Field(10, ge=0, description="re-read this much before the cursor")
    reservation_ttl_hours: int = Field(48, gt=0)
    batch_size: int = Field(5000, gt=0)
    initial_lookback_days: int = Field(30, gt=0, description="first pull of a channel reads this far back")
    # Telling the stores is paced by their API budgets, not by us: fulfil-orders pushes for a
    # few seconds and notify-storefronts drains what is left (README, Architecture).
    push_budget_seconds: float = Field(
        10.0, ge=0, description="fulfil-orders starts no store push slice after this (but one per store as booking ends)")
    push_drain_budget_seconds: float = Field(240.0, ge=0, description="notify-storefronts stops draining after this")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg2:")):
            raise ValueError(
                f"unsupported database URL {url.split(':', 1)[0]!r}: use sqlite:///path/to/file.db "
                "or postgresql://user@host:5432/dbname"
            )
        return url

    @field_validator("world_file")
    @classmethod
    def _world_exists(cls, path: Path) -> Path:
        if not path.is_file():
            raise ValueError(f"world file {path} does not exist: point CUMPLIDO_WORLD_FILE at a YAML file")
        return path

    def credential(self, vendor: str, name: str) -> str:
        """CUMPLIDO_<VENDOR>_<NAME>; in production a simulator key is refused, since it can
        only mean the real credential was never set."""
        value = getattr(self, f"{vendor}_{name}")
        value = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if self.environment == "production" and (not value or SANDBOX_SUFFIX in value.lower()):
            raise SettingsError(f"CUMPLIDO_{vendor.upper()}_{name.upper()} is a placeholder: set the real "
                                f"credential, or reference one in the world file (env:VAR or prefect-secret:NAME)")
        return value

    def sandbox_url(self, kind: str) -> str | None:
        return getattr(self, f"sandbox_{kind}_url", None)


def load_settings(**overrides) -> Settings:
    """Read and validate settings, turning pydantic's report into one readable SettingsError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [
            f"  CUMPLIDO_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise SettingsError("invalid Cumplido settings:\n" + "\n".join(lines)) from None
