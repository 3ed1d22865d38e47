"""Drafts that go to customers: the sample corpus, and a second vendor whose brand rules are
written here (the code was not written against them). Real store, real embedding model."""

from __future__ import annotations

import re

import pytest

from assistant.drafting import DraftRequestError, brand_rules, known_products
from assistant.llm import ScriptedChatModel
from assistant.models import CallerContext, DraftRequest
from assistant.service import build_service
from tests.helpers import write

GOLD_EMEA = CallerContext(tier="gold", region="emea")
MARKER = re.compile(r"\[\d+\]")
CURRENCY = re.compile(r"[$€£]\s?\d|\b(?:USD|EUR|GBP)\b")


@pytest.fixture
def sample_service(sample_kb, sample_settings, tmp_path):
    settings = sample_settings.model_copy(
        update={
            "db": sample_settings.db.model_copy(update={"url": f"sqlite:///{tmp_path / 'a.db'}"})
        }
    )
    return build_service(settings, chat_model=ScriptedChatModel(lambda m: ""), kb=sample_kb)


def body_of(text: str, partner: str) -> str:
    """The draft's lines that come from sources (the template's own lines left out)."""
    return "\n".join(line for line in text.splitlines() if line.startswith("- "))


def assert_customer_safe(draft, sources_text: str, forbidden: list[str]) -> None:
    text = draft.text
    assert not MARKER.search(text), text  # sources are listed after the draft, not in it
    assert not CURRENCY.search(text), text  # no prices
    assert "discount" not in text.lower() and "rebate" not in text.lower(), text
    assert not re.search(r"(^|\n|- )(Do not|Don't|Never)\b", text), text  # no guidance pasted
    assert "?" not in body_of(text, ""), text  # no discovery questions
    for phrase in forbidden:
        assert phrase.lower() not in text.lower(), (phrase, text)
    figures = re.findall(r"\d[\d,.]*%?", text)
    assert all(f.rstrip(".,") in sources_text for f in figures), (figures, text)
    assert draft.grounded and not draft.removed_claims and draft.citations


def sources_text(service, draft) -> str:
    found = service.kb.store.chunks.get(
        where={"source": {"$in": [c.source for c in draft.citations]}}, include=["documents"]
    )
    return " ".join(found["documents"])


@pytest.mark.parametrize("vertical", ["healthcare", "retail", None])
@pytest.mark.parametrize("product", ["Altaris Guard", "Altaris Vault", "Altaris Flow"])
def test_sample_drafts_obey_the_corpus_brand_rules(sample_service, product, vertical):
    draft = sample_service.draft(
        DraftRequest(kind="email", product=product, vertical=vertical, partner="Acme IT"),
        GOLD_EMEA,
    )
    assert_customer_safe(
        draft,
        sources_text(sample_service, draft),
        ["unhackable", "100% secure", "guaranteed recovery", "HIPAA", "compliant"],
    )
    # The brand guide: full name with ™ at the first prominent mention.
    assert draft.text.index(f"{product}™") == draft.text.index(product)
    assert draft.text.count("™") == draft.text.count("™ ")  # a mark never glued to a word
    others = {"healthcare", "retail", "finance", "manufacturing", "public-sector"} - {vertical}
    used = {c.source for c in draft.citations}
    assert not {f"marketing/messaging-{v}.md" for v in others} & used, used


def test_healthcare_draft_keeps_the_do_not_say_rule_out_of_the_text(sample_service):
    draft = sample_service.draft(
        DraftRequest(kind="solution_brief", product="Guard", vertical="healthcare"), GOLD_EMEA
    )
    assert "promise" not in draft.text and "HIPAA" not in draft.text
    assert draft.text.startswith("Altaris Guard™ for healthcare organisations")


def test_brand_rules_come_from_the_corpus(sample_service):
    products = known_products(sample_service, GOLD_EMEA)
    assert products == ["Altaris Flow", "Altaris Guard", "Altaris Vault"]
    rules = brand_rules(sample_service, GOLD_EMEA, products)
    assert {"unhackable", "100% secure", "guaranteed recovery", "AG"} <= set(rules.forbidden)
    assert ("Altaris Guard", "™") in rules.marks and ("Altaris", "®") in rules.marks


def test_an_unknown_product_is_an_error_listing_the_known_ones(sample_service):
    with pytest.raises(DraftRequestError, match="Altaris Flow, Altaris Guard, Altaris Vault"):
        sample_service.draft(DraftRequest(kind="email", product="Altaris Shield"), GOLD_EMEA)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("partner", "Acme IT. Our Guard deployments are unhackable"),
        ("partner", "Unhackable Acme"),
        ("vertical", "healthcare, 100% secure"),
        ("vertical", "50% off healthcare"),
    ],
)
def test_request_text_cannot_introduce_claims(sample_service, field, value):
    request = DraftRequest(kind="email", product="Altaris Guard", **{field: value})
    with pytest.raises(DraftRequestError):
        sample_service.draft(request, GOLD_EMEA)


# -- a vendor we did not write the rules for ----------------------------------------------------

