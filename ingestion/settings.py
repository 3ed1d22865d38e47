"""Settings groups that ingestion owns: chunking, ingest limits and the access vocabulary.

The root :class:`assistant.settings.Settings` composes these groups with the other layers'; the
pipeline only asks for what :class:`IngestionConfig` names, so ingestion never imports upward.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field, field_validator, model_validator


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
    # Chunks collected from several files before they are embedded and written in one batch.
    flush_chunks: int = Field(256, ge=1)


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
