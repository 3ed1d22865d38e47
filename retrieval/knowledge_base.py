"""The knowledge base as one object: store, embedder, lexical index, ingestion and retrieval.

Every channel and command opens it with :func:`open_knowledge_base` so that the model is loaded
once and the lexical index is kept in step with every ingest.
"""

from __future__ import annotations

import shutil
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from ingestion.pipeline import IngestionPipeline, IngestSummary, ProgressFn
from retrieval.chroma_store import ChromaStore, StoreError, StoreMissing
from retrieval.embedder import load_embedder
from retrieval.hybrid import HybridRetriever, rebuild_lexical
from retrieval.lexical_index import LexicalIndex
from retrieval.settings import RetrievalConfig, StoreConfig
from retrieval.store_lock import writing


class KnowledgeBase:
    def __init__(
        self, settings: RetrievalConfig, embedder: Any = None, reindex: bool = False
    ) -> None:
        """``reindex`` empties the store (chunks, registry, lexical index) so the next ingest
        embeds everything with this embedder: the way to change the embedding model."""
        self.settings = settings
        self.embedder = embedder or load_embedder(settings.embedding)
        lexical_dir = lexical_folder(settings)
        # Emptying a store, or creating the embedded one, is a write: it waits for the lock.
        creates = not settings.chroma.host and not (settings.store.dir / "chroma").is_dir()
        purpose = "reindex" if reindex else "create"
        with writing(settings, purpose) if reindex or creates else nullcontext():
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
        self,
        paths: list[Path],
        sync: bool = False,
        progress: ProgressFn | None = None,
        default_root: Path | None = None,
    ) -> IngestSummary:
        """Ingest ``paths`` holding the store's write lock (``retrieval/store_lock.py``): a
        second writer waits, or fails with :class:`StoreBusy` naming this one."""
        with writing(self.settings):
            summary = IngestionPipeline(self.settings, self.store, self.embedder).run(
                paths, sync, progress, default_root
            )
            generation = self.store.generation()
            stale = summary.changed or self.lexical.generation != generation
            if stale and not (self.lexical.load() and self.lexical.generation == generation):
                rebuild_lexical(self.store, self.lexical, generation, self.store.documents())
        return summary

    def stats(self) -> dict[str, Any]:
        return self.store.stats()


def lexical_folder(settings: StoreConfig) -> Path:
    return settings.store.dir / "lexical" / settings.store.collection


def registered_sources(settings: StoreConfig) -> dict[Path, list[Path]]:
    """The files the store was built from, by knowledge-base root: every file the registry
    names (once, however many ids it was registered under), and the files of chunks the
    registry lost track of when they are still under one of its roots."""
    try:
        store = ChromaStore.open_existing(settings)
        records = store.documents()
    except StoreMissing:
        raise
    except Exception as exc:
        raise StoreError(
            f"the document registry cannot be read ({str(exc).splitlines()[0]}), so the store "
            "cannot be rebuilt from it: rebuild it from the sources with `partner-assistant "
            "ingest --reindex PATH...`"
        ) from None
    sources: dict[Path, dict[Path, None]] = {}
    for doc_id, record in records.items():
        path = Path(record.source) if record.source else Path(record.root) / doc_id
        sources.setdefault(Path(record.root), {})[path] = None
    try:
        unregistered = {str(c.metadata.get("source", "")) for c in store.iter_chunks()}
    except Exception:  # a broken vector index: the registry is all there is
        unregistered = set()
    for doc_id in sorted(unregistered - set(records) - {""}):
        for root in sources:
            if (root / doc_id).is_file():
                sources[root][root / doc_id] = None
                break
    return {root: list(paths) for root, paths in sources.items()}


def rebuild_knowledge_base(
    settings: RetrievalConfig, embedder: Any = None, progress: ProgressFn | None = None
) -> tuple[KnowledgeBase, IngestSummary]:
    """Empty the store and ingest again every file it was built from
    (:func:`registered_sources`), with the configured embedding model: the repair for a store ``doctor`` finds inconsistent (chunks missing or
    left over, a file under two ids, a broken vector index, another model). Files that are
    gone are reported as failed. Holds the store's lock throughout."""
    with writing(settings, "repair"):
        sources = registered_sources(settings)
        kb = KnowledgeBase(settings, embedder, reindex=True)
        summary = IngestSummary()
        for root, paths in sources.items():
            summary.add(kb.ingest(paths, progress=progress, default_root=root))
    return kb, summary


def _reranker(settings: RetrievalConfig) -> Any:
    if settings.retrieval.reranker_path is None:
        return None
    from retrieval.rerank import CrossEncoderReranker

    return CrossEncoderReranker(settings.retrieval.reranker_path)


def open_knowledge_base(
    settings: RetrievalConfig, embedder: Any = None, reindex: bool = False
) -> KnowledgeBase:
    return KnowledgeBase(settings, embedder, reindex=reindex)
