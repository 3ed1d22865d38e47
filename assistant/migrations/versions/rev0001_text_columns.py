"""Revision 1: the record store as ``create_all`` made it before migrations existed.

Instants are ISO 8601 text, JSON is text. A database made by that code (no ``alembic_version``
table) is recognised by :func:`assistant.schema.upgrade_schema` and stamped at this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assistant.migrations.schemas import TEXT_COLUMNS, record_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    record_tables(sa.MetaData(), TEXT_COLUMNS).create_all(op.get_bind())


def downgrade() -> None:
    record_tables(sa.MetaData(), TEXT_COLUMNS).drop_all(op.get_bind())
