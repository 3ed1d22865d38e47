"""Onboarding progress: due/overdue arithmetic around the due day, what completes a step, the
next step, time to first deal, and the answer when no rule block exists."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from assistant.rules.onboarding import (
    CourseRef,
    OnboardingProfile,
    progress_for,
    time_to_first_deal,
)
from assistant.rules.rule_book import Rule, RuleRef
from ingestion.rule_blocks import OnboardingBlock

JOINED = date(2026, 3, 1)
BLOCK = OnboardingBlock.model_validate(
    {
        "steps": [
            {"id": "agreement", "title": "Sign the partner agreement", "due_day": 30},
            {
                "id": "first-cert",
                "title": "One employee completes KES-101",
                "due_day": 30,
                "course": "KES-101",
            },
            {
                "id": "first-deal",
                "title": "Register the first deal",
                "due_day": 90,
                "tiers": ["select", "premier", "elite"],
                "registrations": 1,
            },
        ],
        "sections": {"agreement": "Onboarding > Agreement"},
    }
)
REF = RuleRef(
    source="program/onboarding.md", title="Onboarding", version="3", effective_date="2026-01-01"
)
RULE = Rule(
    "onboarding",
    BLOCK,
    REF,
    [
        ("Onboarding > Agreement", "Sign the agreement within 30 days."),
        ("Onboarding > Certification", "Within 30 days one employee completes KES-101."),
    ],
)
COURSES = {"KES-101": CourseRef(id="KES-101", title="Kestrel Essentials", url="https://x/kes")}


def profile(**fields) -> OnboardingProfile:
    return OnboardingProfile.model_validate(
        {"partner_id": "p1", "tier": "select", "joined": JOINED, **fields}
    )


def step(progress, step_id):
    return next(s for s in progress.steps if s.id == step_id)


@pytest.mark.parametrize(
    ("offset", "status", "days_left"), [(-1, "due", 1), (0, "due", 0), (1, "overdue", -1)]
)
def test_a_step_is_due_through_its_due_day_and_overdue_the_day_after(offset, status, days_left):
    due = JOINED + timedelta(days=30)
    progress = progress_for(profile(), RULE, COURSES, as_of=due + timedelta(days=offset))
    agreement = step(progress, "agreement")
    assert (agreement.status, agreement.due_date, agreement.days_left) == (status, due, days_left)


def test_steps_are_done_when_reported_by_course_or_by_registrations():
    progress = progress_for(
        profile(
            completed_steps=["agreement"],
            completed_courses=["kes-101"],
            registrations=[date(2026, 4, 15)],
        ),
        RULE,
        COURSES,
        as_of=date(2026, 7, 1),
    )
    assert [(s.id, s.status, s.done_by) for s in progress.steps] == [
        ("agreement", "done", "reported"),
        ("first-cert", "done", "course"),
        ("first-deal", "done", "registrations"),
    ]
    assert progress.next_step is None
    assert progress.time_to_first_deal_days == 45 and progress.first_deal == date(2026, 4, 15)


def test_the_training_that_completes_a_step_comes_from_the_catalog_and_each_step_cites_the_rule():
    progress = progress_for(profile(), RULE, COURSES, as_of=date(2026, 3, 10))
    cert = step(progress, "first-cert")
    assert cert.course.title == "Kestrel Essentials" and cert.course.url == "https://x/kes"
    assert cert.citation.section == "Onboarding > Certification"  # found by the course code
    assert step(progress, "agreement").citation.section == "Onboarding > Agreement"  # named
    assert all(
        s.citation.source == "program/onboarding.md" and s.citation.version == "3"
        for s in progress.steps
    )
    assert progress.rule == REF


def test_the_next_step_is_the_open_step_due_first():
    progress = progress_for(profile(completed_steps=["agreement"]), RULE, COURSES, date(2026, 5, 1))
    assert progress.next_step == "first-cert"
    assert step(progress, "first-cert").status == "overdue"
    assert step(progress, "first-deal").status == "due"


def test_a_step_for_other_tiers_is_left_out():
    progress = progress_for(profile(tier="authorized"), RULE, COURSES, date(2026, 3, 10))
    assert [s.id for s in progress.steps] == ["agreement", "first-cert"]


def test_without_a_rule_block_the_answer_says_so_and_names_the_document():
    prose = RuleRef(source="program/welcome.md", title="Welcome Guide")
    progress = progress_for(profile(), None, COURSES, date(2026, 3, 10), prose=prose)
    assert progress.steps == [] and progress.next_step is None
    assert progress.message.startswith("Welcome Guide describes onboarding without a structured")


def test_time_to_first_deal_distribution_for_managers():
    joined = {
        "a": date(2026, 1, 1),
        "b": date(2026, 1, 1),
        "c": date(2026, 2, 1),
        "d": date(2026, 3, 1),
    }
    first = {"a": date(2026, 1, 11), "b": date(2026, 2, 10), "c": date(2026, 4, 2)}
    stats = time_to_first_deal(joined, first)
    assert (stats.partners, stats.with_first_deal, stats.without_first_deal) == (4, 3, 1)
    assert (stats.min_days, stats.median_days, stats.max_days) == (10, 40.0, 60)
    assert stats.mean_days == pytest.approx(36.7)
    assert [r["days"] for r in stats.per_partner] == [10, 40, 60, None]
