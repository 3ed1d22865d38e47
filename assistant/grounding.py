"""Grounding: does the evidence support an answer, which sentences say it, and is a generated
answer backed by its citations?

The local model is tiny, so facts are never trusted to it. This module carries them:

* :func:`support` — how much of what the question asks about is present in the sources
  (IDF-weighted coverage of the question's key terms). Cosine similarity alone cannot tell
  "What is Altaris' share price?" from a real question, because every question shares the
  vendor's vocabulary with the corpus; a missing rare term ("share", "Antarctica") can.
* :func:`best_sentences` — the extractive answer: the source sentences (or table rows, with
  their header) that cover the question best.
* :func:`verify` — every citation points to a given source, and every sentence with a number,
  date, percentage or tier name is backed by the source it cites.
* :func:`looks_like_injection` — text in a document or question that tries to give orders; it
  is never used as evidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import Stemmer

from assistant.answering.injection import looks_like_injection
from assistant.models import SearchHit

__all__ = ["looks_like_injection"]

STEMMER = Stemmer.Stemmer("english")
WORD = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*", re.IGNORECASE)
NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?%?(?![\w])")
MARKER = re.compile(r"\[(\d{1,2})\]")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[*])|\n+")
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "get",
        "got",
        "tell",
        "please",
        "know",
        "need",
        "want",
        "like",
        "also",
        "much",
        "many",
        "long",
        "well",
        "may",
        "might",
        "must",
        "shall",
        "us",
        "let",
        "say",
    ]
)


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text``."""
    words = [w.lower() for w in WORD.findall(text)]
    return STEMMER.stemWords([w for w in words if w not in STOPWORDS and len(w) > 1])


def numbers(text: str) -> set[str]:
    """Numbers as written facts: "$1,450" and "1450" are the same figure, "12%" keeps its %."""
    return {n.replace(",", "").replace("$", "") for n in NUMBER.findall(text)}


def asked_part(text: str) -> str:
    """The question actually asked: the last sentence ending in "?" when the text also tells a
    situation ("We are a Gold partner in EMEA… Can we …?"), else the whole text."""
    sentences = [s for s in re.split(r"(?<=[.!?;])\s+", text.strip()) if s]
    questions = [s for s in sentences if s.rstrip().endswith("?")]
    return questions[-1] if len(sentences) > 1 and questions else text


ENTITY = re.compile(r"(?<![\w-])([A-Z][a-zA-Z]{2,}|[A-Za-z]*\d[A-Za-z0-9.\-]*[A-Za-z0-9])(?![\w-])")
QUESTION_WORDS = frozenset(
    [
        "who",
        "what",
        "when",
        "where",
        "which",
        "why",
        "how",
        "does",
        "do",
        "is",
        "are",
        "can",
        "could",
        "should",
    ]
)


def unknown_names(
    question: str, hits: Sequence[SearchHit], doc_freq: Callable[[str], int]
) -> tuple[str, ...]:
    """Names and codes in the question ("Antarctica", "Diamond", "AE-MAIL-100") that neither the
    retrieved sources nor any indexed chunk mention: the corpus speaks of something else."""
    seen = {w.lower() for h in hits for w in WORD.findall(f"{h.title} {h.section} {h.text}")}
    out = []
    for match in ENTITY.finditer(question):
        word = match.group(1)
        lowered = word.lower()
        if match.start() == 0 or lowered in QUESTION_WORDS or lowered in seen:
            continue
        # The plural of an acronym ("MSPs", "SKUs") names the acronym; stemmers leave it alone.
        if re.fullmatch(r"[A-Z]{2,}s", word) and (
            lowered[:-1] in seen or doc_freq(lowered[:-1]) > 0
        ):
            continue
        if any(w.startswith(lowered) for w in seen):  # "Mac" in "macOS", not "6.0" in "96.00"
            continue
        versioned = re.search(r"[A-Z][A-Za-z]+ $", question[: match.start()])
        if re.fullmatch(r"[\d.,]+", word) and not versioned:  # "600,000 USD", not "Guard 6.0"
            continue
        stems = terms(word)
        if stems and all(doc_freq(s) == 0 for s in stems):
            out.append(word)
    return tuple(out)


@dataclass(frozen=True)
class Support:
    coverage: float  # IDF-weighted share of the question's key terms found in the sources
    relevance: float  # best cosine similarity of question and source
    missing: tuple[str, ...]  # key terms no source contains
    unknown: tuple[str, ...] = ()  # names in the question the corpus never mentions

    def sufficient(self, min_coverage: float, min_relevance: float) -> bool:
        return (
            self.coverage >= min_coverage and self.relevance >= min_relevance and not self.unknown
        )