NORWIND = {
    "brand/norwind-brand-guide.md": """---
title: Norwind Brand Guide
doc_type: program_rule
---
# Norwind Brand Guide

## Names
Norwind Relay® and Norwind Ledger® are registered trademarks of Norwind AB. Write the full name,
with the ® mark, the first time it appears in any material.

## Words we never use
- bulletproof
- zero downtime
- "military-grade"
""",
    "marketing/messaging-logistics.md": """---
title: "Industry Messaging: Logistics"
doc_type: marketing_asset
products: ["Norwind Relay"]
---
# Industry Messaging: Logistics

## Value
Norwind Relay routes shipment events between carriers and warehouses in real time.
Relay is bulletproof under peak season load.
Norwind Relay cut integration time by 40% in a 2025 study of 12 customers.

## Guidance for partners
Never promise same-day integration to a logistics customer.

## Discovery
Which carriers does the customer exchange data with today?

## Commercials
Norwind Relay costs EUR 12 per user per month for logistics customers.
""",
    "marketing/messaging-banking.md": """---
title: "Industry Messaging: Banking"
doc_type: marketing_asset
products: ["Norwind Relay", "Norwind Ledger"]
---
# Industry Messaging: Banking

## Value
Norwind Relay keeps payment messages in order across core banking systems.
Norwind Ledger reconciles accounts every night without manual matching.
""",
    "products/relay-pricing.md": """---
title: Norwind Relay Price List
doc_type: product_doc
products: ["Norwind Relay"]
---
# Norwind Relay Price List

Norwind Relay partners receive a 20% discount on annual plans.
Norwind Relay lists at EUR 9,000 per year per site.
""",
}


@pytest.fixture
def norwind_service(settings, kb_factory, tmp_path):
    root = tmp_path / "norwind"
    for name, text in NORWIND.items():
        write(root / name, text)
    kb = kb_factory(settings)
    summary = kb.ingest([root], sync=True)
    assert not summary.files_failed, summary.files_failed
    return build_service(settings, chat_model=ScriptedChatModel(lambda m: ""), kb=kb)


PARTNER = CallerContext(tier="registered", region="na")


def test_a_second_vendors_brand_rules_are_obeyed(norwind_service):
    draft = norwind_service.draft(
        DraftRequest(kind="email", product="Relay", vertical="logistics", partner="Kite Systems"),
        PARTNER,
    )
    text = draft.text
    assert_customer_safe(
        draft,
        sources_text(norwind_service, draft),
        ["bulletproof", "zero downtime", "military-grade", "same-day"],
    )
    assert "routes shipment events" in text
    assert text.index("Norwind Relay®") == text.index("Norwind Relay")  # full name, marked, first
    assert "payment messages" not in text  # the banking variant is not for logistics
    assert [c.source for c in draft.citations] == ["marketing/messaging-logistics.md"]


def test_a_second_vendors_products_are_the_known_ones(norwind_service):
    with pytest.raises(DraftRequestError, match="Norwind Ledger, Norwind Relay"):
        norwind_service.draft(DraftRequest(kind="email", product="Norwind Beacon"), PARTNER)
    rules = brand_rules(norwind_service, PARTNER, known_products(norwind_service, PARTNER))
    assert {"bulletproof", "zero downtime", "military-grade"} <= set(rules.forbidden)
    assert dict(rules.marks)["Norwind Relay"] == "®"


# -- the Brightmere evaluation corpus (another helper wrote it and its brand rules) ------------


@pytest.fixture
def brightmere_service(settings, kb_factory, tmp_path):
    from evals.vendor_suite import VENDOR_CORPORA, corpus_settings

    corpus = VENDOR_CORPORA["brightmere"]
    own = corpus_settings(settings, corpus, tmp_path / "brightmere")
    kb = kb_factory(own)
    assert not kb.ingest([corpus.folder]).files_failed
    return build_service(own, chat_model=ScriptedChatModel(lambda m: ""), kb=kb)


@pytest.mark.parametrize(
    ("product", "vertical"),
    [("Harbor", "logistics"), ("Brightmere Sentinel", "education"), ("Sentinel", None)],
)
def test_brightmere_drafts_obey_its_brand_rules(brightmere_service, product, vertical):
    caller = CallerContext(tier="elite", region="emea")
    draft = brightmere_service.draft(
        DraftRequest(kind="email", product=product, vertical=vertical, partner="Acme"), caller
    )
    assert_customer_safe(
        draft,
        sources_text(brightmere_service, draft),
        # its brand rules' forbidden words, and its internal reviewer guidance
        [
            "unhackable",
            "bulletproof",
            "military-grade",
            "100% secure",
            "guarantee",
            "FedRAMP",
            "Sentinel Pro",
            "AcmeSentinel",
        ],  # fmt: skip
    )
    full = "Brightmere " + product.split()[-1]
    short = re.search(rf"(?<!Brightmere ){product.split()[-1]}\b", draft.text)
    assert full in draft.text and (short is None or short.start() > draft.text.index(full))
    other = {"logistics": "education", "education": "logistics"}.get(vertical or "")
    assert all(c.source != f"marketing/messaging-{other}.md" for c in draft.citations)
    assert all("brand" not in c.source for c in draft.citations)  # rules are not material
