"""``partner-assistant doctor``: is the store consistent, and if not, what is wrong with it.

A store can go wrong in ways no single read shows: two writers at once broke Chroma's vector
index (count and query fail), a file ingested from two folders was indexed under two ids, chunks
were deleted behind the registry's back. The checks, each a :class:`Finding` when it fails:

* ``open`` / ``chunks`` / ``query`` / ``registry``: Chroma opens the store, reads every chunk and
  the registry, counts them alike and answers a nearest-neighbour query;
* ``missing``: documents the registry commits whose chunks are not (all) in the store;
* ``orphans``: chunks no committed document owns, and chunks whose content hash is not the
  committed version's;
* ``duplicates``: one file registered under several ids (ingested from different folders before
  ids were tied to the knowledge-base root);
* ``model``: the store's embedding model is not the configured one;
* ``lexical``: the BM25 index names other chunks than the store holds at the same generation
  (a problem), or is of an older generation or absent (a warning: the next search rebuilds it);
* ``dirty``: a run stopped half way (a warning: the next ingest cleans up after it).

A problem makes the store unhealthy; the repair, :func:`retrieval.knowledge_base.
rebuild_knowledge_base` (``doctor --repair``), rebuilds it from the files its registry names.
The check holds the store's lock, so it never reports an ingest's half-written state.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from ingestion.ports import DocRecord
from retrieval.chroma_store import ChromaStore, StoreMissing
from retrieval.embedder import embedder_name
from retrieval.knowledge_base import lexical_folder
from retrieval.lexical_index import LexicalIndex
from retrieval.settings import RetrievalConfig
from retrieval.store_lock import writing

SHOWN = 10  # names listed per finding; the count says how many there are


@dataclass
class Finding:
    check: str
    severity: Literal["problem", "warning"]
    message: str
    items: list[str] = field(default_factory=list)


@dataclass
class StoreReport:
    store: str
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not any(f.severity == "problem" for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "problem"]

    def add(
        self,
        check: str,
        message: str,
        items: list[str] | None = None,
        severity: Literal["problem", "warning"] = "problem",
    ) -> None:
        self.findings.append(Finding(check, severity, message, sorted(items or [])[:SHOWN]))

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "store": self.store,
            "counts": self.counts,
            "findings": [asdict(f) for f in self.findings],
        }


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def check_store(settings: RetrievalConfig) -> StoreReport:
    """Check the store ``settings`` name, holding its lock (a running ingest is waited for up
    to ``PA_INGEST_LOCK_TIMEOUT``, then :class:`~retrieval.store_lock.StoreBusy`)."""
    with writing(settings, "doctor"):
        return _check(settings)


def _check(settings: RetrievalConfig) -> StoreReport:
    report = StoreReport(store=str(settings.store.dir))
    try:
        store = ChromaStore.open_existing(settings)
    except StoreMissing as exc:
        report.add("open", f"{exc}: nothing to check (run `partner-assistant ingest PATH`)")
        return report
    except Exception as exc:
        report.add("open", f"Chroma cannot open the store: {_reason(exc)}")
        return report
    report.store = store.location
    report.counts["embedding_model"] = store.model_name
    configured = embedder_name(settings.embedding)
    if store.model_name != configured:
        report.add(
            "model",
            f"the store was built with embedding model {store.model_name!r}, the configured one "
            f"is {configured!r}: searches fail until it is re-embedded",
        )
    records, state = _registry(store, report)
    chunks = _chunks(store, report)
    if records is None or chunks is None:
        return report
    generation = int(state.get("generation", 0))
    report.counts.update(documents=len(records), chunks=len(chunks), generation=generation)
    if state.get("dirty"):
        report.add(
            "dirty",
            "a run stopped half way; the next ingest deletes what it left",
            severity="warning",
        )
    _compare(records, chunks, report)
    _duplicates(records, report)
    _lexical(settings, records, chunks, generation, report)
    return report


def _registry(
    store: ChromaStore, report: StoreReport
) -> tuple[dict[str, DocRecord] | None, dict[str, Any]]:
    try:
        return store.documents(), store.state()
    except Exception as exc:
        report.add("registry", f"the document registry cannot be read: {_reason(exc)}")
        return None, {}


def _chunks(store: ChromaStore, report: StoreReport) -> dict[str, dict[str, Any]] | None:
    """Every chunk's metadata, after checking that Chroma counts, reads and queries them."""
    try:
        counted = store.count()
        chunks = {c.chunk_id: c.metadata for c in store.iter_chunks()}
    except Exception as exc:
        report.add("chunks", f"Chroma cannot read the chunks: {_reason(exc)}")
        return None
    if counted != len(chunks):
        report.add("chunks", f"Chroma counts {counted} chunks but returns {len(chunks)}")
    if chunks and store.dimension:
        probe = np.full(store.dimension, 1.0 / np.sqrt(store.dimension), dtype=np.float32)
        try:
            found = store.nearest_ids(probe, min(len(chunks), 10), None)
        except Exception as exc:
            report.add("query", f"the vector index fails a query: {_reason(exc)}")
        else:
            if not found:
                report.add("query", "the vector index returns nothing for a query")
    return chunks


