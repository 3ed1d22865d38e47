"""Citations: how a retrieved chunk is cited and how an answer names a program rule.

One place for the answer path, drafting and the rule checks (none of them needs the service)."""

from __future__ import annotations

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


def rule_label(citation: Citation) -> str:
    """How an answer names a program rule: title with its version and effective date."""
    parts = [citation.title or citation.source]
    details = []
    if citation.version:
        details.append(f"version {citation.version}")
    if citation.effective_date:
        details.append(f"effective {citation.effective_date}")
    return f"{parts[0]} ({', '.join(details)})" if details else parts[0]
