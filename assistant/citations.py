"""Citations: how a retrieved chunk is cited and how an answer names a program rule.

One place for the answer path, drafting and the rule checks (none of them needs the service)."""

from __future__ import annotations

from assistant.answering.messages import message
from assistant.models import Citation, SearchHit


def citation_for(n: int, hit: SearchHit) -> Citation:
    m = hit.metadata
    return Citation(
        n=n,
        source=hit.source,
        title=hit.title,
        section=hit.section,
        page=hit.page,
        url=m.get("url"),
        doc_type=m.get("doc_type"),
        effective_date=m.get("effective_date"),
        version=m.get("version"),
    )


def rule_label(citation: Citation, language: str = "en") -> str:
    """How an answer names a program rule: title (in its own language) with its version and
    effective date (worded in the answer's ``language``)."""
    details = []
    if citation.version:
        details.append(message("rule_version", language, version=citation.version))
    if citation.effective_date:
        details.append(message("rule_effective", language, date=citation.effective_date))
    title = citation.title or citation.source
    return f"{title} ({', '.join(details)})" if details else title
