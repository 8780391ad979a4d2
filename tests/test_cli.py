"""The `cumplido` command: help everywhere, and a clear one-line error instead of a traceback."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from warehouse.db import head_revision

SUBCOMMANDS = [[], ["demo"], ["db"], ["run"], ["backfill"], ["sandbox"], ["channels"]]


def cumplido(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=120)


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=lambda w: " ".join(w) or "cumplido")
def test_every_command_has_help(words):
    result = cumplido(*words, "--help")
    assert result.returncode == 0
    assert "usage: cumplido" in result.stdout
    assert len(result.stdout.splitlines()) > 3


def test_a_wrong_database_url_says_what_to_use():
    result = cumplido("db", "current", env={"CUMPLIDO_DATABASE_URL": "mysql://root@localhost/shop"})
    assert result.returncode == 2
    assert "CUMPLIDO_DATABASE_URL" in result.stderr and "postgresql://" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_says_what_to_check():
    result = cumplido("db", "upgrade", env={"CUMPLIDO_DATABASE_URL": "postgresql://cumplido:secret@127.0.0.1:9/nowhere"})
    assert result.returncode == 2
    assert "127.0.0.1:9" in result.stderr and "CUMPLIDO_DATABASE_URL" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_an_unmigrated_warehouse_asks_for_db_upgrade(tmp_path):
    result = cumplido("run", "refresh-metrics", env={
        "CUMPLIDO_DATABASE_URL": f"sqlite:///{tmp_path}/empty.db", "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_LOGGING_LEVEL": "CRITICAL", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    assert result.returncode != 0
    assert "cumplido db upgrade" in result.stderr
    assert "Traceback" not in result.stderr.split("cumplido:")[-1]


def test_db_upgrade_then_current_reports_the_revision(tmp_path):
    env = {"CUMPLIDO_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    assert cumplido("db", "upgrade", env=env).returncode == 0
    result = cumplido("db", "current", env=env)
    assert result.returncode == 0 and f"revision {head_revision()}" in result.stdout


def test_run_offers_the_storefront_drain_and_says_what_bounds_each_push():
    result = cumplido("run", "--help")
    assert result.returncode == 0 and "notify-storefronts" in result.stdout
    assert "CUMPLIDO_PUSH_BUDGET_SECONDS" in result.stdout and "CUMPLIDO_PUSH_DRAIN_BUDGET_SECONDS" in result.stdout


def test_a_local_prefect_server_that_does_not_start_says_what_to_do(monkeypatch, capsys):
    from flows import cli

    def slow_server(args):
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")

    monkeypatch.setattr(cli, "cmd_db", slow_server)
    monkeypatch.delenv(cli.EPHEMERAL_STARTUP, raising=False)
    assert cli.main(["db", "current"]) == 2
    err = capsys.readouterr().err
    assert "did not start within 120 s" in err and "PREFECT_API_URL" in err and cli.EPHEMERAL_STARTUP in err
