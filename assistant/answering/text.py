"""Words of a text as the answer path compares them: stemmed content words, and their rarity.

Nothing here is a word list of ours. Stopwords come from bm25s (NLTK's lists: English, German,
French, Spanish, Italian, …), stems from PyStemmer's Snowball stemmers, both chosen by the
stemmer name the lexical index uses for a language (``RetrievalSettings.lexical_languages``,
e.g. ``"de" → "german"``), so a stem's rarity looked up in the index (``doc_freq``) is the
rarity of the same stem. A language with no stemmer is compared word for word; runs of a script
written without spaces (Japanese, Chinese, Thai, Korean) as character bigrams, as the index
does. A code keeps its hyphens and dots ("AG-EDR-100", "6.0"): it is one name, not three words.

Example::

    terms("How long is a registered deal protected?")   # ['long', 'regist', 'deal', 'protect']
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache

import bm25s.stopwords
import Stemmer

from retrieval.lexical_index import UNSPACED

WORD = re.compile(r"\w+(?:[-.]\w+)*", re.UNICODE)
DEFAULT_STEMMER = "english"


@lru_cache(maxsize=64)
def stopwords(stemmer: str | None = DEFAULT_STEMMER) -> frozenset[str]:
    """bm25s's stopword list for the language of ``stemmer`` (NLTK's fuller list for English);
    empty when bm25s has none."""
    if not stemmer:
        return frozenset()
    name = "EN_PLUS" if stemmer in ("english", "porter") else stemmer.upper()
    return frozenset(getattr(bm25s.stopwords, f"STOPWORDS_{name}", ()))


@lru_cache(maxsize=64)
def _stemmer(name: str | None) -> Stemmer.Stemmer | None:
    return Stemmer.Stemmer(name) if name and name in Stemmer.algorithms() else None


def _bigrams(word: str) -> list[str]:
    if not UNSPACED.search(word) or len(word) < 3:
        return [word]
    return [word[i : i + 2] for i in range(len(word) - 1)]


def terms(text: str, stemmer: str | None = DEFAULT_STEMMER) -> list[str]:
    """The stemmed content words of ``text`` (stopwords and one-letter words dropped), in order."""
    drop = stopwords(stemmer)
    words = [
        piece
        for word in WORD.findall(text.lower())
        if word not in drop and len(word) > 1
        for piece in _bigrams(word)
    ]
    stem = _stemmer(stemmer)
    return stem.stemWords(words) if stem is not None else words


def analyzer(stemmer: str | None) -> Callable[[str], list[str]]:
    """:func:`terms` for one language's stemmer, as the evidence ranking takes it."""

    def analyse(text: str) -> list[str]:
        return terms(text, stemmer)

    return analyse


def idf_from_counts(doc_freq: Callable[[str], int], total: int) -> Callable[[str], float]:
    """BM25-style IDF; an unseen term weighs the most (nothing in the corpus speaks of it)."""

    def idf(term: str) -> float:
        df = doc_freq(term)
        return math.log(1 + (total - df + 0.5) / (df + 0.5))

    return idf
