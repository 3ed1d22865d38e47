"""BM25 over the same chunks as the vector store (bm25s), analysed per language, persisted
beside it.

Each chunk is analysed by its ``language`` metadata: a Snowball stemmer and stopwords for the
languages ``RetrievalSettings.lexical_languages`` names, otherwise language-neutrally (words as
they are; runs of CJK/Thai script, written without spaces, as character bigrams). A query is
analysed the way *each* language in the index analyses text (English tokens first, so an
English-only index sees exactly the English analysis), so its words meet a chunk's words however
that chunk was analysed: "Distributor" in a German addendum and in an English question meet.

The index records the store generation it was built from. Opening it when the store has moved on
(another process ingested, or Chroma runs as a server shared by several workers) rebuilds it from
the store, so the lexical path never serves deleted or stale chunks. Writes go to a temporary
folder that is renamed into place, so a crash never leaves a half-written index.

Access control is applied as a mask over the whole index, computed with the same rule the dense
path uses (``AccessFilter.mask``, vectorized over the access metadata kept as arrays) and cached
per caller signature until the index is rebuilt for a new store generation. The dense path
reuses the same cached mask for its unfiltered candidates.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from retrieval.access import AccessColumns, AccessFilter

DEFAULT_LANGUAGES = {"en": "english"}
# Kana, CJK ideographs, hangul and Thai: scripts written without spaces between words, indexed
# as overlapping character bigrams.
UNSPACED_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f"
UNSPACED = re.compile(f"[{UNSPACED_CHARS}]")
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
    "language",
)


def analysable(text: str) -> str:
    """Add joined forms of codes so "AG-EDR-100" also matches "agedr100" and vice versa."""
    joined = " ".join(re.sub(r"[-_/.]", "", code) for code in CODE.findall(text))
    return f"{text} {joined}" if joined else text


class Analyzer:
    """Text to BM25 tokens for one language: stemmed with stopwords, or language-neutral."""

    def __init__(self, stemmer: str | None) -> None:
        self.stemmer = Stemmer.Stemmer(stemmer) if stemmer else None
        self.stopwords: Any = None
        if stemmer:
            try:
                self.stopwords = "en" if stemmer == "english" else stemmer
                bm25s.tokenization._infer_stopwords(self.stopwords)
            except (ValueError, AttributeError):  # bm25s has no list for this language
                self.stopwords = None

    def tokens(self, texts: list[str]) -> list[list[str]]:
        tokenized = bm25s.tokenize(
            [analysable(t) for t in texts],
            stopwords=self.stopwords,
            stemmer=self.stemmer,
            show_progress=False,
            return_ids=False,
        )
        return [_split_unspaced(tokens) for tokens in tokenized]


def _split_unspaced(tokens: list[str]) -> list[str]:
    if not any(UNSPACED.search(t) for t in tokens):
        return tokens
    out: list[str] = []
    for token in tokens:
        if UNSPACED.search(token) and len(token) > 1:
            out.extend(token[i : i + 2] for i in range(len(token) - 1))
        else:
            out.append(token)
    return out


class LexicalIndex:
    def __init__(
        self,
        folder: Path,
        k1: float = 0.9,
        b: float = 0.4,
        languages: dict[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.k1, self.b = k1, b
        self.languages = dict(DEFAULT_LANGUAGES if languages is None else languages)
        self._analyzers: dict[str, Analyzer] = {}
        self.stemmer = self.analyzer("en").stemmer
        self.bm25: bm25s.BM25 | None = None
        self.ids: list[str] = []
        self.metadata: list[dict[str, Any]] = []
        self.indexed_languages: list[str] = []
        # How many indexed chunks each language has (codes as the analyzers read them).
        self.language_counts: Counter[str] = Counter()
        self.generation = -1
        self._row_of: dict[str, int] | None = None
        self._columns: AccessColumns | None = None
        self._masks: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def analyzer(self, language: str | None) -> Analyzer:
        """The analyzer of a language code ("de", "de-AT" → German); neutral when unknown."""
        code = (language or "").lower().split("-")[0].split("_")[0]
        if code not in self._analyzers:
            self._analyzers[code] = Analyzer(self.languages.get(code))
        return self._analyzers[code]

    # -- building ------------------------------------------------------------------------
    def _tokenize(self, texts: list[str], languages: list[str]) -> list[list[str]]:
        out: list[list[str]] = [[] for _ in texts]
        by_language: dict[str, list[int]] = {}
        for row, language in enumerate(languages):
            by_language.setdefault(language, []).append(row)
        for language, rows in by_language.items():
            for row, tokens in zip(rows, self.analyzer(language).tokens([texts[r] for r in rows])):
                out[row] = tokens
        return out

    def build(
        self, ids: list[str], texts: list[str], metadata: list[dict[str, Any]], generation: int
    ) -> None:
        self.ids, self.generation = list(ids), generation
        self.metadata = [{k: m.get(k) for k in ACCESS_KEYS} | _flags(m) for m in metadata]
        self._masks.clear()
        self._row_of = self._columns = None
        languages = [_language(m) for m in metadata]
        self.language_counts = Counter(languages)
        self.indexed_languages = sorted(set(languages), key=lambda code: (code != "en", code))
        if ids:
            self.bm25 = bm25s.BM25(k1=self.k1, b=self.b)
            self.bm25.index(self._tokenize(texts, languages), show_progress=False)
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
            json.dumps(
                {
                    "generation": self.generation,
                    "ids": self.ids,
                    "metadata": self.metadata,
                    "languages": self.indexed_languages,
                    "analysis": self.signature(),
                }
            )
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
        if saved.get("analysis") != self.signature():
            return False  # built with other BM25 parameters or analyzers: rebuild
        self.ids, self.metadata = saved["ids"], saved["metadata"]
        self.language_counts = Counter(_language(m) for m in self.metadata)
        self.indexed_languages = saved.get("languages", ["en"])
        self.generation, self.bm25 = int(saved["generation"]), bm25
        self._masks.clear()
        self._row_of = self._columns = None
        return True

    def signature(self) -> dict[str, Any]:
        """What the saved index depends on besides the chunks."""
        return {"k1": self.k1, "b": self.b, "languages": self.languages, "version": 2}

    def query_tokens(self, query: str, language: str | None = None) -> list[str]:
        """The query analysed as each indexed language (English first) would analyse it, plus
        ``language`` when given; tokens the index does not know are dropped."""
        if self.bm25 is None:
            return []
        codes = list(self.indexed_languages or ["en"])
        if language and language not in codes:
            codes.append(language)
        vocab = self.bm25.vocab_dict
        tokens: list[str] = []
        seen: set[str] = set()
        for n, code in enumerate(codes):
            analysed = self.analyzer(code).tokens([query])[0]
            fresh = [t for t in analysed if t in vocab and (n == 0 or t not in seen)]
            tokens.extend(fresh)
            seen.update(fresh)
        return tokens

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
        with self._lock:
            if self._columns is None or len(self._columns.metadata) != len(self.metadata):
                self._columns = AccessColumns(self.metadata)
            columns = self._columns
        mask = access.mask(columns)
        with self._lock:
            self._masks[key] = mask
            while len(self._masks) > 64:
                self._masks.popitem(last=False)
        return mask

    def visible_share(self, access: AccessFilter) -> float:
        """The share of the indexed chunks ``access`` allows (1.0 for an empty index)."""
        mask = self._mask(access)
        return 1.0 if mask is None or not len(mask) else float(np.count_nonzero(mask)) / len(mask)

    def allowed(self, access: AccessFilter, ids: list[str]) -> list[bool | None]:
        """For each chunk id: whether ``access`` allows it, or None when the index does not
        hold it (written by a run that has not bumped the store generation yet)."""
        rows = self._rows()
        mask = self._mask(access)
        out: list[bool | None] = []
        for cid in ids:
            row = rows.get(cid)
            out.append(None if row is None else (mask is None or bool(mask[row])))
        return out

    def doc_of(self, chunk_id: str) -> str:
        """The document a chunk belongs to (the chunk id itself when unknown)."""
        row = self._rows().get(chunk_id)
        return chunk_id if row is None else str(self.metadata[row].get("doc_id") or chunk_id)

    def _rows(self) -> dict[str, int]:
        rows = self._row_of
        if rows is None or len(rows) != len(self.ids):
            rows = self._row_of = {cid: n for n, cid in enumerate(self.ids)}
        return rows

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
        self,
        query: str,
        k: int,
        access: AccessFilter | None = None,
        language: str | None = None,
    ) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, BM25 score) among the chunks ``access`` allows."""
        if self.bm25 is None or not self.ids:
            return []
        tokens = self.query_tokens(query, language)
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


def _language(metadata: dict[str, Any]) -> str:
    return str(metadata.get("language") or "en").lower().split("-")[0].split("_")[0]


def _flags(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k.startswith(("tier_", "region_"))}
