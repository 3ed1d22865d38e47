"""What ingestion writes through: an :class:`Embedder` and a :class:`ChunkStore`.

Ingestion owns these interfaces and the :class:`DocRecord` it commits; the retrieval layer
implements them (``retrieval.embedder``, ``retrieval.chroma_store.ChromaStore``). Keeping them
here is what lets ingestion sit at the bottom of the layers and import nothing above it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass
class DocRecord:
    """A committed document version: the registry entry that makes its chunks visible."""

    doc_id: str
    doc_hash: str
    chunk_ids: list[str]
    root: str = ""
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DocRecord:
        return cls(**json.loads(text))


@dataclass
class StoredChunk:
    """A chunk as the store holds it."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    embedding: np.ndarray | None = None


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit-length vectors (rows of a float32 array)."""

    name: str
    dimension: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


@runtime_checkable
class ChunkStore(Protocol):
    """Chunks plus a registry of committed document versions, with a generation counter that
    moves on every change and a ``dirty`` mark for a run that died half-way."""

    model_name: str

    def state(self) -> dict[str, Any]: ...

    def generation(self) -> int: ...

    def mark_dirty(self, dirty: bool) -> None: ...

    def bump_generation(self) -> int: ...

    def documents(self) -> dict[str, DocRecord]: ...

    def commit_document(self, record: DocRecord) -> None: ...

    def forget_document(self, doc_id: str) -> None: ...

    def upsert_chunks(
        self,
        ids: list[str],
        embeddings: np.ndarray,
        texts: list[str],
        metadatas: list[dict[str, Any]],
    ) -> None: ...

    def existing_chunk_ids(self, ids: list[str]) -> set[str]: ...

    def delete_chunks(self, ids: list[str]) -> int: ...

    def iter_chunks(
        self, include_embeddings: bool = False, page: int = 5000
    ) -> Iterator[StoredChunk]: ...

    def count(self) -> int: ...
