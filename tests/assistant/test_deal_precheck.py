"""The deal-registration pre-check over a real ingested corpus (Chroma on tmp_path, the packaged
embedder), with another vendor's vocabulary: tiers authorized/select/premier/elite, regions
AMER/EMEA/APJ. Every check is tested on both sides of its boundary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from assistant.llm import ScriptedChatModel
from assistant.models import CallerContext, Question
from assistant.records import RecordStore
from assistant.rules.chat import deal_from_question
from assistant.rules.deal_registration import Deal, business_days_between
from assistant.rules.desk import NotEligible
from assistant.service import build_service
from assistant.settings import AccessSettings
from tests.helpers import make_settings, write

RULE_2026 = """---
title: Deal Registration Policy FY27
doc_type: program_rule
version: "27.1"
effective_date: 2026-02-01
deal_registration:
  tiers: [select, premier, elite]
  minimum_first_year_value: {amer: "20000 USD", emea: "18000 EUR", apj: "20000 USD"}
  expansion_minimum_percent: 30
  renewals_eligible: false
  published_tenders_eligible: false
  register_before_first_proposal: true
  approval_business_days: 3
  protection_days: 90
  extension: {days: 45, tiers: [premier, elite], once: true}
  conflict_window_business_days: 5
  sections:
    tiers: "Who may register"
---
# Deal Registration Policy FY27

## Who may register
Select, Premier and Elite partners may register deals.

## Deal size
The first-year value must be at least 20,000 USD in AMER and APJ and 18,000 EUR in EMEA.

## Expansions, renewals and tenders
An expansion must add at least 30% to the annual contract value. Renewals and published public
tenders cannot be registered. Register before you send the first proposal.

## Protection
Approved registrations are protected for 90 days; Premier and Elite partners may extend once by
45 days. Approval takes 3 business days.
"""

RULE_2025 = """---
title: Deal Registration Policy FY26
doc_type: program_rule
version: "26.1"
effective_date: 2025-02-01
superseded_by: deal-registration-fy27.md
deal_registration:
  tiers: [authorized, select, premier, elite]
  minimum_first_year_value: "10000 USD"
  renewals_eligible: true
  protection_days: 60
---
# Deal Registration Policy FY26

Every partner may register deals of at least 10,000 USD, renewals included. Protection lasts
60 days.
"""

RULE_2024 = """---
title: Deal Registration Policy FY25
doc_type: program_rule
version: "25.1"
effective_date: 2024-02-01
superseded_by: deal-registration-fy26.md
---
# Deal Registration Policy FY25

Deal registration is open to every partner. Registered deals are protected for 45 days.
"""

# Later than FY27 and for staff only: partners must never be checked against it.
INTERNAL = """---
title: Deal Registration Pilot (staff)
doc_type: program_rule
audience: internal
version: "pilot"
effective_date: 2026-04-01
deal_registration:
  minimum_first_year_value: "1 USD"
  protection_days: 365
---
# Deal Registration Pilot

