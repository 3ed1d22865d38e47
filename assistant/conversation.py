"""Follow-up questions and dates in questions.

"And for Gold?" after a margin question cannot be searched on its own. With a capable model the
rewrite prompt makes it standalone; with the tiny local model a deterministic merge with the
previous question is more reliable than the model, so that is used instead.
"""

from __future__ import annotations

import re
from datetime import date

from assistant.answering.text import terms
from assistant.answering.vocabulary import Vocabulary
from assistant.models import Turn

FOLLOW_UP = re.compile(
    r"^(and|what about|how about|also|same for|and what|what if|for|in|ok|okay|then)\b"
    r"|\b(it|that|this|they|those|them|there|same)\b",
    re.IGNORECASE,
)
YEAR = re.compile(r"\b(?:in|during|for|back in|as of)\s+(20\d{2})\b", re.IGNORECASE)
ISO_DATE = re.compile(r"\b(20\d{2})-(\d{2})-(\d{2})\b")
DATED = re.compile(
    rf"(?:\b(?:in|during|for|back in|as of|on)\s+)?{ISO_DATE.pattern}|{YEAR.pattern}", re.IGNORECASE
)


def is_follow_up(question: str, history: list[Turn]) -> bool:
    if not any(t.role == "user" for t in history):
        return False
    return bool(FOLLOW_UP.search(question.strip())) or len(terms(question)) <= 2


def merge_follow_up(
    question: str, history: list[Turn], vocabulary: Vocabulary | None = None
) -> str:
    """The previous user question, with the names the follow-up changes swapped in ("… Silver
    partner in EMEA?" + "and for Gold?" → "… Gold partner in EMEA?"), else with the follow-up
    appended so retrieval sees both topics."""
    previous = next(t.content for t in reversed(history) if t.role == "user").strip()
    if vocabulary is not None:
        swapped = _swap_names(previous, question, vocabulary)
        if swapped != previous:
            return swapped
    return f"{previous} {question.strip()}"


def _swap_names(previous: str, follow_up: str, vocabulary: Vocabulary) -> str:
    """Replace the tier or region ``previous`` names by the one ``follow_up`` names."""
    new, old = vocabulary.named(follow_up), vocabulary.named(previous)
    out = previous
    for kind, names in (("tiers", vocabulary.tiers), ("regions", vocabulary.regions)):
        wanted, had = getattr(new, kind), getattr(old, kind)
        if len(wanted) != 1 or len(had) != 1 or wanted == had:
            continue
        (target,) = wanted
        spelled = (
            re.search(rf"\b{re.escape(n)}\b", follow_up, re.IGNORECASE) for n in names[target]
        )
        replacement = next(m[0] for m in spelled if m)
        for name in names[next(iter(had))]:
            out = re.sub(rf"\b{re.escape(name)}\b", replacement, out, flags=re.IGNORECASE)
    return out


def date_in_question(question: str, today: date) -> date | None:
    """An earlier date the question asks about ("in 2025", "as of 2025-06-01"), if any."""
    match = ISO_DATE.search(question)
    if match:
        try:
            asked = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
        return asked if asked <= today else None
    match = YEAR.search(question)
    if match and int(match[1]) < today.year:
        return date(int(match[1]), 12, 31)
    return None


def without_date(question: str, today: date) -> str:
    """The question without the earlier date it asks about ("Who won … in 2025?" → "Who won …?").
    That date chooses the documents in force (the as-of date); it is not a term the sentence
    that answers must share, and ranking by it makes any sentence with that year look like one."""
    if date_in_question(question, today) is None:
        return question
    text = " ".join(DATED.sub(" ", question).split())
    return re.sub(r"\s+([?.!,;])", r"\1", text)
