"""Frozen snapshots of the record store's tables, one per schema generation, for the migrations.

The ORM classes in :mod:`assistant.records` and :mod:`assistant.registrations` describe the
schema the code uses now; a migration must keep describing the schema *it* made even after those
classes change, so it builds its tables from here. The two generations differ only in how
instants, JSON documents and calendar days are stored:

- revision 1 (``0001``): what ``create_all`` made before migrations existed: instants as ISO 8601
  text (``String(40)``), JSON as ``Text``, days as ``String(10)``;
- revision 2 (``0002``): ``DateTime(timezone=True)`` in UTC, JSON (JSONB on PostgreSQL), ``Date``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.types import TypeEngine

from assistant.db_types import JSON_DOCUMENT, UtcDateTime

Kind = Literal["instant", "document", "day"]


@dataclass(frozen=True)
class Generation:
    instant: TypeEngine | type[TypeEngine]
    document: TypeEngine | type[TypeEngine]
    day: TypeEngine | type[TypeEngine]


TEXT_COLUMNS = Generation(instant=sa.String(40), document=sa.Text(), day=sa.String(10))
TYPED_COLUMNS = Generation(instant=UtcDateTime(), document=JSON_DOCUMENT, day=sa.Date())


@dataclass(frozen=True)
class ChangedColumn:
    table: str
    column: str
    kind: Kind
    nullable: bool


def _indexed(table: sa.Table, columns: list[str]) -> None:
    """Index each of ``columns`` as ``ix_<table>_<column>`` (the names ``index=True`` gave them).
    Declared apart from the columns so that rebuilding a table keeps them."""
    for column in columns:
        sa.Index(f"ix_{table.name}_{column}", table.c[column])


def record_tables(metadata: sa.MetaData, types: Generation) -> sa.MetaData:
    """Every table of the record store, with its indexes, on ``metadata``."""

    def instant(name: str, **kw: object) -> sa.Column:
        return sa.Column(name, types.instant, info={"kind": "instant"}, **kw)  # type: ignore[arg-type]

    def document(name: str) -> sa.Column:
        return sa.Column(name, types.document, nullable=False, info={"kind": "document"})

    def day(name: str, nullable: bool = False) -> sa.Column:
        return sa.Column(name, types.day, nullable=nullable, info={"kind": "day"})

    _indexed(
        sa.Table(
            "conversations",
            metadata,
            sa.Column("id", sa.String(64), primary_key=True),
            document("caller"),
            instant("created", nullable=False),
            sa.Column("role", sa.String(32), nullable=True),
            sa.Column("partner_id", sa.String(100), nullable=True),
            sa.Column("tier", sa.String(40), nullable=True),
            sa.Column("region", sa.String(40), nullable=True),
            sa.Column("language", sa.String(16), nullable=True),
        ),
        ["partner_id", "tier", "region"],
    )
    _indexed(
        sa.Table(
            "messages",
            metadata,
            sa.Column("answer_id", sa.String(64), primary_key=True),
            sa.Column(
                "conversation_id",
                sa.String(64),
                sa.ForeignKey("conversations.id"),
                nullable=True,
            ),
            sa.Column("question", sa.Text(), nullable=False),
            document("answer"),
            instant("created", nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("path", sa.String(16), nullable=True),
        ),
        ["conversation_id", "created"],
    )
    _indexed(
        sa.Table(
            "feedback",
            metadata,
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column(
                "answer_id",
                sa.String(64),
                sa.ForeignKey("messages.answer_id"),
                nullable=False,
            ),
            sa.Column("rating", sa.String(8), nullable=False),
            sa.Column("comment", sa.Text(), nullable=False),
            instant("created", nullable=False),
        ),
        ["answer_id"],
    )
    _indexed(
        sa.Table(
            "handoffs",
            metadata,
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("question", sa.Text(), nullable=False),
            document("caller"),
            document("evidence"),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("answer_id", sa.String(64), nullable=True),
            sa.Column("conversation_id", sa.String(64), nullable=True),
            instant("created", nullable=False),
            sa.Column("reason", sa.String(16), nullable=False),
            sa.Column("comment", sa.Text(), nullable=False),
            sa.Column("partner_id", sa.String(100), nullable=True),
            sa.Column("tier", sa.String(40), nullable=True),
            sa.Column("region", sa.String(40), nullable=True),
            sa.Column("language", sa.String(16), nullable=True),
            sa.Column("assignee", sa.String(100), nullable=True),
            sa.Column("reply", sa.Text(), nullable=True),
            instant("due_at", nullable=True),
            sa.Column("slack_channel", sa.String(64), nullable=True),
            sa.Column("slack_thread_ts", sa.String(64), nullable=True),
        ),
        [
            "status",
            "answer_id",
            "conversation_id",
            "created",
            "partner_id",
            "tier",
            "region",
            "assignee",
        ],
    )
    _indexed(
        sa.Table(
            "handoff_events",
            metadata,
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("handoff_id", sa.String(64), sa.ForeignKey("handoffs.id"), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("actor", sa.String(100), nullable=True),
            instant("at", nullable=False),
            sa.Column("note", sa.Text(), nullable=False),
        ),
        ["handoff_id"],
    )
    _indexed(
        sa.Table(
            "question_vectors",
            metadata,
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("model", sa.String(200), nullable=False),
            sa.Column("vector", sa.LargeBinary(), nullable=False),
            instant("created", nullable=False),
        ),
        [],
    )
    _indexed(
        sa.Table(
            "deal_registrations",
            metadata,
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("partner_id", sa.String(100), nullable=False),
            sa.Column("tier", sa.String(40), nullable=True),
            sa.Column("region", sa.String(40), nullable=True),
            sa.Column("customer_domain", sa.String(253), nullable=True),
            document("deal"),
            document("precheck"),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("conflict", sa.Boolean(), nullable=False),
            instant("submitted_at", nullable=False),
            day("submitted_on"),
            instant("decided_at", nullable=True),
            sa.Column("decided_by", sa.String(100), nullable=True),
            sa.Column("note", sa.Text(), nullable=False),
            day("protected_until", nullable=True),
        ),
        ["partner_id", "customer_domain", "status"],
    )
    _indexed(
        sa.Table(
            "onboarding_profiles",
            metadata,
            sa.Column("partner_id", sa.String(100), primary_key=True),
            sa.Column("tier", sa.String(40), nullable=True),
            day("joined"),
            document("completed_steps"),
            document("completed_courses"),
            instant("updated", nullable=False),
        ),
        [],
    )
    return metadata


def changed_columns() -> list[ChangedColumn]:
    """The columns whose type differs between the generations, in table order."""
    tables = record_tables(sa.MetaData(), TYPED_COLUMNS).sorted_tables
    return [
        ChangedColumn(table.name, column.name, column.info["kind"], bool(column.nullable))
        for table in tables
        for column in table.columns
        if "kind" in column.info
    ]
