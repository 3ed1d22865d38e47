"""The one settings object, composed from each layer's groups.

Every path, model, limit and secret of the product is read here, from environment variables
prefixed ``PA_`` (or a ``.env`` file). Groups nest with a single underscore after the group name:
``PA_STORE_DIR`` sets ``settings.store.dir``, ``PA_CHROMA_HOST`` sets ``settings.chroma.host``,
``PA_AUTH_JWT_SECRET`` sets ``settings.auth.jwt_secret``. No other module reads ``os.environ``.

Each layer owns its groups (``ingestion.settings``: chunking, ingest, access vocabulary;
``retrieval.settings``: store, chroma, embedding, retrieval); this module adds the assistant's and
the channels' groups and composes them all.

Example::

    settings = Settings(store=StoreSettings(dir=tmp_path))   # tests override in code
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingestion.settings import AccessSettings, ChunkingSettings, IngestSettings
from retrieval.settings import (
    DEFAULT_HOME,
    ChromaSettings,
    EmbeddingSettings,
    RetrievalSettings,
    StoreSettings,
)

# The groups of the lower layers, composed below; importable from here for convenience.
__all__ = [
    "AccessSettings",
    "ChromaSettings",
    "ChunkingSettings",
    "EmbeddingSettings",
    "IngestSettings",
    "RetrievalSettings",
    "Settings",
    "StoreSettings",
    "get_settings",
]


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
    # Load the model when the API starts (``/readyz`` is 503 until it is loaded).
    warm_up_on_start: bool = True


class AnswerSettings(BaseModel):
    """How answers are made and when the assistant hands off instead.

    ``min_relevance``: below this cosine similarity of the best retrieved chunk the assistant
    abstains. ``min_coverage``: the share of a question's IDF-weighted terms the retrieved chunks
    must hold for the manager insights to count a topic as covered.

    The extractive answer (no reader; see :mod:`assistant.answering.extract`) quotes the best
    passage when its strength (0.6 x embedding similarity + the IDF-weighted share of the
    question's terms it holds, so relative to the corpus) reaches ``min_evidence``, and further
    passages within ``extract_relative_score`` of it, ``extract_max_units`` at most. Chosen
    2026-12-05 on the sample corpus (partner_qa, golden, channel_manager: 0.7 is where golden's
    abstain recall reaches 0.94 with partner_qa's key facts at their best) and then measured,
    untuned, on the Brightmere corpus; figures in benchmarks/README.md ("Extractive fallback").
    """

    sources: int = Field(4, ge=1, le=20)
    min_relevance: float = Field(0.3, ge=-1, le=1)
    min_coverage: float = Field(0.25, ge=0, le=1)
    min_evidence: float = Field(0.7, ge=0, le=2)
    extract_relative_score: float = Field(0.85, gt=0, le=1)
    extract_max_units: int = Field(3, ge=1, le=10)
    queue_size: int = Field(8, ge=1)
    # What the reader sees: the best sentences and table rows, up to this many characters
    # (time to first word grows with every prompt token: ~30 tokens/s on one CPU core).
    passage_budget_chars: int = Field(1000, ge=200, le=20000)
    max_passages: int = Field(6, ge=1, le=40)
    # A top chunk shorter than this brings its neighbours in the same document as evidence.
    neighbours_below_chars: int = Field(400, ge=0)
    # The vendor the assistant speaks for, as the reader's prompt names it.
    vendor: str = "the vendor"
    # Languages the assistant answers in; a question in another one is answered in the hint.
    languages: list[str] = ["en", "de", "es", "fr", "ja"]
    # How sure the detector must be before the question's language wins over the caller's.
    language_confidence: float = Field(0.7, ge=0.5, le=1.0)
    # A question in another language than the corpus's main one is translated by the reader
    # (prompts/translate.md) and searched in both forms; the answer stays in the asked language.
    translate_questions: bool = True


class AuthSettings(BaseModel):
    """Who may call the API (see api/auth.py and the README's "Authentication").

    Partner tokens come from the portal (``jwt_*``; ``jwt_issuer``/``jwt_audience``, when set,
    must match) and carry the partner role only. Staff (channel managers, admins) use
    ``api_keys`` or tokens from a separately configured staff issuer (``staff_*``: its own key,
    issuer and audience, all checked). ``demo`` turns on the demo page, which signs partner
    tokens for any tier with ``demo_secret`` (generated per process when unset) under its own
    issuer and audience; they are refused whenever ``demo`` is off.
    """

    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_public_key: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # API keys for channel managers and admins, as "key:role" or "key:role:name".
    api_keys: list[SecretStr] = []
    staff_issuer: str | None = None
    staff_audience: str | None = None
    staff_jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    staff_jwt_secret: SecretStr | None = None
    staff_jwt_public_key: str | None = None
    demo: bool = False
    demo_secret: SecretStr | None = None
    environment: Literal["development", "production"] = "development"

    @model_validator(mode="after")
    def _separate_identities(self) -> AuthSettings:
        portal = self.jwt_secret.get_secret_value() if self.jwt_secret else None
        if self.demo and self.environment == "production":
            raise ValueError("PA_AUTH_DEMO must be off in production: the demo signs any tier")
        if self.demo_secret is not None and self.demo_secret.get_secret_value() == portal:
            raise ValueError("PA_AUTH_DEMO_SECRET must differ from PA_AUTH_JWT_SECRET")
        if self.staff_issuer is not None:
            if not self.staff_audience:
                raise ValueError("PA_AUTH_STAFF_AUDIENCE is required with PA_AUTH_STAFF_ISSUER")
            key = (
                self.staff_jwt_public_key
                if self.staff_jwt_algorithm == "RS256"
                else (self.staff_jwt_secret and self.staff_jwt_secret.get_secret_value())
            )
            if not key:
                raise ValueError(
                    "PA_AUTH_STAFF_ISSUER needs PA_AUTH_STAFF_JWT_SECRET (HS256) or "
                    "PA_AUTH_STAFF_JWT_PUBLIC_KEY (RS256)"
                )
            if key == portal:
                raise ValueError("PA_AUTH_STAFF_JWT_SECRET must differ from PA_AUTH_JWT_SECRET")
            if self.staff_issuer == self.jwt_issuer:
                raise ValueError("PA_AUTH_STAFF_ISSUER must differ from PA_AUTH_JWT_ISSUER")
        return self


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
    # The bot's language when nothing says otherwise (PA_SLACK_DEFAULT_LANGUAGE): the App Home,
    # and a button or notice whose answer's language is unknown; also the language hint for a
    # question too short to tell. One of the UI languages the API ships (checked at start).
    default_language: str = Field("en", pattern=r"^[a-z]{2,3}$")


class ApiSettings(BaseModel):
    cors_origins: list[str] = []
    rate_limit: str = "30/minute"
    # Failed authentications allowed per client address and per credential prefix; beyond it
    # the API answers 429 with Retry-After, right credentials included, until the window moves.
    auth_failure_limit: str = "20/minute"
    # Rate limits, the failed-authentication throttle and Slack event de-duplication live in
    # this process by default; with several workers point them at one Redis
    # (redis://host:6379/0); ``shared_state_prefix`` starts every key this app writes there.
    shared_state_url: str | None = None
    shared_state_prefix: str = Field("pa", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    max_body_bytes: int = Field(64_000, ge=1024)
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1)
    # The vendor whose partner program the documents describe: the widget's scope line names
    # it ("Answers come from the Altaris partner program documents"). Empty leaves it unnamed.
    vendor_name: str = Field("", max_length=80)

    @model_validator(mode="after")
    def _redis_url(self) -> ApiSettings:
        url = self.shared_state_url
        if url is not None and not url.startswith(("redis://", "rediss://")):
            raise ValueError(
                f"api.shared_state_url {url!r} must be a Redis URL such as "
                "redis://127.0.0.1:6379/0 (or rediss:// for TLS)"
            )
        return self


class RulesSettings(BaseModel):
    """Partner automations (assistant/rules): the widget offers "Your onboarding" to partners
    whose token says they joined less than ``onboarding_window_days`` ago."""

    onboarding_window_days: int = Field(90, ge=0, le=3650)


class HandoffSettings(BaseModel):
    """What a partner is told when they ask for a person (``PA_HANDOFF_RESPONSE_HOURS``)."""

    response_hours: float = Field(24.0, gt=0, le=24 * 60)


class InsightsSettings(BaseModel):
    """How the manager insights read the question log.

    ``window``: the latest questions clustered on demand (bounded so a run stays within seconds).
    ``cluster_similarity``: cosine similarity of normalized question embeddings above which two
    questions join one topic. ``min_known_terms`` / ``min_function_words``: below this share of
    a topic's question words known to the corpus, and below that share of function words of the
    lexical index's language, the topic is a language gap. ``top_topics``/``examples``:
    how much a report shows. ``negative_phrases``: what counts against a conversation's
    sentiment when a question contains it (lower-case substrings; set them for your languages).
    """

    window: int = Field(10_000, ge=10, le=200_000)
    cluster_similarity: float = Field(0.6, gt=0, lt=1)
    min_known_terms: float = Field(0.5, ge=0, le=1)
    min_function_words: float = Field(0.2, ge=0, le=1)
    top_topics: int = Field(20, ge=1, le=500)
    examples: int = Field(5, ge=1, le=50)
    negative_phrases: list[str] = [
        "not helpful",
        "unhelpful",
        "useless",
        "wrong answer",
        "that's wrong",
        "not what i asked",
        "doesn't answer",
        "does not answer",
        "frustrat",
        "waste of time",
    ]


class DbSettings(BaseModel):
    """The record store's database (``PA_DB_URL``): the embedded sqlite file by default, or
    PostgreSQL (``postgresql+psycopg://user@host:5432/name``) when several workers share it.

    ``auto_migrate`` (``PA_DB_AUTO_MIGRATE``) upgrades the schema when the store opens; turn it
    off to run ``partner-assistant db upgrade`` as a release step instead (the API then refuses
    to start on an out-of-date database)."""

    url: str = f"sqlite:///{DEFAULT_HOME / 'app.db'}"
    auto_migrate: bool = True


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
    rules: RulesSettings = RulesSettings()
    handoff: HandoffSettings = HandoffSettings()
    insights: InsightsSettings = InsightsSettings()
    data_dir: Path = Path("data")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.auth.environment == "production":
            secret = self.auth.jwt_secret.get_secret_value() if self.auth.jwt_secret else ""
            if self.auth.jwt_algorithm == "HS256" and len(secret) < 32:
                raise ValueError("PA_AUTH_JWT_SECRET must be set to 32+ characters in production")
        return self

    @model_validator(mode="after")
    def _lock_a_shared_store_in_the_database(self) -> Settings:
        """Writers of a Chroma server on several hosts take turns through a PostgreSQL advisory
        lock (``retrieval/store_lock.py``): unless ``PA_INGEST_LOCK_URL`` names one, it lives
        in the record store's database when that is PostgreSQL, which every worker and ingest
        job of such a deployment already reaches."""
        if self.chroma.host and self.ingest.lock_url is None and self.db.url.startswith("postgres"):
            self.ingest = self.ingest.model_copy(update={"lock_url": SecretStr(self.db.url)})
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
