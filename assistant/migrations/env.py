"""Alembic's environment: run the migrations on the connection :mod:`assistant.schema` hands over.

There is no ``alembic.ini`` and no URL here on purpose: the caller owns the connection and the
transaction around it (and the lock that keeps two workers from migrating at once), so the same
code runs from an installed package, from ``partner-assistant db upgrade`` and on start.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run the migrations through `partner-assistant db upgrade` (assistant.schema), "
        "which opens the database from PA_DB_URL"
    )
context.configure(
    connection=connection,
    target_metadata=context.config.attributes.get("target_metadata"),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
