"""A BEIR retrieval benchmark (SciFact and its kin) run through the product's own path.

The corpus is written out as Markdown documents (front matter ``title`` and
``doc_type: product_doc``, the text as body) and ingested with :meth:`KnowledgeBase.ingest`, so
the figures measure what partners get: our loaders, chunking, titles in the embedded text, the
store, BM25 and the fusion — not a bespoke index built for the benchmark. Every query is then
asked as an ``admin`` caller (who sees every document) in each retrieval mode; the ranked chunks
are folded to documents at their best chunk's rank and scored with
:func:`evals.retrieval_metrics.evaluate_run`.

Ingesting SciFact takes minutes on a laptop CPU, so ``store_dir`` keeps the written corpus and
the store: a second run over the same folder and settings skips every unchanged document (the
pipeline's content hashes) and only re-runs the queries.

Example::

    result = run_beir(Path("../shared/datasets/scifact"), store_dir=Path("/tmp/scifact"))
    print(format_table(result))
"""

from __future__ import annotations

import hashlib
import re
import statistics
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from assistant.models import CallerContext
from assistant.settings import Settings, StoreSettings
from evals.beir import BeirDataset, load_beir
from evals.retrieval_metrics import dedupe_to_docs, evaluate_run

MODES: tuple[str, ...] = ("dense", "lexical", "hybrid")
METRICS: tuple[str, ...] = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,80}")

# Published nDCG@10 (and recall@100 where given) on the test split, from the dataset README
# (../shared/datasets/README.md), to read our figures against.
REFERENCES: dict[str, list[tuple[str, dict[str, float]]]] = {
    "scifact": [
        ("BM25 (BEIR paper)", {"ndcg@10": 0.665}),
        ("BM25 flat (Anserini)", {"ndcg@10": 0.679, "recall@100": 0.925}),
        ("BM25 + cross-encoder rerank (BEIR paper)", {"ndcg@10": 0.688}),
    ],
}


class BeirRunError(ValueError):
    """Arguments that cannot be run (an unknown mode, a bad limit); the message says what to fix."""


def file_name_for(corpus_id: str) -> str:
    """A file name that is safe on every file system and unique per corpus id.

    Plain ids (``4983``) keep their name, so a document is easy to find by hand; anything else
    (slashes, spaces, ``..``, case-only differences that collide on macOS) gets its unsafe
    characters replaced and a short hash of the exact id appended.
    """
    if SAFE_NAME.fullmatch(corpus_id) and ".." not in corpus_id and corpus_id.lower() == corpus_id:
        return f"{corpus_id}.md"
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", corpus_id)[:60].strip("_") or "doc"
    digest = hashlib.sha1(corpus_id.encode("utf-8")).hexdigest()[:10]
    return f"{cleaned}-{digest}.md"


def write_corpus(data: BeirDataset, folder: Path) -> dict[str, str]:
    """Write each corpus document as Markdown under ``folder``; return {file name: corpus id}.

    The file name is the document id the pipeline gives each file, so the mapping turns a hit's
    ``doc_id`` back into the corpus id that qrels name. A file whose content is unchanged is not
    rewritten, and files of documents no longer in the corpus are removed, so that a re-run with
    ``sync`` leaves the store exactly in step with the corpus.
    """
    folder.mkdir(parents=True, exist_ok=True)
    mapping: dict[str, str] = {}
    for doc in data.corpus.values():
        name = file_name_for(doc.doc_id)
        if name in mapping:
            raise BeirRunError(f"corpus ids {mapping[name]!r} and {doc.doc_id!r} share a file name")
        mapping[name] = doc.doc_id
        front: dict[str, Any] = {"doc_type": "product_doc"}
        if doc.title.strip():
            front["title"] = " ".join(doc.title.split())
        header = yaml.safe_dump(front, allow_unicode=True, sort_keys=True, width=10_000)
        content = f"---\n{header}---\n\n{doc.text.strip()}\n"
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
    for stale in folder.glob("*.md"):
        if stale.name not in mapping:
            stale.unlink()
    return mapping