def support(
    question: str,
    hits: Sequence[SearchHit],
    idf: Callable[[str], float],
    ignore: frozenset[str] = frozenset(),
) -> Support:
    """How much of the question the sources cover; ``ignore`` holds stems that only frame a
    question ("deadline", "quickly") and say nothing about whether the sources cover it."""
    keys = [k for k in dict.fromkeys(terms(question)) if k not in ignore]
    if not hits:
        return Support(0.0, 0.0, tuple(keys))
    relevance = max(h.relevance or 0.0 for h in hits)
    if not keys:
        return Support(1.0, relevance, ())
    present: set[str] = set()
    for hit in hits:
        present.update(terms(f"{hit.title} {hit.section} {hit.text}"))
    weights = {k: idf(k) for k in keys}
    total = sum(weights.values()) or 1.0
    found = sum(w for k, w in weights.items() if k in present)
    missing = tuple(k for k in keys if k not in present)
    return Support(round(found / total, 4), relevance, missing)


@dataclass(frozen=True)
class Evidence:
    text: str
    source: int  # 1-based number of the source block
    score: float


BULLET = re.compile(r"^\s*(?:[-*+\u2022]|\d+[.)])\s+")


def _table_rows(lines: list[str]) -> list[str]:
    """Table rows as "header: value" pairs, so a row keeps its meaning on its own."""
    rows = []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(set(c) <= set("-: ") for c in cells):
            continue
        rows.append(cells)
    if len(rows) < 2:
        return [" | ".join(r) for r in rows]
    header, out = rows[0], []
    for cells in rows[1:]:
        pairs = [f"{h}: {c}" for h, c in zip(header[1:], cells[1:]) if c]
        out.append(f"{cells[0]} ({'; '.join(pairs)})" if pairs else cells[0])
    return out


