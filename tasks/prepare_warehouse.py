"""Before any stage: the warehouse is reachable, migrated, and knows the world's reference data."""
from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NONE

from tasks.resources import resources
from warehouse.db import check_connection, check_migrated
from warehouse.reference import sync_world


@task(task_run_name="prepare-warehouse", cache_policy=NONE, retries=2, retry_delay_seconds=[2, 10])
def prepare_warehouse(as_of: datetime) -> dict[str, int]:
    res = resources()
    check_connection(res.engine)
    check_migrated(res.engine)
    with res.engine.begin() as conn:
        sync_world(conn, res.world, now=as_of)
    return {"channels": len(res.world.channels), "warehouses": len(res.world.warehouses)}
