"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused, filtered by who is asking.

``retrieve()`` does the bookkeeping every mode shares — validating the caller, building the one
access filter, hiding chunks of uncommitted document versions, removing near-duplicates and
scoring relevance — and ``_candidates()`` does the mode-specific work.

Fusion (``retrieval/fusion.py``) is a setting: reciprocal rank fusion, or min-max / z-score
normalized score averages, over chunks or folded to documents; on SciFact each beats both inputs.
Each hit also carries ``relevance``, the cosine similarity of query and chunk, which the assistant
uses as its "do the sources support an answer" gate.
"""

from __future__ import annotations

import math
import re
import threading
import time
from typing import Any, Literal, Protocol

import numpy as np

from ingestion.pipeline import embedding_text
from ingestion.ports import DocRecord, StoredChunk
from retrieval.access import AccessFilter
from retrieval.chroma_store import ChromaStore
from retrieval.fusion import FusionConfig, fuse
from retrieval.lexical_index import CODE, LexicalIndex
from retrieval.models import CallerContext, SearchHit
from retrieval.settings import RetrievalConfig

Mode = Literal["dense", "lexical", "hybrid"]
WORD = re.compile(r"\w+")
# The unfiltered dense query fetches enough nearest chunks that about DENSE_MARGIN times the
# candidates wanted are ones the caller may see (by the share of the index they may see), and
# at most DENSE_OVERFETCH times the candidates (see `_dense`).
DENSE_MARGIN = 1.5
DENSE_OVERFETCH = 6


class Retriever(Protocol):
    def retrieve(
        self,
        query: str,
        caller: CallerContext,
        k: int | None = None,
        mode: Mode | None = None,
        language: str | None = None,
    ) -> list[SearchHit]: ...


class RetrievalError(ValueError):
    pass


def _shingles(text: str) -> set[str]:
    words = WORD.findall(text.lower())
    return {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def _similar(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class HybridRetriever:
    def __init__(
        self,
        settings: RetrievalConfig,
        store: ChromaStore,
        embedder: Any,
        lexical: LexicalIndex,
        reranker: Any = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.lexical = lexical
        self.reranker = reranker
        r = settings.retrieval
        self.fusion = FusionConfig(
            method=r.fusion,
            rrf_k=r.rrf_k,
            dense_weight=r.dense_weight,
            lexical_weight=r.lexical_weight,
            code_weight=r.code_weight,
            by_document=r.fuse_documents,
        )
        self._documents: dict[str, DocRecord] = {}
        self._generation = -1
        self._chunks = 0  # chunks in the store at ``_generation``
        self._lock = threading.Lock()

    # -- keeping in step with the store ---------------------------------------------------
    def sync(self) -> None:
        """Reload the registry and, when the store moved on, the lexical index."""
        generation = self.store.generation()
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            self._documents = self.store.documents()
            # Counting costs Chroma ~15 ms at 100k chunks, so it is done once per generation.
            self._chunks = self.store.count()
            if self.lexical.generation != generation and not (
                self.lexical.load() and self.lexical.generation == generation
            ):
                rebuild_lexical(self.store, self.lexical, generation, self._documents)
            self._generation = generation

    # -- the public method ----------------------------------------------------------------
    def retrieve(
        self,
        query: str,
        caller: CallerContext,
        k: int | None = None,
        mode: Mode | None = None,
        language: str | None = None,
    ) -> list[SearchHit]:
        """The caller's top ``k`` chunks. ``language`` (the question's, when the caller knows it)
        adds that language's analysis to the lexical query; the index's own languages are
        always used."""
        if not query or not query.strip():
            raise RetrievalError("the query is empty")
        k = self.settings.retrieval.top_k if k is None else k
        if not 1 <= k <= 100:
            raise RetrievalError("k must be between 1 and 100")
        mode = mode or self.settings.retrieval.mode
        if mode not in ("dense", "lexical", "hybrid"):
            raise RetrievalError(f"unknown mode {mode!r} (dense, lexical or hybrid)")
        self.sync()
        access = AccessFilter.build(caller, self.settings.access, self._documents)
        started = time.perf_counter()
        query_vector = self.embedder.embed_query(query)
        ranked = self._candidates(query, query_vector, access, mode, language)
        if self.reranker is not None:
            visible = self._visible(self._hydrate([cid for cid, _ in ranked]), ranked, access)
            hits = self._dedupe(self.reranker.rerank(query, visible), k)
        else:
            hits, visible = self._top(ranked, k, access)
        embeddings = {c.chunk_id: c.embedding for c, _ in visible}
        self._score_relevance(query_vector, hits, embeddings)
        for hit in hits:
            hit.metadata["retrieval_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return hits

    def browse(self, caller: CallerContext, where: dict[str, Any]) -> list[SearchHit]:
        """Every chunk the caller may see whose metadata matches ``where`` (a Chroma filter such
        as ``{"doc_type": "course"}``), unranked: structured records (the training catalog, a
        product's approved claims) read by the layers above without touching the store."""
        self.sync()
        access = AccessFilter.build(caller, self.settings.access, self._documents)
        found = self.store.chunks_where({"$and": [*access.where()["$and"], where]})
        return [
            SearchHit(
                chunk_id=chunk.chunk_id,
                doc_id=chunk.metadata.get("doc_id", ""),
                source=chunk.metadata.get("source", ""),
                title=chunk.metadata.get("title", ""),
                section=chunk.metadata.get("section", ""),
                text=chunk.text,
                metadata=chunk.metadata,
            )
            for chunk in found
            if self._committed(chunk.metadata) and access.allows(chunk.metadata)
        ]

    def _committed(self, metadata: dict[str, Any]) -> bool:
        record = self._documents.get(metadata.get("source", ""))
        return record is not None and record.doc_hash == metadata.get("doc_hash")

    # -- the work -------------------------------------------------------------------------
    def _candidates(
        self,
        query: str,
        vector: np.ndarray,
        access: AccessFilter,
        mode: Mode,
        language: str | None = None,
    ) -> list[tuple[str, float]]:
        """Ranked (chunk id, score) the caller may see, without text: texts and metadata are
        fetched only for the few that become hits (``_top``)."""
        n = self.settings.retrieval.candidates
        dense: list[tuple[str, float]] = []
        lexical: list[tuple[str, float]] = []
        if mode in ("dense", "hybrid") and self._chunks:
            dense = self._dense(vector, n, access)
        if mode in ("lexical", "hybrid"):
            lexical = self.lexical.search(query, n, access, language)
        if mode == "dense":
            return dense
        if mode == "lexical":
            return lexical
        codes: list[str] = []
        if any(ch.isdigit() for code in CODE.findall(query) for ch in code):
            ids = list(dict.fromkeys([cid for cid, _ in lexical] + [cid for cid, _ in dense]))
            codes = exact_code_matches(query, ids, self.store.get_chunks(ids))
        return fuse(self.fusion, dense, lexical, codes, key=self.lexical.doc_of)

    def _dense(self, vector: np.ndarray, n: int, access: AccessFilter) -> list[tuple[str, float]]:
        """The ``n`` nearest chunks the caller may see, as (chunk id, cosine).

        Chroma's metadata pre-filter costs about 0.85 s a query at 100k chunks (3 ms without
        it), so the store is asked unfiltered, for ids and distances only, for enough more that
        about ``DENSE_MARGIN`` times ``n`` are the caller's (by the share of the index the
        caller may see; HNSW time grows with the number fetched), and they are kept with the lexical
        index's access mask (the same ``AccessFilter.allows`` rule, cached per caller); a chunk
        the index does not hold yet (a run that committed but died before bumping the
        generation) is checked on its own metadata. Only when too few survive (a caller who may
        see little of a large store) is it asked again with the filter. ``retrieve`` checks
        every hit with the predicate again either way.
        """
        total = self._chunks
        share = max(self.lexical.visible_share(access), 1 / DENSE_OVERFETCH)
        fetch = min(total, math.ceil(n * DENSE_MARGIN / share), n * DENSE_OVERFETCH)
        nearest = self.store.nearest_ids(vector, fetch, None)
        allowed = self.lexical.allowed(access, [cid for cid, _ in nearest])
        unknown = [cid for (cid, _), ok in zip(nearest, allowed) if ok is None]
        if unknown:  # not in the lexical index yet: decide from their own metadata
            found = self.store.get_chunks(unknown)
            seen = self._visible(found, [(c, 0.0) for c in found], access)
            checked = {chunk.chunk_id for chunk, _ in seen}
            allowed = [
                cid in checked if ok is None else ok for (cid, _), ok in zip(nearest, allowed)
            ]
        visible = [pair for pair, ok in zip(nearest, allowed) if ok]
        if len(visible) >= n or fetch >= total:
            return visible[:n]
        return self.store.nearest_ids(vector, n, access.where())

    def _hydrate(self, ids: list[str]) -> dict[str, StoredChunk]:
        return self.store.get_chunks(ids, embeddings=True)

    def _visible(
        self, chunks: dict[str, StoredChunk], ranked: list[tuple[str, float]], access: AccessFilter
    ) -> list[tuple[StoredChunk, float]]:
        return [
            (chunks[cid], score)
            for cid, score in ranked
            if cid in chunks
            and self._committed(chunks[cid].metadata)
            and access.allows(chunks[cid].metadata)
        ]

    def _top(
        self, ranked: list[tuple[str, float]], k: int, access: AccessFilter
    ) -> tuple[list[SearchHit], list[tuple[StoredChunk, float]]]:
        """The first ``k`` distinct visible chunks, fetched from the store a window at a time
        (and the visible chunks fetched, which carry their embeddings)."""
        window = max(3 * k, 20)
        visible: list[tuple[StoredChunk, float]] = []
        hits: list[SearchHit] = []
        for start in range(0, len(ranked), window):
            part = ranked[start : start + window]
            visible += self._visible(self._hydrate([cid for cid, _ in part]), part, access)
            hits = self._dedupe(visible, k)
            if len(hits) == k:
                break
        return hits, visible

    def _dedupe(self, ranked: list[tuple[StoredChunk, float]], k: int) -> list[SearchHit]:
        """Keep the best of near-identical chunks, so copies of one paragraph do not fill the top k."""
        kept: list[tuple[SearchHit, set[str]]] = []
        threshold = self.settings.retrieval.dedup_threshold
        for chunk, score in ranked:
            shingles = _shingles(chunk.text)
            if any(_similar(shingles, other) >= threshold for _, other in kept):
                continue
            kept.append((to_hit(chunk, score), shingles))
            if len(kept) == k:
                break
        return [hit for hit, _ in kept]

    def _score_relevance(
        self, vector: np.ndarray, hits: list[SearchHit], embeddings: dict[str, Any]
    ) -> None:
        missing = [h.chunk_id for h in hits if embeddings.get(h.chunk_id) is None]
        if missing:
            found = self.store.chunks.get(ids=missing, include=["embeddings"])
            embeddings = {**embeddings, **dict(zip(found["ids"], found["embeddings"]))}
        for hit in hits:
            embedding = embeddings.get(hit.chunk_id)
            if embedding is not None:
                hit.relevance = round(float(np.dot(vector, np.asarray(embedding))), 4)

    def neighbours(self, hit: SearchHit, window: int = 1) -> list[SearchHit]:
        """Chunks next to ``hit`` in its document, to give the model surrounding context."""
        index = int(hit.metadata.get("chunk_index", 0))
        found = self.store.chunks.get(
            where={
                "$and": [
                    {"doc_id": hit.doc_id},
                    {"doc_hash": hit.metadata.get("doc_hash", "")},
                    {"chunk_index": {"$gte": index - window}},
                    {"chunk_index": {"$lte": index + window}},
                ]
            },
            include=["documents", "metadatas"],
        )
        chunks = [
            StoredChunk(i, d, m)
            for i, d, m in zip(found["ids"], found["documents"], found["metadatas"])
        ]
        return [
            to_hit(c, 0.0) for c in sorted(chunks, key=lambda c: c.metadata.get("chunk_index", 0))
        ]


def exact_code_matches(query: str, ranking: list[str], chunks: dict[str, StoredChunk]) -> list[str]:
    """Candidates that contain an identifier from the query (a SKU, part number or course code).

    Identifiers are where dense retrieval is weakest — "AG-EDR-121" and "AG-EDR-107" embed alike —
    and where a partner expects an exact answer, so an exact match is a third fused signal.
    """
    codes = [c.lower() for c in CODE.findall(query) if any(ch.isdigit() for ch in c)]
    if not codes:
        return []
    seen: set[str] = set()
    matches = []
    for chunk_id in ranking:
        chunk = chunks.get(chunk_id)
        if chunk_id in seen or chunk is None:
            continue
        seen.add(chunk_id)
        if any(code in chunk.text.lower() for code in codes):
            matches.append(chunk_id)
    return matches


def to_hit(chunk: StoredChunk, score: float) -> SearchHit:
    m = chunk.metadata
    return SearchHit(
        chunk_id=chunk.chunk_id,
        doc_id=m.get("doc_id", ""),
        source=m.get("source", ""),
        title=m.get("title", ""),
        section=m.get("section", ""),
        page=m.get("page"),
        score=round(float(score), 6),
        text=chunk.text,
        metadata=dict(m),
    )


def rebuild_lexical(
    store: ChromaStore, lexical: LexicalIndex, generation: int, documents: dict[str, DocRecord]
) -> None:
    """Rebuild BM25 from the committed chunks in the store and save it."""
    ids, texts, metadata = [], [], []
    for chunk in store.iter_chunks():
        record = documents.get(chunk.metadata.get("source", ""))
        if record is None or record.doc_hash != chunk.metadata.get("doc_hash"):
            continue
        ids.append(chunk.chunk_id)
        texts.append(
            embedding_text(
                chunk.metadata.get("title", ""), chunk.metadata.get("section", ""), chunk.text
            )
        )
        metadata.append(chunk.metadata)
    lexical.build(ids, texts, metadata, generation)
    lexical.save()
