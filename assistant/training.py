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

from assistant.citations import citation_for
from assistant.models import CallerContext, PartnerProfile, Recommendation, SearchHit
from ingestion.catalog_vocabulary import level_rank


def _visible(service: Any, caller: CallerContext, doc_type: str) -> list[SearchHit]:
    return service.kb.retriever.browse(caller, {"doc_type": doc_type})


def recommend(service: Any, profile: PartnerProfile, limit: int = 5) -> list[Recommendation]:
    tiers = service.settings.access.tiers
    caller = CallerContext(
        role="partner", tier=profile.tier, region=profile.region, language=profile.language
    )
    courses: dict[str, tuple[dict, SearchHit]] = {}
    for hit in _visible(service, caller, "training"):
        if hit.metadata.get("record_json"):
            record = json.loads(hit.metadata["record_json"])
            courses[record["id"]] = (record, hit)
    rule = next(
        (
            h
            for h in _visible(service, caller, "program_rule")
            if h.metadata.get("requirements_json")
        ),
        None,
    )
    requirements = json.loads(rule.metadata["requirements_json"]) if rule else {}
    tier = (profile.tier or tiers[0]).lower()
    position = tiers.index(tier) if tier in tiers else 0
    next_tier = tiers[position + 1] if position + 1 < len(tiers) else None
    done = set(profile.completed_courses)
    held = {c.lower() for c in profile.certifications} | {
        (courses[c][0].get("certification") or "").lower() for c in done if c in courses
    }
    needed: dict[str, str] = {}  # certification (lower) -> tier that requires it
    for required_tier in [tier, next_tier]:
        if required_tier is None:
            continue
        for cert in (requirements.get(required_tier) or {}).get("certifications", []):
            if not any(_same_certification(cert, h) for h in held if h):
                needed.setdefault(cert.lower(), required_tier)
    certified = {p.lower() for p in profile.certified_products}
    gaps = {
        p.lower(): v for p, v in profile.pipeline.items() if v > 0 and p.lower() not in certified
    }
    top_pipeline = max(gaps.values(), default=1.0) or 1.0
    roles = {r.lower() for r in profile.roles}
    languages = {profile.language.lower(), "en"}

    def takeable(course_id: str) -> bool:
        if course_id not in courses or course_id in done:
            return False
        record = courses[course_id][0]
        return bool(languages & {x.lower() for x in record.get("languages") or ["en"]})

    def next_step(course_id: str, seen: frozenset = frozenset()) -> list[str]:
        """The course itself when its prerequisites are met, else the first takeable steps of
        the chain towards it (a prerequisite's prerequisite, and so on)."""
        missing = [p for p in courses[course_id][0].get("prerequisites") or [] if p not in done]
        if not missing:
            return [course_id]
        steps: list[str] = []
        for prerequisite in missing:
            if prerequisite in seen or not takeable(prerequisite):
                continue
            steps += next_step(prerequisite, seen | {course_id})
        return steps

    scored: dict[str, tuple[float, list[str], SearchHit]] = {}
    for course_id, (record, _) in courses.items():
        if not takeable(course_id):
            continue
        score, reasons = 0.0, []
        cert = (record.get("certification") or "").lower()
        match = next((n for n in needed if cert and _same_certification(cert, n)), None)
        if match:
            urgent = needed[match] == tier
            score += 4.0 if urgent else 3.0
            reasons.append(
                f"{needed[match].title()} tier requires the {record['certification']} certification"
                + (" (a requirement of your current tier)" if urgent else " (your next tier)")
            )
        products = {p.lower() for p in record.get("products") or []}
        for product in sorted(products & set(gaps)):
            # A course for one product closes that gap more directly than a portfolio course.
            score += (2.0 + gaps[product] / top_pipeline) / len(products)
            reasons.append(
                f"open pipeline of {_amount(gaps[product], profile.currency)} for "
                f"{product.title()} with no certified person"
            )
        sold = {p.lower() for p in profile.products}
        if products and products & sold:
            score += len(products & sold) / len(products)
            reasons.append(
                f"covers {', '.join(sorted(p.title() for p in products & sold))}, which you sell"
            )
        course_roles = {r.lower() for r in record.get("role") or []}
        if roles & course_roles:
            score += 1.0
            reasons.append(f"for your {'/'.join(sorted(roles & course_roles))} role")
        prerequisites = record.get("prerequisites") or []
        if prerequisites and all(p in done for p in prerequisites):
            score += 0.5
            reasons.append(f"the next step after {', '.join(prerequisites)}")
        if record.get("tiers") and tier in [t.lower() for t in record["tiers"]]:
            score += 0.5
            reasons.append(f"reserved for {'/'.join(record['tiers'])} partners")
        if roles and course_roles and not roles & course_roles:
            score *= 0.5
        if score < 1.0:
            continue
        # One short reason per course: the strongest signal of the best path to it (a
        # prerequisite says which course it leads to); the other signals stay in the score.
        for step in next_step(course_id):
            why = reasons[0]
            if step != course_id:
                why = f"prerequisite for {record['title']} ({course_id}): {why}"
            step_score = score - 0.01 * _rank(courses[step][0])
            if step != course_id:
                step_score -= 0.1
            current = scored.get(step)
            if current is None or step_score > current[0]:
                scored[step] = (step_score, [why], courses[step][1])
    ranked = []
    for course_id, (score, reasons, hit) in scored.items():
        record = courses[course_id][0]
        citations = [citation_for(1, hit)]
        if rule and "requires" in " ".join(reasons):
            citations.append(citation_for(2, rule))
        ranked.append(
            Recommendation(
                course_id=course_id,
                title=record["title"],
                score=round(score, 3),
                reason=reasons[0],
                url=record.get("url"),
                citations=citations,
            )
        )
    ranked.sort(key=lambda r: (-r.score, r.course_id))
    return ranked[:limit]


def _rank(record: dict[str, Any]) -> int:
    """The course level's rank (stored at ingest; older stores hold only the level text).
    An unranked level counts as the lowest."""
    rank = record.get("level_rank")
    if rank is None:
        rank = level_rank(record.get("level"))
    return rank or 0


def _amount(value: float, currency: str | None) -> str:
    """``USD 250,000``: a profile's pipeline figures are only meaningful with their currency."""
    return f"{currency} {value:,.0f}" if currency else f"{value:,.0f}"


def _same_certification(a: str, b: str) -> bool:
    """ "Certified Sales Associate" and "Altaris Certified Sales Associate" name one certification."""
    a, b = " ".join(a.lower().split()), " ".join(b.lower().split())
    return bool(a and b) and (a == b or a.endswith(" " + b) or b.endswith(" " + a))
