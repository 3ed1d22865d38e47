"""Personalised drafts (email, social post, solution brief) from approved material only.

A draft is assembled from the approved marketing assets and product docs the caller may see:
the sentences that best match the product and vertical, each cited. The assembly is
deterministic; no price, discount or claim can appear that a source does not hold, and any
figure in the draft is checked against the sources before it is returned.
"""

from __future__ import annotations

from typing import Any

from assistant import grounding
from assistant.models import CallerContext, Citation, Draft, DraftRequest
from assistant.prompt_files import load_prompt

KIND_LABEL = {
    "email": "co-marketing email",
    "social_post": "social media post",
    "solution_brief": "solution brief",
}


def draft(service: Any, request: DraftRequest, caller: CallerContext) -> Draft:
    vertical = request.vertical or ""
    query = f"{request.product} {vertical} value proposition benefits customers".strip()
    hits = [
        h
        for h in service.kb.retriever.retrieve(query, caller, k=12)
        if h.metadata.get("doc_type") in ("marketing_asset", "product_doc")
    ][:5]
    if not hits:
        raise LookupError(f"no approved material about {request.product!r} is available to you")
    evidence = grounding.best_sentences(
        query, hits, service.idf, service._similarity(query), limit=4
    )
    used = sorted({e.source for e in evidence})
    numbering = {n: i for i, n in enumerate(used, start=1)}
    citations: list[Citation] = []
    from assistant.service import citation_for

    for n in used:
        citations.append(citation_for(numbering[n], hits[n - 1]))
    facts = [f"{e.text.rstrip('.')}. [{numbering[e.source]}]" for e in evidence]
    partner = request.partner or "our team"
    audience = f"{vertical} organisations" if vertical else "organisations like yours"
    if request.kind == "email":
        body = "\n".join(f"- {f}" for f in facts)
        text = (
            f"Subject: {request.product} for {audience}\n\n"
            f"Hello,\n\n{partner} works with {request.product} to help {audience}.\n\n{body}\n\n"
            f"Would you like a short call to see how this applies to you?\n\nBest regards,\n{partner}"
        )
    elif request.kind == "social_post":
        text = f"{facts[0]} {partner} helps {audience} put {request.product} to work."
    else:
        body = "\n".join(f"- {f}" for f in facts)
        text = (
            f"{request.product} for {audience}\n\nThe solution\n{body}\n\n"
            f"Why {partner}\n{partner} plans, deploys and supports {request.product} for {audience}."
        )
    source_numbers = grounding.numbers(" ".join(h.text for h in hits))
    removed = sorted(grounding.numbers(grounding.MARKER.sub("", text)) - source_numbers)
    prompt = load_prompt("draft")
    return Draft(
        kind=request.kind,
        text=text,
        citations=citations,
        grounded=not removed,
        removed_claims=removed,
        prompt=prompt.ref,
    )
