"""`RulesDesk`: the partner automations every channel calls through ``AssistantService.rules``.

It ties the rule book (what the caller may be checked against), the pre-check, the stored
registrations with their manager review, and onboarding progress together, so the CLI, the API
and the chat answer apply the same rules in the same way. Who the caller is (tier, region,
partner id, role) always comes from the :class:`CallerContext` a channel built from a verified
token or from the operator's command line, never from the deal or profile body.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from assistant.models import Answer, CallerContext, Citation
from assistant.records import RecordStore
from assistant.registrations import (
    Registration,
    RegistrationStatus,
    RegistrationStore,
    StoredProfile,
)
from assistant.rules.chat import deal_from_question
from assistant.rules.deal_registration import Deal, Precheck, evaluate, no_rule
from assistant.rules.onboarding import (
    CourseRef,
    OnboardingProfile,
    OnboardingProgress,
    TimeToFirstDeal,
    progress_for,
    time_to_first_deal,
)
from assistant.rules.rule_book import RuleBook, RuleCitation
from assistant.settings import Settings
from retrieval.access import AccessFilter, validate_caller

MANAGER_ROLES = ("channel_manager", "admin")


class RuleInputError(ValueError):
    """A deal or profile that cannot be checked as sent (unknown region, no tier...)."""


class NotEligible(ValueError):
    """A registration whose pre-check did not pass; ``precheck`` says why."""

    def __init__(self, precheck: Precheck) -> None:
        failed = [c.detail for c in precheck.checks if not c.ok and c.id != "conflict"]
        super().__init__(" ".join(failed) or precheck.message or "the deal is not eligible")
        self.precheck = precheck


class RulesDesk:
    def __init__(self, settings: Settings, kb: Any, records: RecordStore) -> None:
        self.settings = settings
        self.kb = kb
        self.book = RuleBook(kb, settings.access)
        self.registrations = RegistrationStore(records.engine)

    # -- deal registration ------------------------------------------------------------------
    def precheck(self, deal: Deal, caller: CallerContext) -> Precheck:
        caller = self._checked(caller)
        if deal.region and deal.region not in self.settings.access.regions:
            raise RuleInputError(
                f"unknown deal region {deal.region!r} "
                f"(allowed: {', '.join(self.settings.access.regions)})"
            )
        as_of = caller.as_of or date.today()
        rule = self.book.in_force("deal_registration", caller)
        if rule is None:
            return no_rule(as_of, self.book.unstructured_source("deal_registration", caller))
        conflicts = self.registrations.conflicts_for(
            deal.customer_domain,
            caller.partner_id,
            as_of,
            show_partner=caller.role in MANAGER_ROLES,
        )
        return evaluate(deal, rule, caller.tier, caller.region, as_of, conflicts)

    def submit(self, deal: Deal, caller: CallerContext) -> Registration:
        """Store a registration that passed its pre-check (a conflict is flagged, not refused:
        the channel manager decides between partners)."""
        if not caller.partner_id:
            raise RuleInputError("a registration needs the partner's id")
        result = self.precheck(deal, caller)
        if not result.eligible:
            raise NotEligible(result)
        return self.registrations.submit(
            caller.partner_id, caller.tier, caller.region, deal, result, caller.as_of
        )

    def list_registrations(
        self, caller: CallerContext, status: RegistrationStatus | None = None
    ) -> list[Registration]:
        """A partner's own registrations; every registration for managers."""
        if caller.role in MANAGER_ROLES:
            return self.registrations.find(status=status)
        if not caller.partner_id:
            return []
        return self.registrations.find(partner_id=caller.partner_id, status=status)

    def decide(
        self, registration_id: str, approve: bool, decided_by: str, note: str = ""
    ) -> Registration:
        return self.registrations.decide(registration_id, approve, decided_by, note)

    def answer_deal_question(self, text: str, caller: CallerContext) -> Answer | None:
        """The chat branch: a question that carries a deal gets the pre-check's verdict with
        the cited rule; any other question returns ``None`` (the normal answer path)."""
        deal = deal_from_question(text)
        if deal is None or not caller.tier:
            return None
        result = self.precheck(deal, caller)
        return precheck_answer(result)

    # -- onboarding -------------------------------------------------------------------------
    def onboarding(
        self, profile: OnboardingProfile, caller: CallerContext, save: bool = False
    ) -> OnboardingProgress:
        caller = validate_caller(caller, self.settings.access)
        if profile.partner_id and not profile.registrations:
            dates = self.registrations.registration_dates(profile.partner_id)
            profile = profile.model_copy(update={"registrations": dates})
        if save and profile.partner_id:
            self.registrations.save_profile(
                StoredProfile(
                    partner_id=profile.partner_id,
                    tier=profile.tier,
                    joined=profile.joined,
                    completed_steps=profile.completed_steps,
                    completed_courses=profile.completed_courses,
                )
            )
        as_of = caller.as_of or date.today()
        rule = self.book.in_force("onboarding", caller)
        prose = None if rule else self.book.unstructured_source("onboarding", caller)
        return progress_for(profile, rule, self._courses(caller), as_of, prose)

    def stored_profile(self, partner_id: str) -> StoredProfile | None:
        return self.registrations.get_profile(partner_id)

    def time_to_first_deal(self) -> TimeToFirstDeal:
        """For managers: the distribution over every stored onboarding profile."""
        joined = {p.partner_id: p.joined for p in self.registrations.list_profiles()}
        return time_to_first_deal(joined, self.registrations.first_registration_dates())

    def _courses(self, caller: CallerContext) -> dict[str, CourseRef]:
        retriever = self.kb.retriever
        retriever.sync()
        access = AccessFilter.build(caller, self.settings.access, retriever._documents)
        where = {"$and": [*access.where()["$and"], {"doc_type": "training"}]}
        found = self.kb.store.chunks.get(where=where, include=["metadatas"])
        courses = {}
        for metadata in found["metadatas"]:
            if metadata.get("record_json") and retriever._committed(metadata):
                record = json.loads(metadata["record_json"])
                course_id = str(record.get("id", ""))
                courses[course_id.upper()] = CourseRef(
                    id=course_id, title=record.get("title", ""), url=record.get("url")
                )
        return courses

    def _checked(self, caller: CallerContext) -> CallerContext:
        caller = validate_caller(caller, self.settings.access)
        if caller.role == "partner" and (not caller.tier or not caller.region):
            raise RuleInputError("a pre-check needs the partner's tier and region")
        return caller


