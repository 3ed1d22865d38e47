"""The training catalog: structured course records (YAML, JSON or CSV).

Each course becomes its own document (``<file>#<id>``) with one chunk, so that it can be cited,
filtered by its own tiers, regions and languages, and read back whole by the recommender
(``record_json`` in the chunk metadata).

Descriptive fields (``level``, ``format``, ``role``, ``duration``) take the vendor's own words and
keep them as written: catalogs say Associate/Professional/Expert, "On-demand", "Solution Engineer".
Only the level is ranked, through :mod:`ingestion.catalog_vocabulary`; an unknown level is a
warning in the ingest summary, never a failure. Access fields (``tiers``, ``regions``) are checked
strictly by the pipeline like any document's metadata.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingestion.catalog_vocabulary import LEVEL_RANKS, level_rank
from ingestion.documents import Block, LoadedDocument, LoadError
from ingestion.metadata import load_yaml

LIST_FIELDS = ("products", "role", "prerequisites", "languages", "tiers", "regions")


class Course(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    summary: str = ""
    products: list[str] = []
    level: str = ""
    level_rank: int | None = None  # derived from ``level``; never read from the record
    role: list[str] = []
    format: str = ""
    duration: str = ""
    duration_hours: float | None = Field(None, ge=0)
    prerequisites: list[str] = []
    certification: str | None = None
    languages: list[str] = ["en"]
    tiers: list[str] | None = None
    regions: list[str] | None = None
    url: str | None = None

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):  # an empty CSV cell is an empty list, not a missing one
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return [p for p in parts if p]
        return value

    @field_validator("id", "certification", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value).strip() if value not in (None, "") else None

    @field_validator("level", "format", "duration", mode="before")
    @classmethod
    def _as_written(cls, value: Any) -> Any:
        """Any wording, kept as written (numbers such as ``duration: 4`` become text)."""
        if value is None:
            return ""
        return " ".join(str(value).split()) if isinstance(value, str | int | float) else value

    @field_validator("duration_hours", mode="before")
    @classmethod
    def _blank_hours(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def as_text(self) -> str:
        lines = [f"Course {self.id}: {self.title}", self.summary]
        facts = {
            "Products": ", ".join(self.products),
            "Level": self.level,
            "Roles": ", ".join(self.role),
            "Format": self.format,
            "Duration": self.duration
            or (f"{self.duration_hours:g} hours" if self.duration_hours else ""),
            "Prerequisites": ", ".join(self.prerequisites) or "none",
            "Certification granted": self.certification or "none",
            "Languages": ", ".join(self.languages),
        }
        lines += [f"{k}: {v}" for k, v in facts.items() if v]
        return "\n".join(line for line in lines if line)


def _records(path: Path, text: str) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return list(csv.DictReader(io.StringIO(text)))
        data = json.loads(text) if suffix == ".json" else load_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError, csv.Error) as exc:
        raise LoadError(f"unreadable catalog: {str(exc).splitlines()[0]}") from None
    if isinstance(data, dict):
        data = data.get("courses")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise LoadError("a catalog must be a list of courses or a mapping with 'courses'")
    return data


def load_catalog(path: Path, doc_id: str, text: str) -> list[LoadedDocument]:
    documents = []
    seen: set[str] = set()
    for number, record in enumerate(_records(path, text), start=1):
        try:
            course = Course.model_validate({k: v for k, v in record.items() if k != "level_rank"})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise LoadError(f"course #{number}: bad field {field}: {first['msg']}") from None
        course.level_rank = level_rank(course.level)
        warnings = []
        if course.level and course.level_rank is None:
            warnings.append(
                f"course {course.id}: level {course.level!r} has no known rank, kept as written "
                f"(known levels: {', '.join(sorted(LEVEL_RANKS))}; add a synonym in "
                "ingestion/catalog_vocabulary.py)"
            )
        if course.id in seen:
            raise LoadError(f"course id {course.id!r} appears twice")
        seen.add(course.id)
        raw = {
            "title": course.title,
            "doc_type": "training",
            "products": course.products,
            "language": course.languages[0] if course.languages else "en",
            "url": course.url,
        }
        if course.tiers:
            raw["tiers"] = course.tiers
        if course.regions:
            raw["regions"] = course.regions
        documents.append(
            LoadedDocument(
                doc_id=f"{doc_id}#{course.id}",
                source=doc_id,
                blocks=[Block(text=course.as_text(), kind="record", headings=(course.title,))],
                raw_metadata={k: v for k, v in raw.items() if v is not None},
                default_title=course.title,
                warnings=warnings,
            )
        )
        documents[-1].raw_metadata["_record"] = course.model_dump()
    if not documents:
        raise LoadError("catalog holds no courses")
    return documents
