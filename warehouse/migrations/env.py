"""Alembic environment: the schema is warehouse.schema.metadata, the connection comes from
warehouse.db.upgrade (or, for the alembic CLI, from CUMPLIDO_DATABASE_URL)."""
from __future__ import annotations

from alembic import context

from warehouse.schema import metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from config.settings import load_settings
    from warehouse.db import make_engine

    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or load_settings().database_url)
    try:
        with engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run against a database")
run_migrations_online()
