"""Training recommendations from a partner profile and the gaps that matter.

Deterministic ranking from structured data in the store: course records (the catalog) and the
tier requirements a program rule states in its ``requirements`` field. A course scores for
closing a certification gap for the next tier (or the current one), for covering a product with
open pipeline and no certified person, and for matching the partner's roles. Completed courses,
courses the tier or region may not take, courses in no language the partner reads, and courses
whose prerequisites are not met are never recommended — the missing prerequisite is, instead.
"""

from __future__ import annotations

import json
from typing import Any

from assistant.models import CallerContext, Citation, PartnerProfile, Recommendation
from retrieval.access import AccessFilter

LEVELS = {"foundation": 0, "intermediate": 1, "advanced": 2, "expert": 3}


def _visible(service: Any, caller: CallerContext, doc_type: str) -> list[dict[str, Any]]:
    kb = service.kb
    kb.retriever.sync()
    access = AccessFilter.build(caller, service.settings.access, kb.retriever._documents)
    where = {"$and": [*access.where()["$and"], {"doc_type": doc_type}]}
    found = kb.store.chunks.get(where=where, include=["metadatas"])
    return [m for m in found["metadatas"] if kb.retriever._committed(m)]


def _citation(metadata: dict[str, Any], n: int) -> Citation:
    return Citation(
        n=n,
        source=metadata.get("source", ""),
        title=metadata.get("title", ""),
        section=metadata.get("section", ""),
        url=metadata.get("url"),
        doc_type=metadata.get("doc_type"),
        effective_date=metadata.get("effective_date"),
        version=metadata.get("version"),
    )


def recommend(service: Any, profile: PartnerProfile, limit: int = 5) -> list[Recommendation]:
    tiers = service.settings.access.tiers
    caller = CallerContext(
        role="partner", tier=profile.tier, region=profile.region, language=profile.language
    )
    courses: dict[str, tuple[dict, dict]] = {}
    for meta in _visible(service, caller, "training"):
        if meta.get("record_json"):
            record = json.loads(meta["record_json"])
            courses[record["id"]] = (record, meta)
    rule_meta = next(
        (m for m in _visible(service, caller, "program_rule") if m.get("requirements_json")), None
    )
    requirements = json.loads(rule_meta["requirements_json"]) if rule_meta else {}
    tier = (profile.tier or tiers[0]).lower()
    position = tiers.index(tier) if tier in tiers else 0
    next_tier = tiers[position + 1] if position + 1 < len(tiers) else None
    held = {c.lower() for c in profile.certifications}
    done = set(profile.completed_courses)
    needed: dict[str, str] = {}  # certification (lower) -> tier that requires it
    for required_tier in [tier, next_tier]:
        for cert in (
            (requirements.get(required_tier) or {}).get("certifications", [])
            if required_tier
            else []
        ):
            if cert.lower() not in held:
                needed.setdefault(cert.lower(), required_tier)
    certified = {p.lower() for p in profile.certified_products}
    gaps = {
        p.lower(): v for p, v in profile.pipeline.items() if v > 0 and p.lower() not in certified
    }
    top_pipeline = max(gaps.values(), default=1.0) or 1.0
    roles = {r.lower() for r in profile.roles}
    languages = {profile.language.lower(), "en"}

    def takeable(record: dict) -> bool:
        return record["id"] not in done and bool(
            languages & {x.lower() for x in record.get("languages") or ["en"]}
        )

    scored: dict[str, tuple[float, list[str], dict]] = {}

    def add(course_id: str, score: float, reason: str) -> None:
        record, meta = courses[course_id]
        current = scored.get(course_id)
        if current is None or score > current[0]:
            reasons = ([reason] + current[1]) if current else [reason]
            scored[course_id] = (score, reasons, meta)
        elif reason not in current[1]:
            current[1].append(reason)

    for course_id, (record, _) in courses.items():
        if not takeable(record):
            continue
        score, reasons = 0.0, []
        cert = (record.get("certification") or "").lower()
        if cert and cert in needed:
            urgent = needed[cert] == tier
            score += 4.0 if urgent else 3.0
            reasons.append(
                f"{needed[cert].title()} tier requires the {record['certification']} certification"
                + (" (a requirement of your current tier)" if urgent else " (your next tier)")
            )
        products = {p.lower() for p in record.get("products") or []}
        for product in sorted(products & set(gaps)):
            score += 2.0 + gaps[product] / top_pipeline
            reasons.append(
                f"open pipeline of {gaps[product]:,.0f} for {product.title()} with no certified person"
            )
        if roles & {r.lower() for r in record.get("role") or []}:
            score += 0.5
            if reasons:
                reasons.append("matches your roles")
        if score <= 0.5:
            continue
        missing = [p for p in record.get("prerequisites") or [] if p not in done]
        if missing:
            for prerequisite in missing:
                if prerequisite in courses and takeable(courses[prerequisite][0]):
                    add(
                        prerequisite,
                        score - 0.1,
                        f"prerequisite of {course_id} ({record['title']}): {reasons[0]}",
                    )
            continue
        score -= 0.01 * LEVELS.get(record.get("level", "foundation"), 0)
        add(course_id, score, "; ".join(reasons))
    # A prerequisite is itself only recommended when its own prerequisites are met.
    ranked = []
    for course_id, (score, reasons, meta) in scored.items():
        record = courses[course_id][0]
        if any(p not in done for p in record.get("prerequisites") or []):
            continue
        citations = [_citation(meta, 1)]
        if rule_meta and "requires" in " ".join(reasons):
            citations.append(_citation(rule_meta, 2))
        ranked.append(
            Recommendation(
                course_id=course_id,
                title=record["title"],
                score=round(score, 3),
                reason="; ".join(dict.fromkeys(reasons)),
                url=record.get("url"),
                citations=citations,
            )
        )
    ranked.sort(key=lambda r: (-r.score, r.course_id))
    return ranked[:limit]
