"""Settings and the world file are validated at start, with messages that say what to fix."""
from __future__ import annotations

import pytest
import yaml

from config.settings import DEFAULT_WORLD, SettingsError, load_settings
from config.world import WorldError, load_world


def test_defaults_run_the_offline_demo(monkeypatch):
    monkeypatch.delenv("CUMPLIDO_DATABASE_URL", raising=False)
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.environment == "development"


def test_a_negative_timeout_is_refused_with_the_variable_name(monkeypatch):
    monkeypatch.setenv("CUMPLIDO_HTTP_TIMEOUT_SECONDS", "-1")
    with pytest.raises(SettingsError, match="CUMPLIDO_HTTP_TIMEOUT_SECONDS"):
        load_settings()


def test_production_refuses_placeholder_credentials(monkeypatch):
    monkeypatch.setenv("CUMPLIDO_ENVIRONMENT", "production")
    settings = load_settings()
    with pytest.raises(SettingsError, match="CUMPLIDO_STRIPE_API_KEY is a placeholder"):
        settings.credential("stripe", "api_key")
    monkeypatch.setenv("CUMPLIDO_STRIPE_API_KEY", "sk_live_51Hxyz")
    assert load_settings().credential("stripe", "api_key") == "sk_live_51Hxyz"


def test_credentials_can_be_referenced_from_the_environment(monkeypatch):
    from config.secrets import resolve_secret

    monkeypatch.setenv("SHOP_MAIN_TOKEN", "shpat_real")
    assert resolve_secret("env:SHOP_MAIN_TOKEN", what="channel main access_token") == "shpat_real"
    with pytest.raises(SettingsError, match="MISSING_VAR is not set"):
        resolve_secret("env:MISSING_VAR", what="channel main access_token")
    with pytest.raises(SettingsError, match="not a credential reference"):
        resolve_secret("shpat_inline", what="channel main access_token")


def test_a_missing_world_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("CUMPLIDO_WORLD_FILE", str(tmp_path / "nope.yaml"))
    with pytest.raises(SettingsError, match="nope.yaml"):
        load_settings()


def test_the_default_world_has_what_the_pipeline_needs():
    world = load_world(DEFAULT_WORLD)
    assert len(world.warehouses) >= 2 and all(w.cutoffs and w.bins for w in world.warehouses)
    assert len(world.carriers) >= 2 and all(len(c.services) >= 2 for c in world.carriers)
    assert {"standard", "express"} <= set(world.sla)
    assert world.waves.max_orders > 0 and world.waves.max_lines > 0


def test_a_malformed_world_names_the_field(tmp_path):
    raw = yaml.safe_load(DEFAULT_WORLD.read_text())
    raw["waves"]["max_orders"] = 0
    raw["default_service"] = "pigeon_post"
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(WorldError, match="waves.max_orders"):
        load_world(path)