def precheck_answer(result: Precheck) -> Answer:
    """A pre-check as a chat :class:`Answer`: the verdict, one cited sentence per check."""
    citations: list[Citation] = []
    if result.rule is None or result.eligible is None:
        if result.rule is not None:
            citations = [_citation(1, RuleCitation(**result.rule.model_dump()))]
        text = result.message or "The deal could not be pre-checked."
        return Answer(answer=text, citations=citations, grounded=False, path="rule_check")
    numbering: dict[tuple[str, str], int] = {}
    sentences = []
    for check in result.checks:
        key = (check.citation.source, check.citation.section)
        if key not in numbering:
            numbering[key] = len(citations) + 1
            citations.append(_citation(numbering[key], check.citation))
        sentences.append(f"{check.detail} [{numbering[key]}]")
    rule = result.rule
    label = rule.title or rule.source
    if rule.version:
        label += f" (version {rule.version}"
        label += f", effective {rule.effective_date})" if rule.effective_date else ")"
    verdict = "can be registered" if result.eligible else "cannot be registered as described"
    lead = f"Pre-check against {label} on {result.as_of.isoformat()}: this deal {verdict}."
    tail = []
    marker = f" [{citations[0].n}]" if citations else ""
    if result.eligible and result.protection_days:
        tail.append(f"Once approved, it is protected for {result.protection_days} days.{marker}")
    if result.eligible and result.approval_business_days is not None:
        days = result.approval_business_days
        tail.append(f"Review takes up to {days} business days.{marker}")
    text = " ".join([lead, *sentences, *tail])
    return Answer(answer=text, citations=citations, grounded=True, path="rule_check")


def _citation(n: int, cited: RuleCitation) -> Citation:
    return Citation(
        n=n,
        source=cited.source,
        title=cited.title,
        section=cited.section,
        url=cited.url,
        doc_type="program_rule",
        effective_date=cited.effective_date,
        version=cited.version,
    )
