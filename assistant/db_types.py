"""Column types the record store shares with its migrations: instants in UTC and JSON documents.

``UtcDateTime`` is ``DateTime(timezone=True)`` that takes and gives timezone-aware UTC datetimes
on every backend. PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is
stored as naive UTC text (``2026-03-01 09:30:00.000000``) that sorts and compares in time order,
and is read back with ``tzinfo=UTC``. A naive datetime is refused rather than guessed at.

``JSON_DOCUMENT`` is JSON, stored as JSONB on PostgreSQL (validated, indexable) and as JSON text
on SQLite.

Example::

    created: Mapped[datetime] = mapped_column(UtcDateTime())
    caller: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """An instant: aware datetimes in (any offset, converted to UTC), aware UTC datetimes out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"a stored instant must be a timezone-aware datetime, not {value!r}")
        value = value.astimezone(UTC)
        # Only PostgreSQL keeps the zone (timestamptz); elsewhere the column holds naive UTC.
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
