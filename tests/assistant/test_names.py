"""Names in a question the corpus never mentions, and the part of a text that asks."""

import pytest

from assistant.answering.names import asked_part, situation_and_question, unknown_names
from retrieval.models import SearchHit


def hit(text, title="Doc"):
    return SearchHit(chunk_id=title, doc_id=title, source=title, title=title, text=text)


SOURCES = [hit("Guard EDR Essentials (AG-EDR-100) lists at 96.00 USD. Rollback runs on macOS 13.")]


def nowhere(term):
    return 1 if term == "sku" else 0


def test_a_code_or_version_no_source_mentions_is_unknown():
    assert unknown_names("Can you quote SKU AE-MAIL-100?", SOURCES, nowhere) == ("AE-MAIL-100",)
    assert unknown_names("What will Guard 6.0 cost?", SOURCES, nowhere) == ("6.0",)
    assert unknown_names("What does AG-EDR-100 cost?", SOURCES, nowhere) == ()


def test_a_code_the_index_holds_is_known_though_no_retrieved_source_has_it():
    def indexed(term):
        return 1 if term in ("sku", "agxdr300") else 0

    assert unknown_names("Can you quote SKU AG-XDR-300?", SOURCES, indexed) == ()


def test_a_capitalised_word_the_index_knows_is_not_unknown():
    question = "What margin does a Diamond partner get?"
    assert unknown_names(question, SOURCES, nowhere) == ("Diamond",)
    assert unknown_names(question, SOURCES, lambda term: 3 if term == "diamond" else 0) == ()


def test_numbers_function_words_and_word_prefixes_are_not_names():
    question = "Does rollback work on a Mac for a 600,000 USD deal? Should We ask?"
    assert unknown_names(question, SOURCES, nowhere) == ()


def test_the_asked_part_is_the_last_question_after_a_situation():
    text = "We are a Gold partner in EMEA. Our deal is 30,000 USD. Can we register it?"
    assert asked_part(text) == "Can we register it?"
    assert asked_part("What is the margin?") == "What is the margin?"


@pytest.mark.parametrize(
    ("text", "situation", "question"),
    [
        (
            "We are a Gold partner in EMEA. We closed a deal. Can we register it? And when?",
            "We are a Gold partner in EMEA. We closed a deal.",
            "Can we register it? And when?",
        ),
        ("What is the margin?", "", "What is the margin?"),
        ("How long? And can it be extended?", "", "How long? And can it be extended?"),
        ("Tell me the margin for Gold.", "", "Tell me the margin for Gold."),
        (
            "Somos partner Gold. ¿Podemos registrarlo?",
            "Somos partner Gold.",
            "¿Podemos registrarlo?",
        ),
    ],
)
def test_a_text_is_the_situation_it_tells_then_the_questions_it_asks(text, situation, question):
    assert situation_and_question(text) == (situation, question)


def test_the_plural_of_an_acronym_names_the_acronym():
    sources = [hit("SKU BMT-SEN-CMP-M | Sentinel Complete (monthly, MSP) | List price: 6.40")]
    question = "What is the SKU for Sentinel Complete billed monthly for MSPs?"
    assert unknown_names(question, sources, lambda term: 0) == ()
    # ... but a plural acronym the corpus never mentions is still unknown.
    assert unknown_names("Do VARs get it?", sources, lambda term: 0) == ("VARs",)
