"""Does any source sentence hold what the question asks for?

Coverage and cosine similarity say whether the sources are *about* the question's topic. They
cannot tell "How much can we get from the Platinum Innovation Fund?" asked by a Silver partner
(whose documents only say the fund exists) from the same question asked by a Platinum partner
(whose document states the amount): both retrieve sentences full of the same words. What differs
is whether one sentence holds the *kind of answer* the question asks for, next to the question's
rare terms. So, for each question:

1. the wh-phrase it starts with says what kind of answer it wants — an amount ("how much", "what
   rate/price/discount"), a count ("how many"), a time ("when", "how long", "deadline"), an email
   address, a phone number, or a person ("who"); yes/no and open "what/which" questions want no
   particular kind and are left to the other checks;
2. its rare terms (high IDF, minus words that only frame the question such as "quickly", "get",
   "deadline") must mostly appear in one sentence that holds such an answer, together with that
   sentence's section heading, document title and the sentence before it (a table row under its
   lead-in sentence);
3. a question with several parts ("…, and how long before I can retry?") is answerable when any
   part is: a partial answer is more useful than a hand-off;
4. an identifier in the question (a SKU such as ``AE-MAIL-100``, a version such as "Guard 6.0")
   that no source contains means the sources speak of something else.

This is a lexical stand-in for an entailment model, which cannot be shipped offline here; it is
deliberately conservative (it only ever adds abstentions, it never forces an answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant import grounding
from assistant.models import SearchHit

# Words that only frame a question ("how *quickly* must we…", "what do we *get*…", "how much
# *money*"): they say how the answer is shaped, not which fact is wanted, and documents rarely
# repeat them.
FRAME_WORDS = """
    get gets got give gives take takes come comes need needs needed use used keep kept stay ask
    asked quote want know tell find make made real actual actually current currently
    exactly typically usually normally today now fast quick quickly soon long much many
    allowed allow able possible must may might shall will would could should also still ever
    please us our we my me mine your you they them their thing something anything way kind
    sort type exist exists there here single versus vs compare compared figure meet sent send
    call show list happen happens pretend without within deadline money amount number sum
    address thing things myself yourself ourselves himself herself themselves someone one
    he she his her him"""
FRAME = frozenset(grounding.STEMMER.stemWords(FRAME_WORDS.split()))
# Region words partners use for the program's region codes.
REGION_CODES = {"europ": "emea", "asia": "apac", "latin": "latam"}
RARE_IDF = 4.0  # a term at least this rare names what the question is about
MIN_RARE_SHARE = 0.5  # share (IDF-weighted) of the rare terms one answering sentence must hold
FALLBACK_TERMS = 3  # with no rare term, the most specific terms stand in for them …
MIN_FALLBACK_SHARE = 0.6  # … and most of them must be there

MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
UNITS = r"(?:minutes?|hours?|days?|weeks?|months?|years?|quarters?)"
NUMBER_WORDS = (
    r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty"
    r"|fifty|sixty|ninety|hundred|half|double|twice)"
)
AMOUNT_NOUNS = (
    r"price|cost|fee|rate|discount|margin|rebate|uplift|amount|money|budget|revenue|salary|cap"
    r"|limit|score|percentage|share|fund|funding"
)
LEAD = re.compile(
    r"^(?:(?:and|but|so|also|then|ok|okay|please|now)\W+)*"
    r"(?:(?:in|at|for|by|from|to|on|with|under|within|after|before)\s+)?"
    r"(what|which|how|when|who|whom|whose|where|tell me|give me|show me|list)\b(.*)$",
    re.IGNORECASE | re.DOTALL,
)
YES_NO = re.compile(
    r"^(?:can|could|is|are|am|do|does|did|will|would|should|shall|may|might|has|have|had|was"
    r"|were)\b",
    re.IGNORECASE,
)
PARTS = re.compile(
    r",?\s+(?:and|or)\s+(?=(?:(?:with|in|for|by|at|on|to|from|under)\s+)?"
    r"(?:what|which|how|when|who|where|is|are|can|do|does|tell me|give me|show me)\b)|;\s*",
    re.IGNORECASE,
)
# SKU-like codes (letters and digits: AE-MAIL-100, AF-SDW-10G) and versions after a name (Guard 6.0).
CODE = re.compile(r"(?<![\w-])[A-Za-z]+(?:-[A-Za-z0-9]+)*-?\d[\w-]*(?![\w-])")
VERSIONED_NAME = re.compile(r"\b[A-Z][A-Za-z]+ (v?\d+\.\d+(?:\.\d+)*)\b")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"\+?\d[\d ()-]{6,}\d")
PAGE = re.compile(r"\bpage \d+(?: of \d+)?\b")
DURATION = re.compile(rf"\d[\d,.]*\s*(?:-\s*)?(?:business |calendar |working )?{UNITS}\b")
DATE = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)? (?:{MONTHS})\b|\b(?:{MONTHS}) \d{{1,2}}\b"
    r"|\b(?:fy)?(?:19|20)\d\d\b|\d{4}-\d\d-\d\d"
)
VERSION = re.compile(r"\b[a-z]{3,} v?\d+\.\d+(?:\.\d+)*\b(?![.,]?\d)(?! ?(?:%|usd|eur|gbp|\$))")
TIME = re.compile(
    rf"\d+\s*(?:-\s*)?(?:business |calendar |working )?{UNITS}|\b{NUMBER_WORDS}[ -]{UNITS}"
    rf"|\b(?:{MONTHS})\b|\d{{4}}-\d\d-\d\d|\b(?:immediately|same day|next day|annual(?:ly)?"
    r"|yearly|quarterly|monthly|weekly|daily|(?:each|every|per|a) (?:year|quarter|month|week|day)"
    r"|end of|several (?:days|weeks|months|years)|around the clock|business hours"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekdays?|weekends?)\b"
    r"|\b\d{1,2}(?::\d\d)? ?(?:am|pm)\b|\b\d{1,2}:\d\d\b|\b24 ?(?:x|/) ?7\b"
)


def answer_kinds(question: str) -> set[str] | None:
    """What kind of answer a question (or one part of it) asks for.

    ``None`` when the text is not a question at all ("Pretend I am a Platinum partner"); an
    empty set for yes/no and open questions, which want no particular kind of answer.
    """
    text = question.strip()
    lead = LEAD.match(text)
    if not lead:
        return set() if YES_NO.match(text) or text.endswith("?") else None
    wh, rest = lead.group(1).lower(), lead.group(2).lower()
    head = " ".join(rest.split()[:6])
    kinds: set[str] = set()
    if re.search(r"\be-?mail\b", rest):
        kinds.add("email")
    elif re.search(
        r"\b(?:phone|telephone)\b|\bnumber (?:do|should|can|to) (?:we |i )?(?:call|dial)", rest
    ):
        kinds.add("phone")
    if wh == "how" and re.match(r"\s*(?:many|much)\b", rest):
        asks_time = re.match(r"\s*much\b", rest) and re.search(r"\b(?:time|long)\b", head)
        kinds.add("count" if re.match(r"\s*many\b", rest) or asks_time else "amount")
    elif (wh == "how" and re.match(r"\s*(?:long|quickly|soon|fast|often|early|late)\b", rest)) or (
        wh == "when" or re.search(r"\bdeadline\b", head)
    ):
        kinds.add("time")
    elif wh not in ("how", "who", "whom", "whose", "where") and re.search(
        rf"\b(?:{AMOUNT_NOUNS})s?\b", head
    ):
        kinds.add("amount")
    elif wh in ("what", "which") and not kinds and re.search(r"\b(?:number|percent)\b", head):
        kinds.add("count")
    if wh in ("who", "whom", "whose") and not kinds:
        kinds.add("person")
    return kinds


def holds(kind: str, sentence: str) -> bool:
    """Does ``sentence`` hold an answer of ``kind``? A page number, a date or a version is not
    an amount, and "90 days" is a time, not a rate."""
    text = PAGE.sub(" ", sentence.lower())
    if kind == "email":
        return bool(EMAIL.search(text))
    if kind == "phone":
        return bool(PHONE.search(text))
    if kind == "time":
        return bool(TIME.search(text))
    if kind in ("amount", "count"):
        if kind == "amount":
            text = DATE.sub(" ", DURATION.sub(" ", VERSION.sub(" ", text)))
        else:
            text = DATE.sub(" ", VERSION.sub(" ", text))
        return bool(
            re.search(r"\d", text)
            or re.search(
                rf"\b{NUMBER_WORDS}\b|\bfree\b|\bunlimited\b|\bno (?:cap|limit|minimum)\b", text
            )
        )
    return True  # "person": any sentence may name who decides


def _same_term(term: str, words: set[str]) -> bool:
    """A question term matches a sentence word with the same stem, a shared prefix of six
    letters ("registered" / "registration"), each part of a hyphenated compound, or the region
    code a region name stands for."""
    if term in words or REGION_CODES.get(term) in words:
        return True
    for part in [p for p in term.split("-") if len(p) > 1] or [term]:
        if part in words:
            continue
        if len(part) >= 5 and any(len(w) >= 5 and w[:6] == part[:6] for w in words):
            continue
        if len(part) >= 4 and any(
            len(w) >= 4 and (w.startswith(part) or part.startswith(w)) for w in words
        ):
            continue
        return False
    return True


@dataclass(frozen=True)
class Finding:
    answerable: bool
    reason: str = ""


def _part_answered(
    part: str, sources: Sequence[SearchHit], idf: Callable[[str], float]
) -> bool | None:
    kinds = answer_kinds(part)
    if kinds is None:
        return None
    if not kinds:
        return True
    keys = [k for k in dict.fromkeys(grounding.terms(part)) if k not in FRAME]
    rare = [k for k in keys if idf(k) >= RARE_IDF]
    need = MIN_RARE_SHARE
    if not rare and kinds == {"person"}:
        return True  # who decides is often worded differently ("sign off" / "approves")
    if not rare:
        rare = sorted(keys, key=lambda k: -idf(k))[:FALLBACK_TERMS]
        need = MIN_FALLBACK_SHARE
    total = sum(idf(k) for k in rare)
    for hit in sources:
        if grounding.looks_like_injection(hit.text):
            continue
        context = set(grounding.terms(f"{hit.title} {hit.section}"))
        previous = ""
        for sentence in grounding.sentences_of(hit):
            before, previous = previous, sentence
            if not all(holds(kind, sentence) for kind in kinds):
                continue
            if not rare or total <= 0:
                return True
            words = set(grounding.terms(sentence)) | context | set(grounding.terms(before))
            words |= {piece for w in list(words) for piece in w.split("-")}
            found = sum(idf(k) for k in rare if _same_term(k, words))
            if found / total >= need:
                return True
    return False


def check(question: str, sources: Sequence[SearchHit], idf: Callable[[str], float]) -> Finding:
    """Whether the sources hold an answer to ``question`` (the part actually asked)."""
    source_tokens: set[str] = set()
    for hit in sources:
        source_tokens.update(
            t.lower() for t in grounding.WORD.findall(f"{hit.title} {hit.section} {hit.text}")
        )
    named = CODE.findall(question) + VERSIONED_NAME.findall(question)
    missing = [i for i in named if i.lower() not in source_tokens]
    if missing:
        return Finding(False, f"no source mentions {', '.join(missing)}")
    verdicts = [_part_answered(p, sources, idf) for p in PARTS.split(question) if p.strip()]
    if any(v is False for v in verdicts) and not any(verdicts):
        return Finding(False, "no source sentence holds the kind of answer asked for")
    return Finding(True)
