"""Rule blocks (deal_registration, onboarding) in front matter and sidecars: validated at ingest,
stored with their document, read back with its version and dates; a bad block fails its file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from assistant.models import CallerContext
from assistant.rules.rule_book import RuleBook
from assistant.settings import AccessSettings
from ingestion.documents import LoadError
from ingestion.metadata import chunk_metadata, validate_metadata
from ingestion.rule_blocks import Money
from tests.helpers import make_pdf, write

ACCESS = AccessSettings()

FRONT_MATTER = """---
title: Deal registration
doc_type: program_rule
version: "4"
effective_date: 2026-01-01
deal_registration:
  tiers: [silver, gold]
  minimum_first_year_value: {na: "20,000 USD", emea: "18000 EUR"}
  protection_days: 90
  extension: {days: 45, tiers: [gold]}
---
# Deal registration

## Size
Deals of at least 20,000 USD in North America and 18,000 EUR in EMEA qualify.
"""

SIDECAR = """title: Onboarding guide
doc_type: program_rule
version: "2"
effective_date: 2026-02-01
expires: 2027-02-01
onboarding:
  steps:
    - {id: agreement, title: "Sign the partner agreement", due_day: 30}
    - {id: first-cert, title: "Pass the first exam", due_day: 45, course: GT-101}
"""


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("20000 USD", "20000", "USD"),
        ("20,000 usd", "20000", "USD"),
        ("1 250.50 EUR", "1250.50", "EUR"),
    ],
)
def test_money_is_amount_and_currency(text, amount, currency):
    assert Money.parse(text) == Money(amount=Decimal(amount), currency=currency)


@pytest.mark.parametrize("text", ["20000", "USD 20000", "18.000 EUR", "twenty USD"])
def test_money_without_a_currency_or_with_an_ambiguous_amount_is_refused(text):
    with pytest.raises(ValueError):
        Money.parse(text)


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        ({"deal_registration": {"tiers": ["diamond"]}}, "unknown tier 'diamond'"),
        (
            {"deal_registration": {"minimum_first_year_value": {"mars": "1 USD"}}},
            "unknown region 'mars'",
        ),
        ({"deal_registration": {"minimum_first_year_value": "20000"}}, "amount CURRENCY"),
        ({"deal_registration": {"protection_day": 90}}, "protection_day"),
        ({"deal_registration": {"sections": {"nonsense": "x"}}}, "unknown rule keys"),
        ({"onboarding": {"steps": [{"id": "a", "title": "A"}]}}, "due_day"),
        (
            {"onboarding": {"steps": [{"id": "a", "title": "A", "due_day": 1}] * 2}},
            "duplicate step ids",
        ),
    ],
)
def test_a_bad_rule_block_is_an_error_with_the_reason(block, reason):
    with pytest.raises(LoadError, match=reason):
        validate_metadata({"doc_type": "program_rule", **block}, ACCESS)


def test_rule_blocks_belong_to_program_rules_only():
    with pytest.raises(LoadError, match="program_rule"):
        validate_metadata({"doc_type": "marketing_asset", "onboarding": {"steps": []}}, ACCESS)


def test_every_field_is_optional_and_the_block_round_trips_as_json():
    meta = validate_metadata({"doc_type": "program_rule", "deal_registration": {}}, ACCESS)
    flat = chunk_metadata(meta, ACCESS)
    assert (
        flat["rule_deal_registration"] is True
        and flat["deal_registration_json"] == '{"sections":{}}'
    )
    plain = chunk_metadata(validate_metadata({"doc_type": "program_rule"}, ACCESS), ACCESS)
    assert "rule_deal_registration" not in plain and "deal_registration_json" not in plain


@pytest.fixture
def kb(tmp_path, settings, kb_factory):
    root = tmp_path / "kb"
    write(root / "deal.md", FRONT_MATTER)
    make_pdf(
        root / "onboarding.pdf",
        [["# Onboarding", "Sign the agreement within 30 days.", "Pass GT-101 within 45 days."]],
    )
    write(root / "onboarding.pdf.meta.yaml", SIDECAR)
    write(root / "broken.md", FRONT_MATTER.replace("protection_days: 90", "protection_days: many"))
    base = kb_factory(settings)
    summary = base.ingest([root])
    base.failed = {f["path"].rsplit("/", 1)[-1]: f["error"] for f in summary.files_failed}
    return base


def test_front_matter_block_is_read_back_with_its_document(kb, settings):
    rule = RuleBook(kb, settings.access).in_force(
        "deal_registration", CallerContext(tier="gold", region="na", as_of=date(2026, 6, 1))
    )
    assert rule.ref.source == "deal.md" and rule.ref.version == "4"
    assert rule.ref.effective_date == "2026-01-01"
    assert rule.block.minimum_for("emea") == Money.parse("18000 EUR")
    assert rule.block.extension_for("gold") == 45 and rule.block.extension_for("silver") == 0


def test_sidecar_block_is_read_back_with_its_dates(kb, settings):
    book = RuleBook(kb, settings.access)
    rule = book.in_force(
        "onboarding", CallerContext(tier="gold", region="na", as_of=date(2026, 6, 1))
    )
    assert rule.ref.source == "onboarding.pdf" and rule.ref.version == "2"
    assert [s.course for s in rule.block.steps] == [None, "GT-101"]
    # before its effective date and after its expiry it is not in force
    for day in (date(2026, 1, 31), date(2027, 2, 1)):
        assert (
            book.in_force("onboarding", CallerContext(tier="gold", region="na", as_of=day)) is None
        )


def test_a_bad_block_fails_only_its_file_with_name_and_reason(kb):
    assert list(kb.failed) == ["broken.md"]
    assert "protection_days" in kb.failed["broken.md"]
