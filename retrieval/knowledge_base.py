"""The knowledge base as one object: store, embedder, lexical index, ingestion and retrieval.

Every channel and command opens it with :func:`open_knowledge_base` so that the model is loaded
once and the lexical index is kept in step with every ingest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingestion.pipeline import IngestionPipeline, IngestSummary, ProgressFn
from retrieval.chroma_store import ChromaStore
from retrieval.embedder import SentenceTransformerEmbedder
from retrieval.hybrid import HybridRetriever, rebuild_lexical
from retrieval.lexical_index import LexicalIndex
from retrieval.settings import RetrievalConfig


class KnowledgeBase:
    def __init__(self, settings: RetrievalConfig, embedder: Any = None) -> None:
        self.settings = settings
        self.embedder = embedder or SentenceTransformerEmbedder(settings.embedding)
        self.store = ChromaStore(settings, self.embedder.name, self.embedder.dimension)
        lexical_dir = settings.store.dir / "lexical" / settings.store.collection
        self.lexical = LexicalIndex(lexical_dir)
        self.retriever = HybridRetriever(
            settings, self.store, self.embedder, self.lexical, reranker=_reranker(settings)
        )

    def ingest(
        self, paths: list[Path], sync: bool = False, progress: ProgressFn | None = None
    ) -> IngestSummary:
        summary = IngestionPipeline(self.settings, self.store, self.embedder).run(
            paths, sync, progress
        )
        generation = self.store.generation()
        stale = summary.changed or self.lexical.generation != generation
        if stale and not (self.lexical.load() and self.lexical.generation == generation):
            rebuild_lexical(self.store, self.lexical, generation, self.store.documents())
        return summary

    def stats(self) -> dict[str, Any]:
        return self.store.stats()


def _reranker(settings: RetrievalConfig) -> Any:
    if settings.retrieval.reranker_path is None:
        return None
    from retrieval.rerank import CrossEncoderReranker

    return CrossEncoderReranker(settings.retrieval.reranker_path)


def open_knowledge_base(settings: RetrievalConfig, embedder: Any = None) -> KnowledgeBase:
    return KnowledgeBase(settings, embedder)
