"""Names in a question that the corpus never mentions, and the part of a text that asks.

"What margin does a Diamond partner get?" in a program without a Diamond level, "Can you quote
SKU AE-MAIL-100?", "When does Guard 6.0 ship?": the documents speak of something else, and an
answer read from them would describe another level, product or version. A *name* is recognised
by its shape (a capitalised word that does not open the sentence, a code with letters and
digits, a version after a name), never from a list; the language's function words ("What",
"Does") come from the stopword list of :mod:`assistant.answering.text`. Capitalisation marks
names only in some languages, so the service asks this of English questions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.answering.text import DEFAULT_STEMMER, WORD, stopwords, terms
from assistant.answering.vocabulary import CODE, QUANTITY
from retrieval.models import SearchHit

ENTITY = re.compile(r"(?<![\w-])([A-Z][a-zA-Z]{2,}|[A-Za-z]*\d[A-Za-z0-9.\-]*[A-Za-z0-9])(?![\w-])")
VERSION_OWNER = re.compile(r"[A-Z][A-Za-z]+ $")  # "Guard " before "6.0"
PLAIN_NUMBER = re.compile(r"[\d.,]+")
ACRONYM_PLURAL = re.compile(r"[A-Z]{2,}s")
ASKED = re.compile(r"(?<=[.!?;])\s+")


def asked_part(text: str) -> str:
    """The question actually asked: the last sentence ending in "?" when the text also tells a
    situation ("We are a Gold partner in EMEA… Can we …?"), else the whole text."""
    sentences = [s for s in ASKED.split(text.strip()) if s]
    questions = [s for s in sentences if s.rstrip().endswith(("?", "？"))]
    return questions[-1] if len(sentences) > 1 and questions else text


def situation_and_question(text: str) -> tuple[str, str]:
    """``text`` as the situation it tells first and the questions it then asks: "We are a Gold
    partner in EMEA. We closed a deal. Can we register it?" is ("We are a Gold partner in EMEA.
    We closed a deal.", "Can we register it?"); a text that opens with a question, or asks none,
    is all question."""
    text = text.strip()
    boundaries = list(ASKED.finditer(text))
    starts = [0, *(boundary.end() for boundary in boundaries)]
    ends = [*(boundary.start() for boundary in boundaries), len(text)]
    for start, end in zip(starts, ends):
        if text[start:end].rstrip().endswith(("?", "？")):
            return (text[:start].strip(), text[start:]) if start else ("", text)
    return "", text


def unknown_names(
    question: str,
    hits: Sequence[SearchHit],
    doc_freq: Callable[[str], int],
    stemmer: str | None = DEFAULT_STEMMER,
) -> tuple[str, ...]:
    """Names and codes in ``question`` ("Antarctica", "Diamond", "AE-MAIL-100", the "6.0" of
    "Guard 6.0") that neither the retrieved ``hits`` nor any indexed chunk (``doc_freq`` of its
    stems) mention. A plain number ("600,000 USD") is a quantity, not a name, and a word that
    starts a word of the sources ("Mac" in "macOS") is taken as mentioned."""
    seen = {w.lower() for h in hits for w in WORD.findall(f"{h.title} {h.section} {h.text}")}
    function_words = stopwords(stemmer)
    out = []
    for match in ENTITY.finditer(question):
        word = match.group(1)
        lowered = word.lower()
        if match.start() == 0 or lowered in function_words or lowered in seen:
            continue
        # The plural of an acronym ("MSPs", "SKUs") names the acronym; stemmers leave it alone.
        if ACRONYM_PLURAL.fullmatch(word) and (lowered[:-1] in seen or doc_freq(lowered[:-1]) > 0):
            continue
        if any(w.startswith(lowered) for w in seen):
            continue
        versioned = VERSION_OWNER.search(question[: match.start()])
        if PLAIN_NUMBER.fullmatch(word) and not versioned:
            continue
        stems = terms(word, stemmer)
        if stems and all(doc_freq(s) == 0 for s in stems):
            out.append(word)
    for code in CODE.findall(question):  # "AE-MAIL-100": the index holds codes joined up
        if QUANTITY.match(code) or code.lower() in seen or code in out:
            continue
        if doc_freq(re.sub(r"[-_/.]", "", code).lower()) == 0:
            out.append(code)
    return tuple(out)
