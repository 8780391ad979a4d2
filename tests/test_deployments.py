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


SCHEDULED = ["fulfil-orders", "notify-storefronts", "track-shipments", "process-returns", "refresh-metrics"]
PARTITIONS = ["fulfil-orders-shopify-main", "fulfil-orders-shopify-outlet"]  # scale-out, docs/scale-out.md
FULFIL = "flows/fulfil_orders.py:fulfil_orders"


def test_one_deployment_per_flow_plus_the_fulfil_orders_partitions(deployments):
    assert set(deployments) == {*SCHEDULED, "backfill", *PARTITIONS}
    assert not deployments["backfill"].schedules  # on demand only
    assert all(deployments[name].entrypoint == FULFIL for name in PARTITIONS)


@pytest.mark.parametrize("name", [*SCHEDULED, "backfill", *PARTITIONS])
def test_every_entrypoint_loads_a_flow(deployments, name, monkeypatch):
    from prefect.flows import Flow, load_flow_from_entrypoint

    monkeypatch.chdir(ROOT)
    flow = load_flow_from_entrypoint(deployments[name].entrypoint)
    assert isinstance(flow, Flow)
    assert flow.name == ("fulfil-orders" if name in PARTITIONS else name)


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
    assert all(_interval(deployments[name]) == timedelta(minutes=5) for name in PARTITIONS)
    assert _interval(deployments["notify-storefronts"]) == timedelta(minutes=1)  # drains what fulfil-orders left
    assert timedelta(minutes=10) <= _interval(deployments["track-shipments"]) <= timedelta(minutes=15)
    assert _interval(deployments["process-returns"]) == timedelta(minutes=30)
    assert deployments["refresh-metrics"].schedules[0].cron == "0 * * * *"


def test_flow_modules_are_not_named_like_top_level_packages():
    """Prefect puts a flow's folder first on sys.path: flows/domain.py would shadow domain/."""
    top_level = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    for folder in ("flows", "tasks"):
        assert not {p.stem for p in (ROOT / folder).glob("*.py")} & top_level


def _partitions(deployments) -> dict:
    return {name: d for name, d in deployments.items() if d.entrypoint == FULFIL and d.parameters}


def test_every_channel_is_fulfilled_by_exactly_one_partition(deployments, world):
    from collections import Counter

    covered = Counter(c for d in _partitions(deployments).values() for c in d.parameters["channels"])
    assert covered == Counter(c.id for c in world.channels)
    # partitions by channel cover every warehouse: they pull and reserve (domain.partitions)
    assert all(d.parameters.get("warehouses") is None for d in _partitions(deployments).values())


def test_partition_parameters_are_flow_parameters_naming_known_channels_and_warehouses(deployments, world):
    import inspect

    from domain.partitions import Partition
    from flows.fulfil_orders import fulfil_orders

    accepted = set(inspect.signature(fulfil_orders.fn).parameters)
    for name, d in _partitions(deployments).items():
        assert set(d.parameters) <= accepted, name
        partition = Partition.of(d.parameters.get("channels"), d.parameters.get("warehouses"))
        assert not partition.unknown(channels=[c.id for c in world.channels],
                                     warehouses=[w.id for w in world.warehouses]), name


def test_one_fulfil_orders_topology_is_scheduled(deployments):
    """The whole-shop run or the partitions (prefect.yaml `topology`): both at once is safe, but
    every order would be pulled and looked at twice."""
    whole = deployments["fulfil-orders"].schedules[0].active
    partitioned = {deployments[name].schedules[0].active for name in PARTITIONS}
    assert partitioned in ({True}, {False})
    assert whole is not partitioned.pop()


def test_notify_storefronts_takes_the_floor_partition_of_fulfil_orders():
    """Its runs can be partitioned like fulfil-orders' floor, and hold the same cells."""
    import inspect

    from flows.fulfil_orders import fulfil_orders
    from flows.notify_storefronts import notify_storefronts

    assert set(inspect.signature(notify_storefronts.fn).parameters) == set(inspect.signature(fulfil_orders.fn).parameters)
