"""Revision 2: instants as ``DateTime(timezone=True)`` in UTC, JSON as JSON (JSONB on PostgreSQL),
calendar days as ``Date``; the rows already stored are converted.

PostgreSQL converts in place, one ``ALTER TABLE … ALTER COLUMN … TYPE … USING`` per table inside
the migration's transaction; text without a UTC offset is read as UTC (the code only ever wrote
``datetime.now(UTC).isoformat()``). Other backends (SQLite) cannot change a column's type: each
value is first rewritten in the new type's storage form, then the table is rebuilt from the
revision-2 definition (Alembic's batch mode, rows copied as they are, no casts). A value that
does not parse stops the migration, naming its table, column and row, and nothing is changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

from assistant.db_types import UtcDateTime
from assistant.migrations.schemas import (
    TEXT_COLUMNS,
    TYPED_COLUMNS,
    ChangedColumn,
    Generation,
    Kind,
    changed_columns,
    record_tables,
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# PostgreSQL: (new type, conversion) for each kind of column, both ways.
TO_TYPED: dict[Kind, tuple[str, str]] = {
    "instant": ("timestamptz", "NULLIF({c}, '')::timestamptz"),
    "document": ("jsonb", "{c}::jsonb"),
    "day": ("date", "NULLIF({c}, '')::date"),
}
TO_TEXT: dict[Kind, tuple[str, str]] = {
    "instant": ("varchar(40)", "to_json({c}) #>> '{{}}'"),  # ISO 8601 with +00:00
    "document": ("text", "{c}::text"),
    "day": ("varchar(10)", "to_char({c}, 'YYYY-MM-DD')"),
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _alter_postgresql(TO_TYPED)
        return
    keys = _primary_keys()
    for column in changed_columns():
        _rewrite_to_typed(bind, column, keys[column.table])
    _rebuild_tables(TYPED_COLUMNS)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _alter_postgresql(TO_TEXT)
        return
    keys = _primary_keys()
    for column in changed_columns():
        if column.kind == "instant":
            _rewrite_to_text(bind, column, keys[column.table])
    _rebuild_tables(TEXT_COLUMNS)


def _alter_postgresql(conversions: dict[Kind, tuple[str, str]]) -> None:
    op.execute("SET LOCAL TIME ZONE 'UTC'")
    by_table: dict[str, list[str]] = {}
    for column in changed_columns():
        new_type, using = conversions[column.kind]
        quoted = f'"{column.column}"'
        by_table.setdefault(column.table, []).append(
            f"ALTER COLUMN {quoted} TYPE {new_type} USING {using.format(c=quoted)}"
        )
    for table, changes in by_table.items():
        op.execute(f'ALTER TABLE "{table}" ' + ", ".join(changes))


def _primary_keys() -> dict[str, str]:
    return {
        table.name: table.primary_key.columns[0].name
        for table in record_tables(sa.MetaData(), TEXT_COLUMNS).sorted_tables
    }


def _parse_instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


PARSERS: dict[Kind, tuple[Callable[[str], Any], sa.types.TypeEngine[Any] | None]] = {
    "instant": (_parse_instant, UtcDateTime()),
    "day": (date.fromisoformat, sa.Date()),
    "document": (json.loads, None),  # JSON text stays as it is; it is only checked
}


def _rewrite_to_typed(bind: Connection, column: ChangedColumn, key: str) -> None:
    """Parse each stored text value and write it back in the new type's storage form."""
    raw = sa.table(column.table, sa.column(key), sa.column(column.column))
    parse, new_type = PARSERS[column.kind]
    updates = []
    for row_key, value in bind.execute(sa.select(raw.c[key], raw.c[column.column])).all():
        if value is None or value == "":
            if not column.nullable:
                raise ValueError(f"{column.table}.{column.column} of row {row_key!r} is empty")
            if value == "":
                updates.append({"_key": row_key, "_value": None})
            continue
        try:
            parsed = parse(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{column.table}.{column.column} of row {row_key!r} is not a valid "
                f"{column.kind} ({value!r}: {exc}); correct or clear it and upgrade again"
            ) from exc
        if new_type is not None:
            updates.append({"_key": row_key, "_value": parsed})
    if updates and new_type is not None:
        bind.execute(
            sa.update(raw)
            .where(raw.c[key] == sa.bindparam("_key"))
            .values({column.column: sa.bindparam("_value", type_=new_type)}),
            updates,
        )


def _rewrite_to_text(bind: Connection, column: ChangedColumn, key: str) -> None:
    """Write each instant back as ISO 8601 text with its UTC offset, as revision 1 kept it."""
    typed = sa.table(column.table, sa.column(key), sa.column(column.column, UtcDateTime()))
    updates = [
        {"_key": row_key, "_value": value.isoformat()}
        for row_key, value in bind.execute(sa.select(typed.c[key], typed.c[column.column]))
        if value is not None
    ]
    if updates:
        bind.execute(
            sa.update(typed)
            .where(typed.c[key] == sa.bindparam("_key"))
            .values({column.column: sa.bindparam("_value", type_=sa.String())}),
            updates,
        )


def _rebuild_tables(types: Generation) -> None:
    """Recreate every table with the column types of ``types``, copying its rows unchanged."""
    for table in record_tables(sa.MetaData(), types).sorted_tables:
        with op.batch_alter_table(table.name, recreate="always", copy_from=table):
            pass
