"""The question's language wins over the caller's hint when the detector is sure enough."""

import pytest

from assistant.answering.language import detect_language

SUPPORTED = ("en", "de", "es", "fr", "ja")


@pytest.mark.parametrize(
    ("question", "language"),
    [
        # Spanish with English program and product words in it (es 0.86 for the detector).
        ("¿Qué garantía de hardware tienen los appliances Harbor?", "es"),
        ("¿Qué descuento obtiene un partner Platinum en LATAM?", "es"),
        ("Wie lange ist eine genehmigte Deal-Registrierung für Premier-Partner gültig?", "de"),
        ("Quel est le délai de première réponse pour un incident de sévérité 1 ?", "fr"),
        ("APJのEliteパートナーの割引率は何％ですか？", "ja"),
        ("What discount does a Premier partner get in EMEA?", "en"),
        ("How long is a registered deal protected for Gold partners?", "en"),
    ],
)
def test_the_question_language_is_detected_despite_english_product_words(question, language):
    assert detect_language(question, "en", SUPPORTED) == language


def test_a_short_or_unsure_question_keeps_the_hint():
    assert detect_language("MDF?", "de", SUPPORTED) == "de"
    # An impossible bar keeps the hint: the threshold is the caller's to set.
    text = "¿Qué descuento obtiene un partner Platinum en LATAM?"
    assert detect_language(text, "en", SUPPORTED, min_confidence=1.0) == "en"


def test_a_language_the_assistant_does_not_answer_in_keeps_the_hint():
    assert (
        detect_language("Quanto tempo dura a proteção de um negócio registrado?", "en", SUPPORTED)
        == "en"
    )
