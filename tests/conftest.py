"""Shared fixtures: the real packaged embedding model (loaded once), real Chroma stores in temp
folders, the sample corpus ingested once per session, and a record-store database on each
backend (sqlite and PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from assistant.settings import Settings  # noqa: E402
from tests.helpers import DATA, CountingEmbedder, make_settings  # noqa: E402


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embedder import load_embedder

    return load_embedder()  # the default: int8 MiniLM on onnxruntime


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def kb_factory(embedder):
    from retrieval.knowledge_base import KnowledgeBase

    def factory(settings: Settings, counting: bool = False):
        return KnowledgeBase(settings, CountingEmbedder(embedder) if counting else embedder)

    return factory


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def sample_kb(sample_settings, embedder):
    """The sample corpus in data/, ingested once for the whole session."""
    from retrieval.knowledge_base import KnowledgeBase

    kb = KnowledgeBase(sample_settings, embedder)
    summary = kb.ingest([DATA], sync=True)
    assert not summary.files_failed, summary.files_failed
    return kb


PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """An empty record-store database: a sqlite file in ``tmp_path``, or a uniquely named
    database on the local PostgreSQL server, dropped afterwards. PostgreSQL is skipped only when
    the server cannot be reached (and then fails instead with PA_TEST_POSTGRES=required, as CI
    sets it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'app.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        connection = admin.connect()
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("PA_TEST_POSTGRES") == "required":
            pytest.fail(f"PostgreSQL is required but unreachable on 127.0.0.1:5432: {exc.orig}")
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc.orig}")
    name = f"pa_test_{uuid.uuid4().hex[:12]}"
    with connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
