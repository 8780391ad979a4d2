"""Engines, connection checks and migrations for the warehouse database.

Nothing here runs at import time: callers build an engine from the URL in their settings.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from warehouse.schema import SCHEMA_REVISION

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_SECONDS = 30
MIGRATION_LOCK = 0x43554D504C  # 'CUMPL': an advisory lock key of our own


class WarehouseUnavailable(RuntimeError):
    """The warehouse database cannot be reached; the message says what to check."""


def make_engine(url: str | URL) -> Engine:
    """An engine tuned for the backend: SQLite serialises writers, PostgreSQL pings its pool."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg2")
    # insertmanyvalues batches INSERT … RETURNING into multi-row statements on psycopg2.
    return create_engine(url, pool_pre_ping=True, use_insertmanyvalues=True)


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # Take transaction control away from pysqlite so the "begin" hook below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")          # readers never block the writer
        cursor.execute("PRAGMA synchronous=NORMAL")        # safe with WAL, much faster commits
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection) -> None:
        # A deferred transaction that reads and then writes can fail on lock upgrade
        # ("database is locked") without waiting; taking the write lock up front makes
        # concurrent writers queue on busy_timeout instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def describe(engine: Engine) -> str:
    """Where the engine points, without credentials: 'PostgreSQL at host:5432/db'."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"SQLite at {url.database or ':memory:'}"
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def check_connection(engine: Engine) -> None:
    """Run a trivial query; raise WarehouseUnavailable with what is wrong and what to do."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        raise WarehouseUnavailable(_explain(engine, exc)) from None


def _explain(engine: Engine, exc: DBAPIError) -> str:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    password = engine.url.password
    if password:
        reason = reason.replace(str(password), "***")
    if engine.url.get_backend_name() == "sqlite":
        hint = "is the folder writable and the file a SQLite database?"
    elif "refused" in reason or "could not connect" in reason or "timeout" in reason:
        hint = "is the server running?"
    elif "password" in reason or "authentication" in reason or "role" in reason:
        hint = "are the user and password right?"
    elif "database" in reason and "does not exist" in reason:
        hint = "create the database first (createdb)."
    else:
        hint = "is the URL right?"
    return f"cannot connect to {describe(engine)}: {reason} — {hint} check CUMPLIDO_DATABASE_URL"


def _alembic_config(connection):
    from alembic.config import Config  # imported lazily: only migrations need Alembic

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Create or upgrade the warehouse schema to `revision` (idempotent)."""
    from alembic import command

    engine = make_engine(url)
    check_connection(engine)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Workers starting together queue here; the later ones then find nothing to do.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            command.upgrade(_alembic_config(conn), revision)
    finally:
        engine.dispose()


def current_revision(url: str | URL) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    engine = make_engine(url)
    check_connection(engine)
    try:
        return _revision_of(engine)
    finally:
        engine.dispose()


def _revision_of(engine: Engine) -> str | None:
    """alembic_version read with plain SQL: every flow run checks it, and importing alembic's
    runtime for that took 0.2 s of each run."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def check_migrated(engine: Engine) -> None:
    """Raise WarehouseUnavailable unless the schema is at the revision this code expects."""
    found, expected = _revision_of(engine), SCHEMA_REVISION
    if found != expected:
        state = "has no Cumplido schema" if found is None else f"is at schema revision {found}"
        raise WarehouseUnavailable(
            f"{describe(engine)} {state}, this code needs {expected}: run `cumplido db upgrade` "
            "(warehouse.db.upgrade) against CUMPLIDO_DATABASE_URL")


def head_revision() -> str:
    """The newest revision shipped with this package, as alembic reads the migrations
    (warehouse.schema.SCHEMA_REVISION names it too; a test keeps the two equal)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def refresh_statistics(engine: Engine, written: dict[str, int]) -> list[str]:
    """PostgreSQL: ANALYZE now each table of `written` (table -> rows just inserted or
    updated) that changed by more than autovacuum's own threshold (50 rows + 10 % of the rows
    its statistics counted); returns their names.

    A fulfilment run grows reservations and moves orders many times over within minutes,
    faster than autovacuum looks (and some servers run without it): the next stage's planner
    would take a 300,000-row table for an empty one and scan it whole per chunk. SQLite plans
    these reads by index without statistics; there it does nothing."""
    if engine.dialect.name != "postgresql" or not written:
        return []
    counted = text("SELECT relname, GREATEST(reltuples, 0) FROM pg_class "
                   "WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) "
                   "AND relname = ANY(:names)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        known = dict(conn.execute(counted, {"names": sorted(written)}).all())
        stale = [name for name in sorted(known) if written[name] > 50 + 0.1 * known[name]]
        if stale:
            conn.execute(text("ANALYZE " + ", ".join(f'"{name}"' for name in stale)))
    return stale
