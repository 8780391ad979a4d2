"""`cumplido channels check`: every configured system reached with its credentials, and what is wrong said plainly."""
from __future__ import annotations

from datetime import datetime

import pytest

from config.settings import DEFAULT_WORLD
from config.world import load_world
from connectors.sandbox.world import running_sandbox
from flows.cli import main
from tasks.resources import reset_resources


@pytest.fixture
def simulators(monkeypatch):
    with running_sandbox(load_world(DEFAULT_WORLD), start=datetime(2026, 11, 2)) as sandbox:
        for key, value in sandbox.env.items():
            monkeypatch.setenv(key, value)
        reset_resources()
        yield sandbox
    reset_resources()


def test_every_channel_gateway_and_carrier_answers(simulators, capsys):
    assert main(["channels", "check"]) == 0
    out = capsys.readouterr().out
    assert out.count("  ok  ") == 4 and "FAIL" not in out


def test_a_wrong_key_is_reported_and_the_other_checks_still_run(simulators, capsys, monkeypatch):
    monkeypatch.setenv("CUMPLIDO_STRIPE_API_KEY", "sk_test_wrong")
    reset_resources()
    assert main(["channels", "check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    failed = [line for line in lines if "FAIL" in line]
    assert len(failed) == 1 and "payments" in failed[0] and "401" in failed[0]
    assert "sk_test_wrong" not in failed[0]
    assert sum("  ok  " in line for line in lines) == 3


def test_a_channel_without_api_base_or_simulator_says_how_to_fix_it(capsys, monkeypatch):
    for kind in ("SHOPIFY", "STRIPE", "SHIPENGINE"):
        monkeypatch.delenv(f"CUMPLIDO_SANDBOX_{kind}_URL", raising=False)
    reset_resources()
    assert main(["channels", "check"]) == 1
    out = capsys.readouterr().out
    assert "no api_base in the world file" in out and "cumplido sandbox serve" in out
    reset_resources()