Internal pilot: every deal of at least 1 USD is protected for 365 days.
"""

ON = date(2026, 6, 1)


@pytest.fixture(scope="module")
def service(tmp_path_factory, embedder):
    from retrieval.knowledge_base import KnowledgeBase

    folder = tmp_path_factory.mktemp("precheck")
    root = folder / "kb"
    write(root / "deal-registration-fy27.md", RULE_2026)
    write(root / "deal-registration-fy26.md", RULE_2025)
    write(root / "deal-registration-fy25.md", RULE_2024)
    write(root / "staff" / "pilot.md", INTERNAL)
    access = AccessSettings(
        tiers=["authorized", "select", "premier", "elite"], regions=["amer", "emea", "apj"]
    )
    settings = make_settings(folder, access=access)
    kb = KnowledgeBase(settings, embedder)
    summary = kb.ingest([root])
    assert not summary.files_failed, summary.files_failed
    records = RecordStore.from_settings(settings)
    yield build_service(
        settings, chat_model=ScriptedChatModel(lambda m: ""), kb=kb, records=records
    )
    records.dispose()


def partner(tier="premier", region="amer", as_of=ON, partner_id="acme") -> CallerContext:
    return CallerContext(tier=tier, region=region, as_of=as_of, partner_id=partner_id)


def deal(**fields) -> Deal:
    base = {"customer": "Contoso", "first_year_value": 50000, "currency": "USD", "kind": "new"}
    return Deal.model_validate({**base, **fields})


def check(result, check_id):
    return next(c for c in result.checks if c.id == check_id)


@pytest.mark.parametrize(
    ("region", "value", "currency", "ok"),
    [
        ("amer", "19999.99", "USD", False),
        ("amer", "20000", "USD", True),
        ("amer", "20001", "USD", True),
        ("emea", "17999", "EUR", False),
        ("emea", "18000", "EUR", True),
        ("emea", "18001", "EUR", True),
        ("apj", "19999", "USD", False),
        ("apj", "20000", "USD", True),
    ],
)
def test_minimum_value_per_region_at_below_and_above(service, region, value, currency, ok):
    result = service.rules.precheck(
        deal(first_year_value=value, currency=currency), partner(region=region)
    )
    minimum = check(result, "minimum_value")
    assert minimum.ok is ok and result.eligible is ok
    assert ("meets" if ok else "is below") in minimum.detail
    # no section is named for the minimum: the section whose text states the figure is cited
    assert minimum.citation.section.endswith("Deal size")
    assert minimum.citation.source == "deal-registration-fy27.md"


@pytest.mark.parametrize(("region", "currency"), [("amer", "EUR"), ("emea", "USD")])
def test_a_currency_mismatch_is_a_failed_cannot_compare_check(service, region, currency):
    result = service.rules.precheck(
        deal(first_year_value=1_000_000, currency=currency), partner(region=region)
    )
    minimum = check(result, "minimum_value")
    assert not minimum.ok and not result.eligible
    assert minimum.detail.startswith("Cannot compare") and "does not convert" in minimum.detail


def test_the_minimum_follows_the_partners_region_from_the_token_not_the_deal(service):
    result = service.rules.precheck(
        deal(first_year_value=18500, currency="EUR", region="emea"), partner(region="amer")
    )
    assert not check(result, "minimum_value").ok


def test_renewals_fail_and_new_business_passes(service):
    renewal = service.rules.precheck(deal(kind="renewal"), partner())
    assert not check(renewal, "renewal").ok and renewal.eligible is False
    new = service.rules.precheck(deal(kind="new"), partner())
    assert check(new, "renewal").ok and new.eligible is True


@pytest.mark.parametrize(("percent", "ok"), [(29.9, False), (30, True), (31, True), (None, False)])
def test_expansion_below_at_and_above_the_percent(service, percent, ok):
    result = service.rules.precheck(deal(kind="expansion", expansion_percent=percent), partner())
    assert check(result, "expansion").ok is ok and result.eligible is ok


def test_a_proposal_already_sent_fails(service):
    sent = service.rules.precheck(deal(proposal_sent=True), partner())
    assert not check(sent, "proposal").ok and sent.eligible is False
    assert check(service.rules.precheck(deal(proposal_sent=False), partner()), "proposal").ok


def test_a_published_tender_fails(service):
    result = service.rules.precheck(deal(public_tender_published=True), partner())
    assert not check(result, "public_tender").ok and result.eligible is False


def test_a_tier_not_allowed_fails_and_cites_the_named_section(service):
    result = service.rules.precheck(deal(), partner(tier="authorized"))
    tier = check(result, "tier")
    assert not tier.ok and result.eligible is False and "authorized" in tier.detail
    assert tier.citation.section.endswith("Who may register")
    assert check(service.rules.precheck(deal(), partner(tier="select")), "tier").ok


def test_protection_extension_and_approval_come_from_the_rule(service):
    premier = service.rules.precheck(deal(), partner(tier="premier"))
    assert (premier.protection_days, premier.extension_days, premier.approval_business_days) == (
        90,
        45,
        3,
    )
    assert service.rules.precheck(deal(), partner(tier="select")).extension_days == 0
    assert premier.rule.version == "27.1" and premier.rule.effective_date == "2026-02-01"


def test_every_check_is_one_cited_sentence(service):
    result = service.rules.precheck(deal(kind="expansion", expansion_percent=40), partner())
    assert {c.id for c in result.checks} >= {"tier", "minimum_value", "expansion", "proposal"}
    for c in result.checks:
        assert c.detail.endswith(".") and c.detail.count(". ") == 0
        assert c.citation.source and c.citation.title == "Deal Registration Policy FY27"


def test_an_earlier_date_uses_the_superseded_rule_in_force_then(service):
    before = service.rules.precheck(
        deal(first_year_value=12000, kind="renewal"),
        partner(tier="authorized", as_of=date(2025, 6, 1)),
    )
    assert before.rule.version == "26.1" and before.eligible is True
    assert before.protection_days == 60
    after = service.rules.precheck(
        deal(first_year_value=12000, kind="renewal"),
        partner(tier="authorized", as_of=date(2026, 2, 1)),
    )
    assert after.rule.version == "27.1" and after.eligible is False


def test_a_rule_without_a_structured_block_is_named_not_guessed(service):
    result = service.rules.precheck(deal(), partner(as_of=date(2024, 6, 1)))
    assert result.eligible is None and result.checks == []
    assert result.rule.title == "Deal Registration Policy FY25"
    assert "without a structured deal_registration block" in result.message


def test_partners_are_never_checked_against_a_rule_they_may_not_see(service):
    tiny = deal(first_year_value=5, currency="USD")
    assert service.rules.precheck(tiny, partner()).rule.version == "27.1"
    manager = CallerContext(role="channel_manager", tier="premier", region="amer", as_of=ON)
    assert service.rules.precheck(tiny, manager).rule.version == "pilot"


def test_conflicts_across_two_partners(service):
    contoso = deal(customer_domain="https://www.Contoso-Conflict.com/")
    first = service.rules.submit(contoso, partner(partner_id="alpha"))
    assert first.conflict is False and first.deal.customer_domain == "contoso-conflict.com"
    # pending and submitted just now: within the 5-business-day window, the manager decides
    pending = service.rules.precheck(contoso, partner(partner_id="beta"))
    assert [(c.status, c.protected, c.within_conflict_window) for c in pending.conflicts] == [
        ("pending", False, True)
    ]
    assert (
        not check(pending, "conflict").ok and "conflict window" in check(pending, "conflict").detail
    )
    service.rules.decide(first.id, approve=True, decided_by="mgr")
    seen_by_beta = service.rules.precheck(contoso, partner(partner_id="beta", as_of=date.today()))
    assert not check(seen_by_beta, "conflict").ok
    assert seen_by_beta.eligible is True  # the manager decides; the rules alone pass
    assert seen_by_beta.conflicts[0].partner_id is None  # beta never learns who holds it
    manager = CallerContext(role="channel_manager", tier="premier", region="amer")
    assert service.rules.precheck(contoso, manager).conflicts[0].partner_id == "alpha"
    # alpha's own registration is no conflict for alpha
    assert service.rules.precheck(contoso, partner(partner_id="alpha")).conflicts == []
    second = service.rules.submit(contoso, partner(partner_id="beta", as_of=date.today()))
    assert second.conflict is True
    # after the protection period the customer is open again
    later = partner(partner_id="gamma", as_of=date.today().replace(year=date.today().year + 1))
    assert [c.partner_id for c in service.rules.precheck(contoso, later).conflicts] == [None]


def test_an_ineligible_deal_is_not_stored(service):
    with pytest.raises(NotEligible) as refused:
        service.rules.submit(deal(kind="renewal", customer_domain="x.example"), partner())
    assert "renewals cannot be registered" in str(refused.value)
    assert all(r.deal.customer_domain != "x.example" for r in service.rules.registrations.find())


def test_partners_see_only_their_own_registrations(service):
    service.rules.submit(deal(customer_domain="own-a.example"), partner(partner_id="own-a"))
    service.rules.submit(deal(customer_domain="own-b.example"), partner(partner_id="own-b"))
    mine = service.rules.list_registrations(partner(partner_id="own-a"))
    assert {r.partner_id for r in mine} == {"own-a"}
    everyone = service.rules.list_registrations(CallerContext(role="channel_manager"))
    assert {"own-a", "own-b"} <= {r.partner_id for r in everyone}


def test_a_chat_question_with_a_deal_gets_the_cited_verdict(service):
    question = Question(
        text="Can I register a 25,000 EUR expansion at Contoso?", caller=partner(region="emea")
    )
    answer = service.answer(question)
    assert answer.path == "rule_check" and answer.grounded
    assert "cannot be registered" in answer.answer  # no expansion share given
    assert answer.citations and answer.citations[0].source == "deal-registration-fy27.md"
    assert answer.citations[0].version == "27.1"
    assert "[1]" in answer.answer and answer.answer_id and answer.conversation_id


def test_a_question_without_a_deal_takes_the_normal_path(service):
    answer = service.answer(Question(text="Who may register deals?", caller=partner()))
    assert answer.path != "rule_check"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Can I register a 25,000 EUR expansion at Contoso?",
            ("25000", "EUR", "expansion", "Contoso"),
        ),
        (
            "Register a renewal of $12k for Northwind Traders",
            ("12000", "USD", "renewal", "Northwind Traders"),
        ),
        ("Can we register a €30.000 deal at Fabrikam?", ("30000", "EUR", "new", "Fabrikam")),
        (
            "Is a 40% expansion worth 50000 usd at Contoso eligible?",
            ("50000", "USD", "expansion", "Contoso"),
        ),
    ],
)
def test_deal_from_question_reads_amount_currency_kind_and_customer(text, expected):
    found = deal_from_question(text)
    assert found is not None
    assert (found.first_year_value, found.currency, found.kind, found.customer) == (
        Decimal(expected[0]),
        *expected[1:],
    )


@pytest.mark.parametrize(
    "text",
    [
        "What is the minimum deal size for registration?",
        "How long is a registered deal protected?",
        "We have 3 SKUs for the customer, can we register?",
    ],
)
def test_questions_without_an_amount_and_currency_carry_no_deal(text):
    assert deal_from_question(text) is None


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2026, 6, 5), date(2026, 6, 5), 0),  # Friday, same day
        (date(2026, 6, 5), date(2026, 6, 8), 1),  # Friday -> Monday
        (date(2026, 6, 5), date(2026, 6, 12), 5),  # Friday -> next Friday
        (date(2026, 6, 6), date(2026, 6, 7), 0),  # Saturday -> Sunday
    ],
)
def test_business_days_skip_weekends(start, end, days):
    assert business_days_between(start, end) == days


def test_a_pending_registration_outside_the_window_does_not_fail_the_check(service):
    from datetime import UTC, datetime

    from assistant.rules.deal_registration import Conflict, evaluate

    rule = service.rules.book.in_force("deal_registration", partner())
    submitted = datetime(2026, 6, 5, 9, tzinfo=UTC)  # a Friday
    other = Conflict(registration_id="r1", status="pending", submitted_at=submitted.isoformat())
    contoso = deal(customer_domain="contoso.example")

    def verdict(now):
        return check(evaluate(contoso, rule, "premier", "amer", ON, [other], now=now), "conflict")

    assert not verdict(datetime(2026, 6, 12, 9, tzinfo=UTC)).ok  # 5 business days later
    assert verdict(datetime(2026, 6, 15, 9, tzinfo=UTC)).ok  # 6 business days later
