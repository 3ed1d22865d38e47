"""The knowledge base as one object: store, embedder, lexical index, ingestion and retrieval.

Every channel and command opens it with :func:`open_knowledge_base` so that the model is loaded
once and the lexical index is kept in step with every ingest.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ingestion.pipeline import IngestionPipeline, IngestSummary, ProgressFn
from retrieval.chroma_store import ChromaStore
from retrieval.embedder import load_embedder
from retrieval.hybrid import HybridRetriever, rebuild_lexical
from retrieval.lexical_index import LexicalIndex
from retrieval.settings import RetrievalConfig


class KnowledgeBase:
    def __init__(
        self, settings: RetrievalConfig, embedder: Any = None, reindex: bool = False
    ) -> None:
        """``reindex`` empties the store (chunks, registry, lexical index) so the next ingest
        embeds everything with this embedder: the way to change the embedding model."""
        self.settings = settings
        self.embedder = embedder or load_embedder(settings.embedding)
        lexical_dir = settings.store.dir / "lexical" / settings.store.collection
        if reindex:
            shutil.rmtree(lexical_dir, ignore_errors=True)
        self.store = ChromaStore(
            settings, self.embedder.name, self.embedder.dimension, reset=reindex
        )
        self.lexical = LexicalIndex(
            lexical_dir,
            k1=settings.retrieval.bm25_k1,
            b=settings.retrieval.bm25_b,
            languages=settings.retrieval.lexical_languages,
        )
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


def open_knowledge_base(
    settings: RetrievalConfig, embedder: Any = None, reindex: bool = False
) -> KnowledgeBase:
    return KnowledgeBase(settings, embedder, reindex=reindex)
