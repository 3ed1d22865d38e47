"""The record store's database: opening it, and bringing its schema to the code's revision.

Schema changes are Alembic migrations in :mod:`assistant.migrations`, run here on a connection
the caller's engine opens (no ``alembic.ini``; the same code runs from an installed package).
The store upgrades on start when ``settings.db.auto_migrate`` is on (the default) and refuses to
start on an out-of-date database when it is off; ``partner-assistant db upgrade`` and
``db current`` do the same by hand.

Two workers starting at once do not both migrate: the upgrade holds a PostgreSQL advisory lock
(or SQLite's write lock, ``BEGIN IMMEDIATE``) for its whole transaction, and the second finds the
database already at head. On PostgreSQL the whole upgrade is one transaction (DDL included), so a
failed migration leaves the database as it was.

A database made before migrations existed (``create_all``, no ``alembic_version`` table) is
recognised by its tables, completed with any table its version had not made yet, stamped at
revision ``0001`` and upgraded from there, so existing deployments keep their data.

Example::

    engine = engine_for("postgresql+psycopg://app@db/partner")
    upgrade_schema(engine)          # -> "0002"
    schema_revision(engine)         # "0002" == head_revision()
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from assistant.migrations.schemas import TEXT_COLUMNS, record_tables

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # what create_all made before migrations existed
# pg_advisory_xact_lock key: any constant that other applications on the server do not use.
PG_LOCK_KEY = 0x7061_5F73_6368_656D  # "pa_schem"
LEGACY_MARKER = "conversations"  # the first table every pre-migration version created


class SchemaOutOfDate(RuntimeError):
    """The database is not at the revision this code needs, and may not be migrated now."""


def engine_for(url: str) -> Engine:
    """An engine for ``url``: sqlite needs its folder to exist and must be shared across the
    API's worker threads; an in-memory sqlite database must also keep one connection, or each
    one sees no tables."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if not database or database == ":memory:":
        kwargs["poolclass"] = StaticPool
    return sa.create_engine(url, **kwargs)


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The revision this code needs."""
    head = _scripts().get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS}"
    return head


def known_revisions() -> list[str]:
    """Every revision, oldest first."""
    return [script.revision for script in reversed(list(_scripts().walk_revisions()))]


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def schema_revision(engine: Engine) -> str | None:
    """The database's revision: None for an empty database, ``0001`` for one made before
    migrations existed (it has the tables but no ``alembic_version``)."""
    with engine.connect() as connection:
        current = _current(connection)
        if current is None and sa.inspect(connection).has_table(LEGACY_MARKER):
            return BASELINE
        return current


@contextmanager
def _migration_transaction(engine: Engine) -> Iterator[Connection]:
    """One connection in one transaction that no other process migrates through at once."""
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_LOCK_KEY)))
                yield connection
            return
        # pysqlite runs DDL outside transactions unless it is told to leave them to us.
        driver = connection.connection.driver_connection
        saved = driver.isolation_level  # type: ignore[union-attr]
        driver.isolation_level = None  # type: ignore[union-attr]
        try:
            with connection.begin():
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                yield connection
        finally:
            driver.isolation_level = saved  # type: ignore[union-attr]


def upgrade_schema(engine: Engine, revision: str = "head") -> str:
    """Migrate the database to ``revision`` (the code's head by default); return its revision."""
    with _migration_transaction(engine) as connection:
        current = _current(connection)
        if current is not None and current not in known_revisions():
            raise SchemaOutOfDate(
                f"the database is at revision {current}, which this version does not know "
                f"(a newer version migrated it); this version needs {head_revision()}"
            )
        config = _config(connection)
        if current is None and sa.inspect(connection).has_table(LEGACY_MARKER):
            log.info("database made before migrations: stamping it at revision %s", BASELINE)
            record_tables(sa.MetaData(), TEXT_COLUMNS).create_all(connection)  # missing ones
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)
        new = _current(connection)
    log.info("database schema at revision %s", new)
    return new or ""


def downgrade_schema(engine: Engine, revision: str) -> str:
    """Migrate the database back to ``revision`` (to run an older version of the code on it);
    return its revision (``""`` for ``base``: every table dropped)."""
    with _migration_transaction(engine) as connection:
        command.downgrade(_config(connection), revision)
        new = _current(connection)
    log.info("database schema at revision %s", new)
    return new or ""


def prepare_schema(engine: Engine, auto_migrate: bool = True) -> None:
    """Make sure the database is at the code's revision: migrate it, or refuse when
    ``auto_migrate`` is off (``partner-assistant db upgrade`` does it then)."""
    head = head_revision()
    with engine.connect() as connection:
        if _current(connection) == head:
            return
    if auto_migrate:
        upgrade_schema(engine)
        return
    current = schema_revision(engine)
    raise SchemaOutOfDate(
        f"the database is at revision {current or 'none (empty)'} and this version needs "
        f"{head}: run `partner-assistant db upgrade` (or set PA_DB_AUTO_MIGRATE=true)"
    )
