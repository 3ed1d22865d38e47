"""Onboarding progress: a partner's profile against the ``onboarding`` rule in force.

Each step of the block is due ``due_day`` days after the partner joined. A step is ``done`` when
the partner reports it, completed its ``course``, or has the ``registrations`` it asks for;
otherwise it is ``due`` up to and including its due date and ``overdue`` from the day after.
Every step cites the onboarding rule; a step with a course names the catalog training that
completes it. Time to first deal is the days from joining to the first registration.

Example::

    progress = progress_for(profile, rule, courses, as_of=date(2026, 3, 20))
    progress.next_step, [(s.id, s.status, s.due_date) for s in progress.steps]
"""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.rules.rule_book import Rule, RuleCitation, RuleRef, number_forms
from ingestion.rule_blocks import OnboardingBlock

StepState = Literal["done", "due", "overdue"]


class OnboardingProfile(BaseModel):
    """What the onboarding assistant needs to know about a partner (``profile.json``)."""

    model_config = ConfigDict(extra="forbid")

    partner_id: str | None = Field(None, max_length=100)
    tier: str | None = Field(None, max_length=40)
    region: str | None = Field(None, max_length=40)
    joined: date
    completed_steps: list[str] = Field([], max_length=200)
    completed_courses: list[str] = Field([], max_length=500)
    registrations: list[date] = Field([], max_length=10000)  # dates of deal registrations

    @field_validator("joined")
    @classmethod
    def _plausible(cls, value: date) -> date:
        # Due dates are computed from it; a year like 9999 would overflow, not mean anything.
        if not 1900 <= value.year <= 2999:
            raise ValueError("joined must be a date between 1900 and 2999")
        return value


class CourseRef(BaseModel):
    id: str
    title: str = ""
    url: str | None = None


class StepProgress(BaseModel):
    id: str
    title: str
    status: StepState
    due_date: date
    days_left: int  # negative when overdue
    done_by: str | None = None  # "reported", "course", "registrations"
    course: CourseRef | None = None
    citation: RuleCitation


class OnboardingProgress(BaseModel):
    partner_id: str | None = None
    joined: date
    as_of: date
    days_since_joining: int
    steps: list[StepProgress] = []
    next_step: str | None = None
    first_deal: date | None = None
    time_to_first_deal_days: int | None = None
    rule: RuleRef | None = None
    message: str | None = None


def progress_for(
    profile: OnboardingProfile,
    rule: Rule | None,
    courses: dict[str, CourseRef],
    as_of: date,
    prose: RuleRef | None = None,
) -> OnboardingProgress:
    first_deal = min(profile.registrations) if profile.registrations else None
    base = OnboardingProgress(
        partner_id=profile.partner_id,
        joined=profile.joined,
        as_of=as_of,
        days_since_joining=(as_of - profile.joined).days,
        first_deal=first_deal,
        time_to_first_deal_days=(first_deal - profile.joined).days if first_deal else None,
    )
    if rule is None:
        if prose is not None:
            base.message = (
                f"{prose.title or prose.source} describes onboarding without a structured "
                "onboarding block, so the assistant does not derive steps or due dates from it; "
                "please check the document or ask your channel manager."
            )
        else:
            base.message = (
                "No onboarding rule in force for you carries a structured onboarding block, so "
                "the assistant cannot list steps or due dates; please ask your channel manager."
            )
        base.rule = prose
        return base
    block: OnboardingBlock = rule.block
    tier = profile.tier.lower() if profile.tier else None
    completed_steps = set(profile.completed_steps)
    completed_courses = {c.upper() for c in profile.completed_courses}
    steps = []
    for step in block.steps:
        if step.tiers is not None and tier not in step.tiers:
            continue
        due = profile.joined + timedelta(days=step.due_day)
        done_by = None
        if step.id in completed_steps:
            done_by = "reported"
        elif step.course and step.course.upper() in completed_courses:
            done_by = "course"
        elif step.registrations and len(profile.registrations) >= step.registrations:
            done_by = "registrations"
        status: StepState = "done" if done_by else ("due" if as_of <= due else "overdue")
        course = None
        if step.course:
            course = courses.get(step.course.upper(), CourseRef(id=step.course))
        steps.append(
            StepProgress(
                id=step.id,
                title=step.title,
                status=status,
                due_date=due,
                days_left=(due - as_of).days,
                done_by=done_by,
                course=course,
                citation=rule.cite(step.id, *(step.course or "",), *number_forms(step.due_day)),
            )
        )
    open_steps = [s for s in steps if s.status != "done"]
    base.steps = steps
    base.next_step = min(open_steps, key=lambda s: s.due_date).id if open_steps else None
    base.rule = rule.ref
    return base


class TimeToFirstDeal(BaseModel):
    """For channel managers: how long partners take from joining to their first registration."""

    partners: int
    with_first_deal: int
    without_first_deal: int
    min_days: int | None = None
    median_days: float | None = None
    mean_days: float | None = None
    max_days: int | None = None
    per_partner: list[dict[str, object]] = []


def time_to_first_deal(joined: dict[str, date], first_deal: dict[str, date]) -> TimeToFirstDeal:
    rows: list[dict[str, object]] = []
    days: list[int] = []
    for partner_id in sorted(joined):
        first = first_deal.get(partner_id)
        value = (first - joined[partner_id]).days if first else None
        if value is not None:
            days.append(value)
        rows.append(
            {
                "partner_id": partner_id,
                "joined": joined[partner_id].isoformat(),
                "first_deal": first.isoformat() if first else None,
                "days": value,
            }
        )
    return TimeToFirstDeal(
        partners=len(joined),
        with_first_deal=len(days),
        without_first_deal=len(joined) - len(days),
        min_days=min(days) if days else None,
        median_days=float(statistics.median(days)) if days else None,
        mean_days=round(statistics.fmean(days), 1) if days else None,
        max_days=max(days) if days else None,
        per_partner=rows,
    )
