"""One Settings object, read from CUMPLIDO_* environment variables and validated at start."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WORLD = Path(__file__).with_name("world.yaml")
PLACEHOLDER_SECRETS = {"", "changeme", "sandbox", "sk_test_sandbox", "shpat_sandbox", "TEST_sandbox"}


class SettingsError(ValueError):
    """A setting is wrong; the message says which one and how to fix it."""


class Settings(BaseSettings):
    """Everything configurable, with defaults that run the offline demo."""

    model_config = SettingsConfigDict(env_prefix="CUMPLIDO_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///var/cumplido.db"
    world_file: Path = DEFAULT_WORLD

    # Outside systems. Base URLs point at the vendor in production and at the sandbox otherwise.
    shopify_api_version: str = "2025-10"
    shopify_access_token: SecretStr = SecretStr("shpat_sandbox")
    stripe_api_base: str = "https://api.stripe.com"
    stripe_api_key: SecretStr = SecretStr("sk_test_sandbox")
    shipengine_api_base: str = "https://api.shipengine.com"
    shipengine_api_key: SecretStr = SecretStr("TEST_sandbox")

    # Set by `cumplido demo` / `cumplido sandbox serve`: where the local simulators listen.
    sandbox_shopify_url: str | None = None
    sandbox_stripe_url: str | None = None
    sandbox_shipengine_url: str | None = None

    http_timeout_seconds: float = Field(20.0, gt=0)
    http_max_retries: int = Field(4, ge=0, le=10)
    pull_overlap_minutes: int = Field(10, ge=0, description="re-read this much before the cursor")
    reservation_ttl_hours: int = Field(48, gt=0)
    batch_size: int = Field(5000, gt=0)
    initial_lookback_days: int = Field(30, gt=0, description="first pull of a channel reads this far back")

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

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> "Settings":
        if self.environment != "production":
            return self
        for name in ("shopify_access_token", "stripe_api_key", "shipengine_api_key"):
            if getattr(self, name).get_secret_value() in PLACEHOLDER_SECRETS:
                raise ValueError(f"CUMPLIDO_{name.upper()} is a placeholder; set the real credential")
        return self


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
