"""The metadata contract (see docs/knowledge-base-format.md) and its validation.

Metadata decides who may see a document, so it is validated strictly: an unknown tier, region or
doc type, or a malformed date, fails that file instead of falling back to a default that could
expose it to the wrong partners.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingestion.documents import LoadError
from ingestion.rule_blocks import DealRegistrationBlock, OnboardingBlock, check_rule_vocabulary
from ingestion.settings import AccessSettings

DocType = Literal["product_doc", "training", "program_rule", "marketing_asset", "faq", "internal"]
FAR_FUTURE = 99991231
SIDECAR_SUFFIX = ".meta.yaml"
MANIFEST_NAME = "manifest.yaml"
RULE_KINDS = ("deal_registration", "onboarding")


def _as_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class DocMetadata(BaseModel):
    """Validated metadata of one document."""

    model_config = ConfigDict(extra="ignore")

    title: str = ""
    doc_type: DocType
    products: list[str] = []
    audience: Literal["partner", "internal"] = "partner"
    tiers: list[str] | None = None
    regions: list[str] | None = None
    language: str = Field("en", min_length=2, max_length=8)
    version: str | None = None
    effective_date: date | None = None
    expires: date | None = None
    superseded_by: str | None = None
    url: str | None = None
    requirements: dict[str, dict[str, Any]] | None = None
    # Rules as data (ingestion/rule_blocks.py): applied by assistant/rules, cited to this document.
    deal_registration: DealRegistrationBlock | None = None
    onboarding: OnboardingBlock | None = None

    @field_validator("products", "tiers", "regions", mode="before")
    @classmethod
    def _split_strings(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("effective_date", "expires", mode="before")
    @classmethod
    def _strict_date(cls, value: Any) -> Any:
        if value is None or isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{value!r} is not a date in YYYY-MM-DD form") from None
        raise ValueError(f"{value!r} is not a date in YYYY-MM-DD form")

    def check_vocabulary(self, access: AccessSettings) -> None:
        for name, values, allowed in (
            ("tier", self.tiers, access.tiers),
            ("region", self.regions, access.regions),
        ):
            for value in values or []:
                if value.lower() not in allowed:
                    raise LoadError(f"unknown {name} {value!r} (allowed: {', '.join(allowed)})")
        if self.requirements:
            for tier in self.requirements:
                if tier.lower() not in access.tiers:
                    raise LoadError(f"unknown tier {tier!r} in requirements")
        blocks = [self.deal_registration, self.onboarding]
        if self.doc_type != "program_rule" and any(b is not None for b in blocks):
            raise LoadError(
                "rule blocks (deal_registration, onboarding) need doc_type program_rule"
            )
        check_rule_vocabulary(blocks, access.tiers, access.regions)
        if self.effective_date and self.expires and self.expires <= self.effective_date:
            raise LoadError("expires must be after effective_date")


def validate_metadata(raw: dict[str, Any], access: AccessSettings) -> DocMetadata:
    """Validate merged metadata, raising :class:`LoadError` with a one-line reason."""
    try:
        meta = DocMetadata.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "metadata"
        raise LoadError(f"bad metadata field {where}: {first['msg']}") from None
    meta.tiers = [t.lower() for t in meta.tiers] if meta.tiers else None
    meta.regions = [r.lower() for r in meta.regions] if meta.regions else None
    if meta.doc_type == "internal":
        meta.audience = "internal"
    meta.check_vocabulary(access)
    return meta


class _TextDatesLoader(yaml.SafeLoader):
    """YAML without implicit timestamps: dates stay text, so that our validator (not the YAML
    parser) reports a bad date with the field's name."""


_TextDatesLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_TextDatesLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (a sidecar or a manifest)."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:
        raise LoadError(f"unreadable YAML in {path.name}: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LoadError(f"{path.name} must hold a mapping of fields")
    return data


def date_ordinal(value: date | None, default: int) -> int:
    """Dates as YYYYMMDD integers, so that Chroma can compare them in a filter."""
    return int(value.strftime("%Y%m%d")) if value else default


def filter_fields(access: AccessSettings) -> frozenset[str]:
    """The fields :func:`chunk_metadata` writes only so that Chroma can filter (per-tier and
    per-region flags, date ordinals): internal, left out wherever metadata is shown."""
    return frozenset(
        {"effective_ord", "expires_ord", "tiers_all", "regions_all", "doc_hash"}
        | {f"tier_{tier}" for tier in access.tiers}
        | {f"region_{region}" for region in access.regions}
    )


def chunk_metadata(meta: DocMetadata, access: AccessSettings) -> dict[str, Any]:
    """Flatten document metadata into Chroma's scalar metadata.

    Chroma filters only on scalars, so set membership is stored as one boolean per tier and
    region (``tier_gold``, ``region_emea``): an absent list means everyone (all flags true).
    """
    flat: dict[str, Any] = {
        "title": meta.title,
        "doc_type": meta.doc_type,
        "audience": meta.audience,
        "products": ",".join(meta.products),
        "tiers": ",".join(meta.tiers or []),
        "regions": ",".join(meta.regions or []),
        "language": meta.language,
        "effective_ord": date_ordinal(meta.effective_date, 0),
        "expires_ord": date_ordinal(meta.expires, FAR_FUTURE),
    }
    for tier in access.tiers:
        flat[f"tier_{tier}"] = meta.tiers is None or tier in meta.tiers
    for region in access.regions:
        flat[f"region_{region}"] = meta.regions is None or region in meta.regions
    flat["tiers_all"] = meta.tiers is None
    flat["regions_all"] = meta.regions is None
    optional = {
        "version": meta.version,
        "effective_date": meta.effective_date.isoformat() if meta.effective_date else None,
        "expires": meta.expires.isoformat() if meta.expires else None,
        "superseded_by": meta.superseded_by,
        "url": meta.url,
        "requirements_json": json.dumps(meta.requirements) if meta.requirements else None,
    }
    # A rule block travels with every chunk of its document, so it is read back with the same
    # version, dates and supersession that retrieval filters on; the flag lets Chroma find it.
    for name in RULE_KINDS:
        block = getattr(meta, name)
        if block is not None:
            flat[f"{name}_json"] = block.model_dump_json(exclude_none=True)
            flat[f"rule_{name}"] = True
    flat.update({k: v for k, v in optional.items() if v is not None})
    return flat


@dataclass(frozen=True)
class Replacement:
    """What a ``superseded_by`` value names: one document (``doc_id``), several documents with
    that title (``ambiguous``), or nothing (both empty)."""

    doc_id: str | None = None
    ambiguous: tuple[str, ...] = ()


def resolve_replacement(
    target: str, documents: Mapping[str, Any], superseded: str | None = None
) -> Replacement:
    """Find the document a ``superseded_by`` value names: a doc id first, else a title.

    Authors write "superseded_by: Deal Registration Policy 2026" as often as a path, so a value
    that is no doc id is matched against document titles (case- and whitespace-insensitive; the
    superseded document itself is never its own replacement). ``documents`` maps doc id to
    records with a ``metadata`` mapping holding ``title``. Callers treat an ambiguous or missing
    replacement as already in force, which hides the old document rather than risk stale answers.
    """
    target = target.strip()
    if target in documents:
        return Replacement(doc_id=target)
    wanted = " ".join(target.lower().split())
    matches = sorted(
        doc_id
        for doc_id, record in documents.items()
        if doc_id != superseded
        and " ".join(str(_record_metadata(record).get("title") or "").lower().split()) == wanted
    )
    if len(matches) == 1:
        return Replacement(doc_id=matches[0])
    return Replacement(ambiguous=tuple(matches) if matches else ())


def _record_metadata(record: Any) -> Mapping[str, Any]:
    meta = (
        record.get("metadata") if isinstance(record, Mapping) else getattr(record, "metadata", None)
    )
    return meta if isinstance(meta, Mapping) else {}
