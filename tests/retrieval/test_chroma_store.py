"""The embedded Chroma store keeps the ChunkStore contract."""

import pytest

from retrieval.chroma_store import ChromaStore
from tests.helpers import make_settings
from tests.retrieval.chunk_store_contract import ChunkStoreContract


class TestEmbeddedChromaStore(ChunkStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        return ChromaStore(make_settings(tmp_path), "contract-model", 3)
