"""Find the rule in force for a caller on a date, with what is needed to cite it.

Rule blocks ride on every chunk of their document (``deal_registration_json``,
``onboarding_json`` in the chunk metadata, see ingestion/metadata.py), so the search for a rule
goes through the same :class:`AccessFilter` that retrieval uses: a partner is only ever checked
against a rule document they may see, and only against the version in force on the date asked
(effective date reached, not expired, not superseded by a replacement in force then). Only
committed document versions count, exactly as in retrieval.

When several visible documents carry a block of the same kind, the one with the latest
effective date wins (a regional addendum published later than the global rule replaces it for
the partners who can see it).

Example::

    book = RuleBook(kb, settings.access)
    rule = book.in_force("deal_registration", CallerContext(tier="gold", region="emea"))
    rule.block.protection_days, rule.ref.version, rule.cite("protection_days")
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from assistant.models import CallerContext
from assistant.settings import AccessSettings
from ingestion.rule_blocks import DealRegistrationBlock, OnboardingBlock
from retrieval.access import AccessFilter

RuleKind = Literal["deal_registration", "onboarding"]
BLOCKS: dict[str, type[BaseModel]] = {
    "deal_registration": DealRegistrationBlock,
    "onboarding": OnboardingBlock,
}
B = TypeVar("B", DealRegistrationBlock, OnboardingBlock)


class RuleRef(BaseModel):
    """The rule document a verdict rests on (the ``rule`` field of a pre-check)."""

    source: str
    title: str = ""
    version: str | None = None
    effective_date: str | None = None
    url: str | None = None


class RuleCitation(BaseModel):
    """Where one check's rule is written: the document and, when the text has one, its section."""

    source: str
    title: str = ""
    section: str = ""
    version: str | None = None
    effective_date: str | None = None
    url: str | None = None

    def label(self) -> str:
        parts = [self.title or self.source]
        if self.version:
            parts.append(f"version {self.version}")
        if self.section:
            parts.append(f"section {self.section!r}")
        return ", ".join(parts)


@dataclass
class Rule(Generic[B]):
    """One rule block in force, with its document and the text of its sections."""

    kind: str
    block: B
    ref: RuleRef
    sections: list[tuple[str, str]] = field(default_factory=list)  # (section path, text)

    def cite(self, key: str, *evidence: str) -> RuleCitation:
        """The citation for the rule ``key``: the section the block names for it, else the
        section whose text states one of the ``evidence`` strings (a figure from the rule),
        else the document alone — never a guessed section."""
        section = self._named_section(getattr(self.block, "sections", {}).get(key))
        if not section:
            section = self._section_stating(evidence)
        return RuleCitation(**self.ref.model_dump(), section=section)

    def _named_section(self, name: str | None) -> str:
        if not name:
            return ""
        wanted = _norm(name)
        for path, _ in self.sections:
            if _norm(path) == wanted or _norm(path).endswith(" > " + wanted):
                return path
        return name  # the author named it; the text is split differently (e.g. a PDF page)

    def _section_stating(self, evidence: tuple[str, ...]) -> str:
        # Evidence is tried in the order given, most specific first (a course code before a
        # day count that many sections may state).
        texts = [(path, " ".join(text.split())) for path, text in self.sections if path]
        for needle in (e for e in evidence if e):
            for path, flat in texts:
                if _states(flat, needle):
                    return path
        return ""


def _norm(text: str) -> str:
    return " > ".join(part.strip().lower() for part in text.split(">"))


def _states(text: str, needle: str) -> bool:
    return re.search(rf"(?<![\w.,]){re.escape(needle)}(?![\w]|[.,]\d)", text) is not None


def number_forms(value: Any) -> list[str]:
    """How a figure may be written in a document: ``15000`` -> 15000, 15,000, 15.000, 15 000."""
    try:
        whole = Decimal(str(value))
    except ArithmeticError:
        return [str(value)]
    if whole != whole.to_integral_value():
        return [str(value)]
    plain, grouped = str(int(whole)), f"{int(whole):,}"
    forms = [plain, grouped, grouped.replace(",", "."), grouped.replace(",", " ")]
    return list(dict.fromkeys(forms))


class RuleBook:
    """Reads rule blocks from the knowledge base through the caller's access filter."""

    def __init__(self, kb: Any, access: AccessSettings) -> None:
        self.kb = kb
        self.access = access

    def in_force(self, kind: RuleKind, caller: CallerContext) -> Rule | None:
        """The ``kind`` block in force for ``caller`` on ``caller.as_of`` (today when unset)."""
        retriever = self.kb.retriever
        retriever.sync()
        access = AccessFilter.build(caller, self.access, retriever._documents)
        where = {"$and": [*access.where()["$and"], {f"rule_{kind}": True}]}
        found = self.kb.store.chunks.get(where=where, include=["metadatas", "documents"])
        by_source: dict[str, list[tuple[dict[str, Any], str]]] = {}
        for metadata, text in zip(found["metadatas"], found["documents"]):
            if retriever._committed(metadata) and access.allows(metadata):
                by_source.setdefault(metadata["source"], []).append((metadata, text))
        if not by_source:
            return None
        source = max(by_source, key=lambda s: (by_source[s][0][0].get("effective_ord", 0), s))
        chunks = sorted(by_source[source], key=lambda c: c[0].get("chunk_index", 0))
        first = chunks[0][0]
        block = BLOCKS[kind].model_validate(json.loads(first[f"{kind}_json"]))
        ref = RuleRef(
            source=source,
            title=first.get("title", ""),
            version=first.get("version"),
            effective_date=first.get("effective_date"),
            url=first.get("url"),
        )
        sections: dict[str, list[str]] = {}
        for metadata, text in chunks:
            sections.setdefault(metadata.get("section", ""), []).append(text)
        return Rule(kind, block, ref, [(p, "\n".join(t)) for p, t in sections.items()])

    def unstructured_source(self, kind: RuleKind, caller: CallerContext) -> RuleRef | None:
        """The program-rule document the caller would be pointed to for ``kind`` by search, so
        that an answer can say which document states the rule in prose only."""
        query = kind.replace("_", " ")
        for hit in self.kb.retriever.retrieve(query, caller, k=5):
            if hit.metadata.get("doc_type") == "program_rule":
                return RuleRef(
                    source=hit.source,
                    title=hit.title,
                    version=hit.metadata.get("version"),
                    effective_date=hit.metadata.get("effective_date"),
                    url=hit.metadata.get("url"),
                )
        return None
