"""BM25 over the same chunks as the vector store (bm25s, stemmed), persisted beside it.

The index records the store generation it was built from. Opening it when the store has moved on
(another process ingested, or Chroma runs as a server shared by several workers) rebuilds it from
the store, so the lexical path never serves deleted or stale chunks. Writes go to a temporary
folder that is renamed into place, so a crash never leaves a half-written index.

Access control is applied as a mask over the whole index, computed with the same
``AccessFilter.allows`` rule the dense path uses, and cached per distinct filter.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from retrieval.access import AccessFilter

CODE = re.compile(r"\b[A-Za-z0-9]+(?:[-_/.][A-Za-z0-9]+)+\b")
# Metadata the access rule reads; the rest stays in Chroma.
ACCESS_KEYS = (
    "audience",
    "effective_ord",
    "expires_ord",
    "source",
    "doc_id",
    "doc_hash",
    "tiers_all",
    "regions_all",
)


def analysable(text: str) -> str:
    """Add joined forms of codes so "AG-EDR-100" also matches "agedr100" and vice versa."""
    joined = " ".join(re.sub(r"[-_/.]", "", code) for code in CODE.findall(text))
    return f"{text} {joined}" if joined else text


class LexicalIndex:
    def __init__(self, folder: Path, k1: float = 0.9, b: float = 0.4) -> None:
        self.folder = folder
        self.k1, self.b = k1, b
        self.stemmer = Stemmer.Stemmer("english")
        self.bm25: bm25s.BM25 | None = None
        self.ids: list[str] = []
        self.metadata: list[dict[str, Any]] = []
        self.generation = -1
        self._masks: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    # -- building ------------------------------------------------------------------------
    def _tokenize(self, texts: list[str]) -> Any:
        return bm25s.tokenize(
            [analysable(t) for t in texts],
            stopwords="en",
            stemmer=self.stemmer,
            show_progress=False,
        )

    def build(
        self, ids: list[str], texts: list[str], metadata: list[dict[str, Any]], generation: int
    ) -> None:
        self.ids, self.generation = list(ids), generation
        self.metadata = [{k: m.get(k) for k in ACCESS_KEYS} | _flags(m) for m in metadata]
        self._masks.clear()
        if ids:
            self.bm25 = bm25s.BM25(k1=self.k1, b=self.b)
            self.bm25.index(self._tokenize(texts), show_progress=False)
        else:
            self.bm25 = None

    def save(self) -> None:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        if self.bm25 is not None:
            self.bm25.save(str(tmp / "bm25"), show_progress=False)
        (tmp / "chunks.json").write_text(
            json.dumps({"generation": self.generation, "ids": self.ids, "metadata": self.metadata})
        )
        old = self.folder.with_name(self.folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            self.folder.rename(old)
        tmp.rename(self.folder)
        shutil.rmtree(old, ignore_errors=True)

    def load(self) -> bool:
        """Load the saved index; False when there is none (or it is unreadable)."""
        try:
            saved = json.loads((self.folder / "chunks.json").read_text())
            bm25 = bm25s.BM25.load(str(self.folder / "bm25")) if saved["ids"] else None
        except (OSError, ValueError, KeyError):
            return False
        self.ids, self.metadata = saved["ids"], saved["metadata"]
        self.generation, self.bm25 = int(saved["generation"]), bm25
        self._masks.clear()
        return True

    # -- searching -----------------------------------------------------------------------
    def _mask(self, access: AccessFilter | None) -> np.ndarray | None:
        if access is None:
            return None
        key = (
            access.caller.role,
            access.caller.tier,
            access.caller.region,
            access.as_of,
            access.superseded,
        )
        with self._lock:
            if key in self._masks:
                self._masks.move_to_end(key)
                return self._masks[key]
        mask = np.fromiter(
            (access.allows(m) for m in self.metadata), dtype=bool, count=len(self.metadata)
        )
        with self._lock:
            self._masks[key] = mask
            while len(self._masks) > 64:
                self._masks.popitem(last=False)
        return mask

    def doc_freq(self, term: str) -> int:
        """In how many chunks a stemmed term occurs (0 when unknown)."""
        if self.bm25 is None:
            return 0
        token = self.bm25.vocab_dict.get(term)
        if token is None:
            return 0
        indptr = self.bm25.scores["indptr"]
        return int(indptr[token + 1] - indptr[token])

    def search(
        self, query: str, k: int, access: AccessFilter | None = None
    ) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, BM25 score) among the chunks ``access`` allows."""
        if self.bm25 is None or not self.ids:
            return []
        tokens = bm25s.tokenize(
            [analysable(query)],
            stopwords="en",
            stemmer=self.stemmer,
            show_progress=False,
            return_ids=False,
        )[0]
        tokens = [t for t in tokens if t in self.bm25.vocab_dict]
        if not tokens:
            return []
        scores = self.bm25.get_scores(tokens)
        mask = self._mask(access)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]


def _flags(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k.startswith(("tier_", "region_"))}