class _Uncached:
    """The embedder without its query cache, so every mode pays for embedding its queries and
    the latencies of the modes compare like with like."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.dimension = inner.name, inner.dimension

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        # The query path itself (e5 embeds queries with "query: ", documents with "passage: ").
        return getattr(self.inner, "embed_query_uncached", self.inner.embed_query)(text)


def _collection_name(folder: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", folder.resolve().name).strip("-_") or "corpus"
    return f"beir-{name}"[:60]


def _check_modes(modes: Iterable[str]) -> tuple[str, ...]:
    modes = tuple(modes)
    unknown = [m for m in modes if m not in MODES]
    if not modes or unknown:
        raise BeirRunError(
            f"unknown retrieval mode {unknown[0]!r}: use dense, lexical or hybrid"
            if unknown
            else "name at least one retrieval mode (dense, lexical or hybrid)"
        )
    return modes


def run_beir(
    folder: Path,
    modes: Sequence[str] = MODES,
    store_dir: Path | None = None,
    limit_queries: int | None = None,
    settings: Settings | None = None,
    *,
    split: str = "test",
    k: int = 100,
    embedder: Any = None,
) -> dict[str, Any]:
    """Ingest a BEIR folder through the product path and score each retrieval mode.

    ``settings`` supplies everything but the store (chunking, retrieval weights, the model);
    its ``store`` is replaced by ``store_dir`` (or a temporary folder removed afterwards).
    ``embedder`` lets a caller that already loaded the model share it.

    Returns ``{"dataset", "split", "documents", "chunks", "ingest_seconds", "ingest": {...},
    "settings": {...}, "modes": {mode: {"ndcg@10", "recall@10", "recall@100", "mrr@10",
    "queries", "p50_ms", "p95_ms"}}}``. Raises :class:`evals.beir.DatasetFormatError` for a bad
    folder and :class:`BeirRunError` for bad arguments.
    """
    from retrieval.knowledge_base import KnowledgeBase

    modes = _check_modes(modes)
    if limit_queries is not None and limit_queries < 1:
        raise BeirRunError("limit_queries must be a positive number of queries")
    if not 1 <= k <= 100:
        raise BeirRunError("k must be between 1 and 100")
    folder = Path(folder)
    data = load_beir(folder, split=split)
    base = settings or Settings()

    with tempfile.TemporaryDirectory(prefix="beir-") as scratch:
        work = Path(store_dir) if store_dir is not None else Path(scratch)
        mapping = write_corpus(data, work / "corpus")
        run_settings = base.model_copy(
            update={"store": StoreSettings(dir=work / "store", collection=_collection_name(folder))}
        )
        kb = KnowledgeBase(run_settings, embedder)
        kb.retriever.embedder = _Uncached(kb.embedder)
        started = time.perf_counter()
        summary = kb.ingest([work / "corpus"], sync=True)
        ingest_seconds = time.perf_counter() - started

        query_ids = list(data.queries)[:limit_queries]
        qrels = {qid: data.qrels[qid] for qid in query_ids}
        caller = CallerContext(role="admin")
        results: dict[str, dict[str, float]] = {}
        for mode in modes:
            run: dict[str, list[str]] = {}
            latencies: list[float] = []
            for qid in query_ids:
                began = time.perf_counter()
                hits = kb.retriever.retrieve(data.queries[qid].text, caller, k=k, mode=mode)  # type: ignore[arg-type]
                latencies.append((time.perf_counter() - began) * 1000)
                run[qid] = dedupe_to_docs(mapping.get(h.doc_id, h.doc_id) for h in hits)
            scores = evaluate_run(run, qrels, ks=(10, 100))
            results[mode] = {name: round(scores[name], 4) for name in METRICS}
            results[mode]["queries"] = int(scores["queries"])
            results[mode]["p50_ms"] = round(statistics.median(latencies), 1)
            results[mode]["p95_ms"] = round(float(np.percentile(latencies, 95)), 1)
        chunks = kb.store.count()

    return {
        "dataset": folder.resolve().name,
        "split": split,
        "documents": len(data.corpus),
        "chunks": chunks,
        "ingest_seconds": round(ingest_seconds, 1),
        "ingest": {
            "files_indexed": summary.files_indexed,
            "files_skipped": summary.files_skipped,
            "files_failed": len(summary.files_failed),
        },
        "settings": {
            "chunk_size": base.chunking.size,
            "chunk_overlap": base.chunking.overlap,
            "candidates": base.retrieval.candidates,
            "fusion": base.retrieval.fusion,
            "fuse_documents": base.retrieval.fuse_documents,
            "rrf_k": base.retrieval.rrf_k,
            "bm25_k1": base.retrieval.bm25_k1,
            "bm25_b": base.retrieval.bm25_b,
            "dense_weight": base.retrieval.dense_weight,
            "lexical_weight": base.retrieval.lexical_weight,
            "embedding_model": base.embedding.model,
            "embedding_cache": str(base.embedding.cache_dir) if base.embedding.cache_dir else None,
            "k": k,
        },
        "limited": limit_queries is not None and limit_queries < len(data.queries),
        "modes": results,
    }


def format_table(result: dict[str, Any]) -> str:
    """The result as a Markdown table, with the published figures for the dataset (when we have
    them and every query was run) beneath our rows."""
    header = "| system | nDCG@10 | recall@10 | recall@100 | MRR@10 | p50 ms | p95 ms |"
    lines = [
        f"{result['dataset']} ({result.get('split', 'test')}): {result['documents']} documents, "
        f"{result['chunks']} chunks, ingest {result['ingest_seconds']} s",
        "",
        header,
        "|---|---|---|---|---|---|---|",
    ]

    def cell(values: dict[str, Any], key: str) -> str:
        value = values.get(key)
        return "" if value is None else f"{value:.3f}" if "@" in key else f"{value}"

    for mode, values in result["modes"].items():
        row = [f"ours, {mode} ({values['queries']} queries)"]
        row += [cell(values, key) for key in (*METRICS, "p50_ms", "p95_ms")]
        lines.append("| " + " | ".join(row) + " |")
    if not result.get("limited"):
        for name, values in REFERENCES.get(result["dataset"].lower(), []):
            row = [name] + [cell(values, key) for key in METRICS] + ["", ""]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