def sentences_of(hit: SearchHit) -> list[str]:
    """Sentences of a chunk. Hard-wrapped lines are joined first; a list item is one sentence;
    a table row is rendered with its column headers."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", hit.text):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if sum(line.strip().startswith("|") for line in lines) >= 2:
            out.extend(_table_rows([line for line in lines if line.strip().startswith("|")]))
            continue
        items: list[str] = []
        for line in lines:
            if BULLET.match(line) or not items:
                items.append(BULLET.sub("", line).strip())
            else:
                items[-1] += " " + line.strip()
        for item in items:
            out.extend(s.strip() for s in SENTENCE.split(item) if len(s.strip()) > 2)
    cleaned = [re.sub(r"\*\*|__|`", "", s).strip() for s in out]
    return [re.sub(r"\s+([,.;:!?)])", r"\1", s) for s in cleaned if s]


def best_sentences(
    question: str,
    hits: Sequence[SearchHit],
    idf: Callable[[str], float],
    similarity: Callable[[list[str]], list[float]] | None = None,
    limit: int = 3,
) -> list[Evidence]:
    """The sentences that answer ``question`` best, most useful first, at most ``limit``.

    Scored by IDF-weighted overlap with the question's key terms, plus the sentence's embedding
    similarity to the question when ``similarity`` is given, plus a small bonus for the source's
    rank. Sentences that try to give orders are never evidence.
    """
    keys = set(terms(question))
    candidates: list[tuple[str, int, float]] = []
    for number, hit in enumerate(hits, start=1):
        if looks_like_injection(hit.text):  # a chunk that gives orders is not trusted at all
            continue
        for sentence in sentences_of(hit):
            if len(sentence) < 12:
                continue
            words = set(terms(sentence))
            overlap = sum(idf(k) for k in keys & words)
            norm = sum(idf(k) for k in keys) or 1.0
            candidates.append((sentence, number, overlap / norm + 0.05 / number))
    if not candidates:
        return []
    if similarity is not None:
        sims = similarity([c[0] for c in candidates])
        candidates = [(s, n, score + 0.6 * sim) for (s, n, score), sim in zip(candidates, sims)]
    candidates.sort(key=lambda c: -c[2])
    chosen: list[Evidence] = []
    seen: set[str] = set()
    best = candidates[0][2]
    for sentence, number, score in candidates:
        key = sentence.lower()[:80]
        if key in seen or score < 0.6 * best:
            continue
        seen.add(key)
        chosen.append(Evidence(sentence, number, round(score, 4)))
        if len(chosen) == limit:
            break
    return chosen


def attribute(answer: str, sources: Sequence[SearchHit], min_overlap: float = 0.7) -> str:
    """Add a citation to each uncited sentence that one source clearly supports.

    Small models often copy the right sentence and drop the ``[n]``. A sentence is attributed to
    the source that holds all of its figures and the largest share (at least ``min_overlap``) of
    its content words; a sentence no source supports stays uncited and fails verification.
    """
    texts = [f"{h.title} {h.section} {h.text}" for h in sources]
    source_terms = [set(terms(t)) for t in texts]
    source_numbers = [numbers(t) for t in texts]
    out = []
    for sentence in re.split(r"(?<=[.!?])\s+", answer.strip()):
        if not sentence or MARKER.search(sentence):
            out.append(sentence)
            continue
        words = set(terms(sentence))
        figures = numbers(sentence)
        best, best_share = 0, 0.0
        for n, (st, sn) in enumerate(zip(source_terms, source_numbers), start=1):
            if looks_like_injection(texts[n - 1]) or not figures <= sn or not words:
                continue
            share = len(words & st) / len(words)
            if share > best_share:
                best, best_share = n, share
        if best and best_share >= min_overlap:
            body = sentence.rstrip()
            end = body[-1] if body[-1] in ".!?" else ""
            sentence = f"{body[:-1] if end else body} [{best}]{end}"
        out.append(sentence)
    return " ".join(out)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    problems: tuple[str, ...]
    cited: tuple[int, ...]


TAG = re.compile(r"<[^>]{0,200}>")
NEGATION = re.compile(
    r"\b(not|no|never|cannot|can't|isn't|aren't|doesn't|don't|won't|without|none)\b", re.IGNORECASE
)


def sentence_support(sentence: str, source: SearchHit, min_share: float = 0.6) -> bool:
    """Is ``sentence`` backed by one sentence of ``source``: most of its content words in one
    place, and a negation only where the source negates too? A cheap stand-in for entailment
    that catches the small model's typical errors (a fact joined to the wrong subject, a flipped
    "not")."""
    # Markup carries no facts (every channel escapes it), so only the text is checked.
    words = set(terms(TAG.sub(" ", MARKER.sub("", sentence))))
    if len(words) < 3:
        return True
    negated = bool(NEGATION.search(sentence))
    for candidate in sentences_of(source) + [source.title]:
        share = len(words & set(terms(candidate))) / len(words)
        if share >= min_share and (not negated or NEGATION.search(candidate)):
            return True
    return False


def verify(answer: str, sources: Sequence[SearchHit], tier_names: Sequence[str]) -> Verdict:
    """Check a generated answer against the numbered sources it was given."""
    problems: list[str] = []
    cited: list[int] = []
    text = answer.strip()
    if not text:
        return Verdict(False, ("empty answer",), ())
    source_text = [f"{h.title} {h.section} {h.text}" for h in sources]
    clean_sources = ["" if looks_like_injection(t) else t for t in source_text]
    sentences = [s for s in SENTENCE.split(text) if s.strip()]
    for sentence in sentences:
        markers = [int(m) for m in MARKER.findall(sentence)]
        for n in markers:
            if not 1 <= n <= len(sources):
                problems.append(f"cites [{n}], which is not a given source")
            elif n not in cited:
                cited.append(n)
        body = MARKER.sub("", sentence)
        valid = [n for n in markers if 1 <= n <= len(sources)]
        if valid and not any(sentence_support(body, sources[n - 1]) for n in valid):
            problems.append(f"not stated by the cited source: {body.strip()[:80]!r}")
        facts = numbers(body)
        tiers = {t for t in tier_names if re.search(rf"\b{re.escape(t)}\b", body, re.IGNORECASE)}
        if not facts and not tiers:
            continue
        backing = [clean_sources[n - 1] for n in markers if 1 <= n <= len(sources)]
        if not backing:
            problems.append(f"unsupported claim without a citation: {body.strip()[:80]!r}")
            continue
        joined = " ".join(backing)
        for fact in sorted(facts - numbers(joined)):
            problems.append(f"figure {fact} is not in the cited source")
        for tier in sorted(tiers):
            if not re.search(rf"\b{re.escape(tier)}\b", joined, re.IGNORECASE):
                problems.append(f"tier {tier} is not in the cited source")
    if not cited:
        problems.append("no citations")
    if looks_like_injection(text):
        problems.append("the answer repeats an instruction from a document")
    return Verdict(not problems, tuple(problems), tuple(cited))


def idf_from_counts(doc_freq: Callable[[str], int], total: int) -> Callable[[str], float]:
    """BM25-style IDF; an unseen term weighs the most (nothing in the corpus speaks of it)."""

    def idf(term: str) -> float:
        df = doc_freq(term)
        return math.log(1 + (total - df + 0.5) / (df + 0.5))

    return idf
