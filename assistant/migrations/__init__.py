"""Alembic migrations of the record store, run through :mod:`assistant.schema` (no alembic.ini).

``env.py`` runs them on the connection it is handed; ``versions/`` holds one file per revision and
``schemas.py`` the frozen table definitions they build from. To add a revision, copy the newest
one, give it the next number as ``revision`` and the previous one as ``down_revision``, and test
it in ``tests/assistant/test_schema_migrations.py``.
"""
