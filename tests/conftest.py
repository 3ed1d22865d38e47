"""Shared fixtures: the real packaged embedding model (loaded once), real Chroma stores in temp
folders, and the sample corpus ingested once per session."""

from __future__ import annotations

import os

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
