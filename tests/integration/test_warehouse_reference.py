"""sync_world writes only what differs from the world file, so every run can afford it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from warehouse.reference import sync_world
from warehouse.schema import locations, warehouses

NOW = datetime(2026, 11, 2, 6, 0)


def test_sync_world_writes_once_then_only_changes(engine, world):
    with engine.begin() as conn:
        first = sync_world(conn, world, now=NOW)
    with engine.begin() as conn:
        again = sync_world(conn, world, now=NOW)
    assert first >= len(world.warehouses) + sum(len(w.bins) for w in world.warehouses)
    assert again == 0

    renamed = world.model_copy(update={"warehouses": (world.warehouses[0].model_copy(update={"name": "Renamed"}),
                                                      *world.warehouses[1:])})
    with engine.begin() as conn:
        assert sync_world(conn, renamed, now=NOW) == 1
        names = dict(conn.execute(select(warehouses.c.warehouse_id, warehouses.c.name)).all())
        bins = conn.execute(select(locations.c.location_id)).all()
    assert names[world.warehouses[0].id] == "Renamed"
    assert len(bins) == sum(len(w.bins) for w in world.warehouses)


def test_an_unchanged_world_is_not_compared_again_but_a_changed_one_is(engine, world):
    with engine.begin() as conn:
        sync_world(conn, world, now=NOW)
        conn.execute(update(locations).where(locations.c.location_id == world.warehouses[0].bins[0].location_id)
                     .values(aisle=99))
        assert sync_world(conn, world, now=NOW) == 0          # same world file: one read, nothing compared
        moved = world.model_copy(update={"channels": world.channels[:1]})
        assert sync_world(conn, moved, now=NOW) == 1           # another world: every row compared again
        assert conn.execute(select(locations.c.aisle).where(
            locations.c.location_id == world.warehouses[0].bins[0].location_id)).scalar() != 99
