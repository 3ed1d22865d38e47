"""The contract every ``ChunkStore`` keeps (ingestion writes through it; retrieval reads it).

In the style of haystack's ``testing/document_store.py``: a test class that needs a ``store``
fixture (an empty store built with a 3-dimensional model). The embedded Chroma store and a real
``chroma run`` server both run it; a store that does not behave like them fails here.
"""

from __future__ import annotations

import numpy as np

from ingestion.ports import ChunkStore, DocRecord


def vectors(*rows: list[float]) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float32)
    return array / np.linalg.norm(array, axis=1, keepdims=True)


class ChunkStoreContract:
    def test_is_a_chunk_store(self, store):
        assert isinstance(store, ChunkStore)

    def test_new_store_is_empty_at_generation_zero_and_clean(self, store):
        assert store.count() == 0 and store.generation() == 0
        assert not store.state().get("dirty") and store.documents() == {}

    def test_upserted_chunks_come_back_with_text_and_metadata(self, store):
        store.upsert_chunks(
            ["a", "b"], vectors([1, 0, 0], [0, 1, 0]), ["alpha", "beta"], [{"k": 1}, {"k": 2}]
        )
        chunks = {c.chunk_id: c for c in store.iter_chunks()}
        assert store.count() == 2 and chunks["a"].text == "alpha" and chunks["b"].metadata["k"] == 2
        assert store.existing_chunk_ids(["a", "zzz"]) == {"a"}

    def test_upserting_the_same_id_twice_keeps_one_chunk(self, store):
        for text in ("first", "second"):
            store.upsert_chunks(["a"], vectors([1, 0, 0]), [text], [{"k": 1}])
        assert store.count() == 1 and next(store.iter_chunks()).text == "second"

    def test_deleted_chunks_are_gone(self, store):
        store.upsert_chunks(
            ["a", "b"], vectors([1, 0, 0], [0, 1, 0]), ["x", "y"], [{"k": 1}, {"k": 2}]
        )
        assert store.delete_chunks(["a"]) == 1
        assert [c.chunk_id for c in store.iter_chunks()] == ["b"]

    def test_committed_documents_are_listed_until_forgotten(self, store):
        record = DocRecord(doc_id="d.md", doc_hash="h1", chunk_ids=["a"], source="d.md")
        store.commit_document(record)
        assert store.documents()["d.md"].doc_hash == "h1"
        store.commit_document(DocRecord(doc_id="d.md", doc_hash="h2", chunk_ids=["b"]))
        assert store.documents()["d.md"].chunk_ids == ["b"]
        store.forget_document("d.md")
        assert store.documents() == {}

    def test_generation_only_moves_forward_and_dirty_mark_round_trips(self, store):
        assert store.bump_generation() == 1 and store.bump_generation() == 2
        store.mark_dirty(True)
        assert store.state()["dirty"] and store.generation() == 2
        store.mark_dirty(False)
        assert not store.state()["dirty"]