def _compare(
    records: dict[str, DocRecord], chunks: dict[str, dict[str, Any]], report: StoreReport
) -> None:
    """Registry against chunks, both ways."""
    owner = {cid: doc_id for doc_id, record in records.items() for cid in record.chunk_ids}
    missing = {
        doc_id: sum(cid not in chunks for cid in record.chunk_ids)
        for doc_id, record in records.items()
    }
    missing = {doc_id: n for doc_id, n in missing.items() if n}
    if missing:
        none = [d for d, n in missing.items() if n == len(records[d].chunk_ids)]
        report.add(
            "missing",
            f"{len(missing)} registered document(s) lack chunks ({len(none)} have none at all, "
            f"{sum(missing.values())} chunks in all): searches cannot find them",
            [f"{d} ({n} of {len(records[d].chunk_ids)})" for d, n in missing.items()],
        )
    orphans = Counter(
        str(metadata.get("source", "?")) for cid, metadata in chunks.items() if cid not in owner
    )
    if orphans:
        report.add(
            "orphans",
            f"{sum(orphans.values())} chunk(s) belong to no registered document",
            [f"{source} ({n})" for source, n in orphans.items()],
        )
    stale = Counter(
        owner[cid]
        for cid, metadata in chunks.items()
        if cid in owner and metadata.get("doc_hash") != records[owner[cid]].doc_hash
    )
    if stale:
        report.add(
            "orphans",
            f"{sum(stale.values())} chunk(s) are not of the version the registry commits",
            [f"{doc_id} ({n})" for doc_id, n in stale.items()],
        )
    empty = [doc_id for doc_id, record in records.items() if not record.chunk_ids]
    if empty:
        report.add("missing", f"{len(empty)} document(s) have no text", empty, "warning")


def _duplicates(records: dict[str, DocRecord], report: StoreReport) -> None:
    by_file: dict[str, list[str]] = {}
    for doc_id, record in records.items():
        by_file.setdefault(record.source or f"{record.root}/{doc_id}", []).append(doc_id)
    twice = {path: sorted(ids) for path, ids in by_file.items() if len(ids) > 1}
    if twice:
        report.add(
            "duplicates",
            f"{len(twice)} file(s) registered under several ids (ingested from different "
            "folders), so their text is found twice",
            [f"{path}: {', '.join(ids)}" for path, ids in twice.items()],
        )


def _lexical(
    settings: RetrievalConfig,
    records: dict[str, DocRecord],
    chunks: dict[str, dict[str, Any]],
    generation: int,
    report: StoreReport,
) -> None:
    """The BM25 index against the committed chunks (the ones ``rebuild_lexical`` indexes)."""
    committed = {
        cid
        for cid, metadata in chunks.items()
        if (record := records.get(str(metadata.get("source", ""))))
        and record.doc_hash == metadata.get("doc_hash")
    }
    r = settings.retrieval
    lexical = LexicalIndex(lexical_folder(settings), r.bm25_k1, r.bm25_b, r.lexical_languages)
    if not lexical.load():
        if committed:
            report.add(
                "lexical",
                "no lexical index for these settings; the next search or ingest builds it",
                severity="warning",
            )
        return
    if lexical.generation != generation:
        report.add(
            "lexical",
            f"the lexical index is of store generation {lexical.generation}, the store is at "
            f"{generation}; the next search or ingest rebuilds it",
            severity="warning",
        )
        return
    extra, absent = set(lexical.ids) - committed, committed - set(lexical.ids)
    if extra or absent:
        gone = Counter(lexical.doc_of(cid) for cid in extra)
        unindexed = Counter(str(chunks[cid].get("source", cid)) for cid in absent)
        report.add(
            "lexical",
            f"the lexical index is out of date at the store's own generation: {len(extra)} "
            f"chunks only in the index, {len(absent)} only in the store (chunks changed outside "
            "an ingest)",
            [f"{doc} ({n} gone from the store)" for doc, n in gone.items()]
            + [f"{doc} ({n} not indexed)" for doc, n in unindexed.items()],
        )
