"""The Chroma vector store and its document registry.

Two collections live side by side:

* ``<name>`` holds chunks: embedding, text and flat metadata (see ``ingestion.metadata``).
* ``<name>-docs`` is the registry: one record per document with its content hash, the ids of
  its chunks and its metadata. A registry write is the commit point of a document version:
  retrieval only returns chunks whose ``doc_hash`` is the one the registry names, so a run that
  dies between writing new chunks and deleting old ones never shows a document twice or not at
  all. A ``__state__`` record counts generations (every commit bumps it) so that the lexical
  index and other processes can tell when they are stale.

The embedding model's name and dimension are recorded on the chunk collection; opening it with
another model is an error instead of silently mixing vector spaces.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import chromadb
import numpy as np
from chromadb.errors import NotFoundError

from ingestion.ports import DocRecord, StoredChunk
from retrieval.settings import StoreConfig

STATE_ID = "__state__"


class StoreError(RuntimeError):
    pass


class StoreMissing(StoreError):
    """Nothing was ingested at the configured place yet: a user error with one fix."""


def open_client(settings: StoreConfig) -> Any:
    if settings.chroma.host:
        return chromadb.HttpClient(
            host=settings.chroma.host, port=settings.chroma.port, ssl=settings.chroma.ssl
        )
    settings.store.dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.store.dir / "chroma"))


class ChromaStore:
    """Chunks and the document registry in Chroma (embedded or server)."""

    def __init__(
        self,
        settings: StoreConfig,
        model_name: str,
        dimension: int,
        client: Any = None,
        reset: bool = False,
    ):
        """Open (or create) the store for vectors of ``model_name``.

        A store built with another model is refused with :class:`StoreError` — vectors of two
        models are never mixed — unless ``reset`` (``ingest --reindex``) empties it first; the
        generation counter carries on across a reset, so lexical indexes and other workers
        that knew the old store see that it changed.
        """
        self.settings = settings
        self.client = client or open_client(settings)
        name = settings.store.collection
        self.location = (
            f"http://{settings.chroma.host}:{settings.chroma.port}/{name}"
            if settings.chroma.host
            else str((settings.store.dir / "chroma").resolve())
        )
        generation = self._reset(name) if reset else None
        self.chunks = self.client.get_or_create_collection(
            name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": model_name, "embedding_dimension": dimension},
        )
        recorded = self.chunks.metadata or {}
        if (
            recorded.get("embedding_model") != model_name
            or int(recorded.get("embedding_dimension", dimension)) != dimension
        ):
            raise StoreError(
                f"store {self.location} was built with embedding model "
                f"{recorded.get('embedding_model')!r} ({recorded.get('embedding_dimension')} "
                f"dims), not {model_name!r} ({dimension} dims); vectors of two models are never "
                f"mixed. Re-index with `partner-assistant ingest --reindex <folders>` (embeds "
                f"every document again with {model_name!r}), or set PA_EMBEDDING_MODEL back to "
                f"{recorded.get('embedding_model')!r}"
            )
        self.model_name, self.dimension = model_name, dimension
        self.registry = self.client.get_or_create_collection(
            f"{name}-docs", embedding_function=None
        )
        self.batch_size = min(self.client.get_max_batch_size(), 2000)
        if generation is not None:
            self._write_state({"generation": generation + 1, "dirty": False})

    def _reset(self, name: str) -> int:
        """Drop the chunk collection and the registry; the generation they had."""
        generation = 0
        existing = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
        if f"{name}-docs" in existing:
            try:
                found = self.client.get_collection(f"{name}-docs").get(
                    ids=[STATE_ID], include=["documents"]
                )
            except Exception:  # a broken registry: a generation no reader can have seen
                found = {"ids": [STATE_ID], "documents": [json.dumps({"generation": time.time()})]}
            if found["ids"]:
                generation = int(json.loads(found["documents"][0]).get("generation", 0))
        for collection in (name, f"{name}-docs"):
            if collection in existing:
                self.client.delete_collection(collection)
        return generation

    @classmethod
    def open_existing(cls, settings: StoreConfig, client: Any = None) -> ChromaStore:
        """The store as it was built, without an embedding model: the model name and dimension
        are read from what the collection recorded. Commands that only read counts (``stats``)
        or check that a store exists before loading a model use this; it never creates a store
        and raises :class:`StoreMissing` when there is none."""
        local = client is None and not settings.chroma.host
        if local and not (settings.store.dir / "chroma").is_dir():
            raise StoreMissing(f"no knowledge base at {settings.store.dir}")
        client = client or open_client(settings)
        try:
            collection = client.get_collection(settings.store.collection)
        except (NotFoundError, ValueError):
            raise StoreMissing(
                f"no collection {settings.store.collection!r} in the knowledge base at "
                f"{settings.store.dir if not settings.chroma.host else settings.chroma.host}"
            ) from None
        recorded = collection.metadata or {}
        return cls(
            settings,
            str(recorded.get("embedding_model", "")),
            int(recorded.get("embedding_dimension", 0)),
            client=client,
        )

    # -- registry -------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        found = self.registry.get(ids=[STATE_ID], include=["documents"])
        return json.loads(found["documents"][0]) if found["ids"] else {"generation": 0}

    def generation(self) -> int:
        return int(self.state().get("generation", 0))

    def _write_state(self, state: dict[str, Any]) -> None:
        self.registry.upsert(
            ids=[STATE_ID],
            embeddings=[[1.0]],
            documents=[json.dumps(state)],
            metadatas=[{"kind": "state"}],
        )

    def mark_dirty(self, dirty: bool) -> None:
        """A run in progress marks the store dirty; the next run cleans up what it left."""
        state = self.state()
        state["dirty"] = dirty
        self._write_state(state)

    def bump_generation(self) -> int:
        state = self.state()
        state["generation"] = int(state.get("generation", 0)) + 1
        self._write_state(state)
        return state["generation"]

    def documents(self) -> dict[str, DocRecord]:
        found = self.registry.get(where={"kind": "doc"}, include=["documents"])
        return {i: DocRecord.from_json(d) for i, d in zip(found["ids"], found["documents"])}

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, DocRecord]:
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        found = self.registry.get(ids=ids, include=["documents"])
        return {i: DocRecord.from_json(d) for i, d in zip(found["ids"], found["documents"])}

    def commit_document(self, record: DocRecord) -> None:
        self.registry.upsert(
            ids=[record.doc_id],
            embeddings=[[1.0]],
            documents=[record.to_json()],
            metadatas=[{"kind": "doc", "doc_hash": record.doc_hash, "root": record.root}],
        )

    def forget_document(self, doc_id: str) -> None:
        self.registry.delete(ids=[doc_id])

    # -- chunks ---------------------------------------------------------------------------
    def upsert_chunks(
        self, ids: list[str], embeddings: np.ndarray, texts: list[str], metadatas: list[dict]
    ) -> None:
        for start in range(0, len(ids), self.batch_size):
            end = start + self.batch_size
            self.chunks.upsert(
                ids=ids[start:end],
                embeddings=embeddings[start:end].tolist(),
                documents=texts[start:end],
                metadatas=metadatas[start:end],
            )

    def existing_chunk_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), self.batch_size):
            found.update(
                self.chunks.get(ids=ids[start : start + self.batch_size], include=[])["ids"]
            )
        return found

    def delete_chunks(self, ids: list[str]) -> int:
        for start in range(0, len(ids), self.batch_size):
            self.chunks.delete(ids=ids[start : start + self.batch_size])
        return len(ids)

    def chunk_ids_of(self, doc_id: str) -> list[str]:
        return self.chunks.get(where={"doc_id": doc_id}, include=[])["ids"]

    def iter_chunks(
        self, include_embeddings: bool = False, page: int = 5000
    ) -> Iterator[StoredChunk]:
        include = ["documents", "metadatas"] + (["embeddings"] if include_embeddings else [])
        offset = 0
        while True:
            found = self.chunks.get(include=include, limit=page, offset=offset)
            if not found["ids"]:
                return
            embeddings = found.get("embeddings") if include_embeddings else None
            for i, chunk_id in enumerate(found["ids"]):
                yield StoredChunk(
                    chunk_id,
                    found["documents"][i],
                    found["metadatas"][i],
                    None if embeddings is None else np.asarray(embeddings[i]),
                )
            offset += len(found["ids"])

    def get_chunks(self, ids: list[str], embeddings: bool = False) -> dict[str, StoredChunk]:
        if not ids:
            return {}
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        found = self.chunks.get(ids=ids, include=include)
        vectors = found.get("embeddings") if embeddings else None
        return {
            i: StoredChunk(
                i,
                found["documents"][n],
                found["metadatas"][n],
                None if vectors is None else np.asarray(vectors[n]),
            )
            for n, i in enumerate(found["ids"])
        }

    def chunks_where(self, where: dict[str, Any]) -> list[StoredChunk]:
        """Every chunk whose metadata matches ``where`` (a Chroma filter), unranked."""
        found = self.chunks.get(where=where, include=["documents", "metadatas"])
        return [
            StoredChunk(i, text, metadata)
            for i, text, metadata in zip(found["ids"], found["documents"], found["metadatas"])
        ]

    def nearest_ids(
        self, embedding: np.ndarray, k: int, where: dict[str, Any] | None
    ) -> list[tuple[str, float]]:
        """Nearest chunk ids as (id, cosine similarity), without text or metadata: the cheap
        form for candidates most of which never become hits."""
        found = self.chunks.query(
            query_embeddings=[embedding.tolist()],
            n_results=k,
            where=where or None,
            include=["distances"],
        )
        return [(i, 1.0 - float(d)) for i, d in zip(found["ids"][0], found["distances"][0])]

    def query(
        self, embedding: np.ndarray, k: int, where: dict[str, Any] | None
    ) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks as (chunk, cosine similarity)."""
        found = self.chunks.query(
            query_embeddings=[embedding.tolist()],
            n_results=k,
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (StoredChunk(i, d, m), 1.0 - float(dist))
            for i, d, m, dist in zip(
                found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0]
            )
        ]

    def count(self) -> int:
        return self.chunks.count()

    def stats(self) -> dict[str, Any]:
        """Documents and chunks by doc type, with the model the store was built with; needs no
        embedding model, so ``partner-assistant stats`` opens the store with
        :meth:`open_existing` and never loads one."""
        documents = self.documents()
        by_type = Counter(r.metadata.get("doc_type", "?") for r in documents.values())
        chunks_by_type: Counter[str] = Counter()
        for chunk in self.iter_chunks():
            chunks_by_type[chunk.metadata.get("doc_type", "?")] += 1
        return {
            "documents": len(documents),
            "chunks": self.count(),
            "by_doc_type": {
                t: {"documents": by_type.get(t, 0), "chunks": chunks_by_type.get(t, 0)}
                for t in sorted(set(by_type) | set(chunks_by_type))
            },
            "embedding_model": self.model_name,
            "embedding_dimension": self.dimension,
            "store": self.location,
            "generation": self.generation(),
        }
