"""Stemmed content words per language, with stopwords from bm25s and Snowball stems."""

import math

from assistant.answering.text import analyzer, idf_from_counts, stopwords, terms


def test_english_drops_function_words_and_stems_the_rest():
    assert terms("How long is a registered deal protected?") == [
        "long",
        "regist",
        "deal",
        "protect",
    ]


def test_a_code_or_a_version_stays_one_term():
    assert "ag-edr-100" in terms("What does AG-EDR-100 cost?")
    assert "6.0" in terms("When does Guard 6.0 ship?")


def test_german_uses_german_stopwords_and_stems():
    assert "der" in stopwords("german") and "der" not in stopwords("english")
    assert terms("Wie lange werden die Protokolle aufbewahrt?", "german") == [
        "lang",
        "protokoll",
        "aufbewahrt",
    ]
    assert analyzer("german")("Protokolle") == terms("Protokolle", "german")


def test_a_language_without_a_stemmer_is_compared_word_for_word_and_cjk_as_bigrams():
    assert stopwords(None) == frozenset()
    assert terms("ログの保存", None) == ["ログ", "グの", "の保", "保存"]
    assert terms("Elite partners", None) == ["elite", "partners"]


def test_an_unseen_term_weighs_the_most():
    counts = {"deal": 40, "rebate": 3}
    idf = idf_from_counts(lambda term: counts.get(term, 0), 50)
    weights = [idf("deal"), idf("rebate"), idf("antarctica")]
    assert weights == sorted(weights) and weights[0] > 0
    assert math.isclose(idf("antarctica"), math.log(1 + 50.5 / 0.5))
