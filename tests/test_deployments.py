"""prefect.yaml is valid, every entrypoint loads, and the schedules are what ops expect."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def deployments():
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(yaml.safe_load((ROOT / "prefect.yaml").read_text()))
    return {d.name: d for d in model.deployments}


SCHEDULED = ["fulfil-orders", "track-shipments", "process-returns", "refresh-metrics"]


def test_one_deployment_per_flow(deployments):
    assert set(deployments) == {*SCHEDULED, "backfill"}
    assert not deployments["backfill"].schedules  # on demand only


@pytest.mark.parametrize("name", [*SCHEDULED, "backfill"])
def test_every_entrypoint_loads_a_flow(deployments, name, monkeypatch):
    from prefect.flows import Flow, load_flow_from_entrypoint

    monkeypatch.chdir(ROOT)
    flow = load_flow_from_entrypoint(deployments[name].entrypoint)
    assert isinstance(flow, Flow)
    assert flow.name == name


def test_runs_never_overlap(deployments):
    for deployment in deployments.values():
        assert deployment.concurrency_limit.limit == 1
        assert deployment.concurrency_limit.collision_strategy == "CANCEL_NEW"
        assert deployment.work_pool.name == "cumplido"


def _interval(deployment) -> timedelta | None:
    schedule = deployment.schedules[0]
    interval = getattr(schedule, "interval", None)
    return interval if isinstance(interval, timedelta) else (timedelta(seconds=interval) if interval else None)


def test_schedules_match_the_operating_rhythm(deployments):
    assert _interval(deployments["fulfil-orders"]) == timedelta(minutes=5)
    assert timedelta(minutes=10) <= _interval(deployments["track-shipments"]) <= timedelta(minutes=15)
    assert _interval(deployments["process-returns"]) == timedelta(minutes=30)
    assert deployments["refresh-metrics"].schedules[0].cron == "0 * * * *"


def test_flow_modules_are_not_named_like_top_level_packages():
    """Prefect puts a flow's folder first on sys.path: flows/domain.py would shadow domain/."""
    top_level = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    for folder in ("flows", "tasks"):
        assert not {p.stem for p in (ROOT / folder).glob("*.py")} & top_level
