"""Settings groups that ingestion owns: chunking, ingest limits and the access vocabulary.

The root :class:`assistant.settings.Settings` composes these groups with the other layers'; the
pipeline only asks for what :class:`IngestionConfig` names, so ingestion never imports upward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


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
    """Limits of one ingest, where document ids start, and the lock that keeps writers apart.

    ``root`` (``PA_INGEST_ROOT``) is the knowledge-base root document ids are relative to; unset,
    it is the top of the chain of folders holding a ``manifest.yaml`` around the path ingested
    (``ingestion/kb_root.py``). ``lock`` picks the lock every write to the store takes: ``file``
    (a lock file in the store folder: one host), ``postgres`` (an advisory lock on the server
    ``lock_url`` names: every host), ``auto`` (``file`` for the embedded store, ``postgres`` for
    a Chroma server). A second writer waits ``lock_timeout`` seconds, then fails naming the
    holder.
    """

    max_file_mb: float = Field(25.0, gt=0)
    # Chunks collected from several files before they are embedded and written in one batch.
    flush_chunks: int = Field(256, ge=1)
    root: Path | None = None
    lock: Literal["auto", "file", "postgres"] = "auto"
    lock_url: SecretStr | None = None
    lock_timeout: float = Field(300.0, ge=0)

    @model_validator(mode="after")
    def _postgres_needs_a_url(self) -> IngestSettings:
        if self.lock == "postgres" and self.lock_url is None:
            raise ValueError("ingest.lock 'postgres' needs PA_INGEST_LOCK_URL=postgresql://...")
        if self.lock_url is not None:
            scheme = self.lock_url.get_secret_value().split("://", 1)[0]
            if scheme.split("+")[0] not in ("postgresql", "postgres"):
                raise ValueError(f"PA_INGEST_LOCK_URL must be a postgresql:// URL, not {scheme}://")
        return self


class AccessSettings(BaseModel):
    """The vocabularies that access control is built on. Tiers are ordered, lowest first."""

    tiers: list[str] = ["registered", "silver", "gold", "platinum"]
    regions: list[str] = ["na", "emea", "apac", "latam"]
    # Other names a question may use for a tier or region code (display names, countries):
    # ``PA_ACCESS_ALIASES='{"apj": ["Asia Pacific", "Japan"], "emea": ["Europe"]}'``.
    aliases: dict[str, list[str]] = {
        "na": ["North America"],
        "emea": ["Europe", "Middle East", "Africa"],
        "apac": ["Asia Pacific", "Asia-Pacific"],
        "latam": ["Latin America"],
    }

    @field_validator("tiers", "regions")
    @classmethod
    def _lowercase_unique(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().lower() for v in values if v.strip()]
        if not cleaned or len(set(cleaned)) != len(cleaned):
            raise ValueError("must be a non-empty list of distinct names")
        return cleaned


class IngestionConfig(Protocol):
    """The settings groups the ingestion pipeline reads (the root ``Settings`` has them all)."""

    @property
    def chunking(self) -> ChunkingSettings: ...

    @property
    def ingest(self) -> IngestSettings: ...

    @property
    def access(self) -> AccessSettings: ...
