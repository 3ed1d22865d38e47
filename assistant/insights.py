"""What partners ask that the documents do not answer: the channel manager's insights.

Read from the question log in the `RecordStore` (a bounded window, ``settings.insights.window``
questions, newest first), on demand:

- **volume**: questions, answered, abstained and thumbs-down per day, and the answer rate;
- **topics**: the abstained and thumbs-down questions, embedded with the knowledge base's own
  embedding model (each distinct question once: its vector is kept in the record store) and
  grouped by :func:`cluster` (threshold clustering on normalized vectors).
  Each topic is named by its most central question and its top terms, counted by tier, region
  and language, and given a **kind** with a suggested action by :func:`classify`:

  ``language``            the questions are in a language the corpus does not hold (the askers'
                          language is none of the documents' languages, or the questions have
                          almost none of the index language's function words and mostly words
                          the corpus does not contain);
  ``restricted_content``  searched as a channel manager, the documents cover the question, but
                          not in what the askers may see: the answer exists above their tier or
                          region (a program decision, not a gap);
  ``retrieval_miss``      the documents the askers may see cover the question's terms, yet no
                          answer was given (or it was rated down): an evaluation case to add;
  ``missing_content``     nothing the corpus holds covers the question: content to write.

  "Covers" is the answer gate's own test (``settings.answer``): the best retrieved chunk's
  cosine similarity at least ``min_relevance`` and at least ``min_coverage`` of the question's
  idf-weighted terms found in the retrieved chunks.
- **sentiment** per conversation, see :func:`conversation_sentiment`.

:func:`export_eval_questions` turns a topic into evaluation questions in the golden-set JSONL
format, so that after the content is written and ingested ``evals run`` shows the gap closed.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from assistant.models import CallerContext
from assistant.records import LoggedQuestion

TopicKind = Literal["missing_content", "restricted_content", "language", "retrieval_miss"]

ACTIONS: dict[str, str] = {
    "missing_content": "Write and ingest a document that answers these questions; export them "
    "as eval questions to check the gap closed.",
    "restricted_content": "The answer exists above these partners' tier or region: decide "
    "whether to keep the restriction or publish a version for them.",
    "language": "Partners ask in a language the documents are not in: add translated content "
    "or route these questions to a manager who speaks it.",
    "retrieval_miss": "Documents that cover these questions were retrieved but not answered "
    "from: add them as evaluation cases and check retrieval and reading.",
}
SENTIMENT_METHOD = (
    "score = thumbs up - thumbs down - hand-off requests - questions containing a negative "
    "phrase (settings.insights.negative_phrases, case-insensitive); negative below 0, "
    "positive above 0, otherwise neutral"
)
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


class InsightsFilters(BaseModel):
    since: date | None = None
    until: date | None = None
    tier: str | None = None
    region: str | None = None
    language: str | None = None


class DayCount(BaseModel):
    day: str
    questions: int
    answered: int
    abstained: int
    thumbs_down: int
    answer_rate: float | None


class TopicDocument(BaseModel):
    source: str
    title: str = ""
    relevance: float


class Topic(BaseModel):
    name: str
    terms: list[str]
    size: int
    abstained: int
    thumbs_down: int
    handoffs_requested: int
    by_tier: dict[str, int]
    by_region: dict[str, int]
    by_language: dict[str, int]
    examples: list[str]
    documents: list[TopicDocument]
    kind: TopicKind
    action: str
    why: str
    answer_ids: list[str]


class ConversationSentiment(BaseModel):
    conversation_id: str
    score: float
    label: Literal["negative", "neutral", "positive"]
    signals: list[str]


class Sentiment(BaseModel):
    method: str
    counts: dict[str, int]
    most_negative: list[ConversationSentiment]


class Insights(BaseModel):
    since: str | None
    until: str | None
    questions: int
    answered: int
    abstained: int
    answer_rate: float | None
    thumbs_up: int
    thumbs_down: int
    handoffs_requested: int
    window: int
    volume: list[DayCount]
    topics: list[Topic]
    sentiment: Sentiment
    timings: dict[str, float]


# -- clustering ---------------------------------------------------------------------------------
def cluster(
    vectors: np.ndarray, threshold: float, block: int = 1024, max_pairs: int = 30_000_000
) -> tuple[list[list[int]], list[int]]:
    """Group rows of ``vectors`` whose cosine similarity reaches ``threshold``.

    Density-first leader clustering: every row's neighbours (similarity >= threshold) are found
    in blocks (memory stays at ``block`` x n for the similarities; the neighbour lists are kept
    while they hold at most ``max_pairs`` pairs); then, densest first, each row not yet taken
    becomes a topic centre and takes every untaken neighbour. Unlike single-link clustering it
    cannot chain unrelated questions together through intermediate ones: every member is within
    the threshold of its centre. Returns the groups (largest first, members as row indices) and
    each group's centre.
    """
    n = len(vectors)
    if n == 0:
        return [], []
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    unit = np.ascontiguousarray(unit, dtype=np.float32)
    density = np.zeros(n, dtype=np.int64)
    pieces: list[np.ndarray] | None = []
    pairs = 0
    for start in range(0, n, block):
        mask = (unit[start : start + block] @ unit.T) >= threshold
        density[start : start + block] = mask.sum(axis=1)
        if pieces is not None:
            pairs += int(density[start : start + block].sum())
            if pairs > max_pairs:
                pieces = None
            else:
                pieces.append(np.nonzero(mask)[1].astype(np.int32))
    indptr = np.concatenate([[0], np.cumsum(density)]) if pieces is not None else None
    indices = np.concatenate(pieces) if pieces else None
    taken = np.zeros(n, dtype=bool)
    groups: list[list[int]] = []
    centres: list[int] = []
    for centre in np.argsort(-density, kind="stable"):
        if taken[centre]:
            continue
        if indices is not None and indptr is not None:
            near = indices[indptr[centre] : indptr[centre + 1]]
        else:  # too many pairs to keep: compare the centre with every row again
            near = np.flatnonzero(unit @ unit[centre] >= threshold)
        members = near[~taken[near]]
        if centre not in members:
            members = np.append(members, centre)
        taken[members] = True
        groups.append(members.tolist())
        centres.append(int(centre))
    order = sorted(range(len(groups)), key=lambda g: -len(groups[g]))
    return [groups[g] for g in order], [centres[g] for g in order]


def most_central(unit: np.ndarray, members: Sequence[int]) -> int:
    """The member with the highest mean similarity to the others (the topic's name)."""
    block = unit[list(members)]
    return int(members[int(np.argmax((block @ block.T).mean(axis=1)))])


def top_terms(
    texts: Sequence[str],
    background: Counter[str],
    total: int,
    k: int = 5,
    keep: Callable[[str], bool] = lambda word: True,
) -> list[str]:
    """Words frequent in the topic and rare across all gap questions (tf-idf), so the terms
    say what sets the topic apart; ``keep`` drops words the lexical index ignores."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w in set(_words(text)) if keep(w))
    scored = {
        word: count * math.log((1 + total) / (1 + background[word]))
        for word, count in counts.items()
    }
    return [w for w, s in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:k] if s > 0]


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


# -- the kind of gap ----------------------------------------------------------------------------
class Probe(BaseModel):
    """What a search for a topic's central question found for one caller."""

    relevance: float
    coverage: float
    sources: list[str]
    documents: list[TopicDocument]


def _relevance(hit: Any) -> float:
    value = getattr(hit, "relevance", None)
    if value is None:
        value = hit.metadata.get("relevance", 0.0)
    return float(value or 0.0)


def probe(service: Any, question: str, caller: CallerContext) -> Probe:
    """Search as ``caller`` and measure how well the hits cover the question: the best cosine
    relevance and the idf-weighted share of the question's index terms found in the hits."""
    hits = service.search(question, caller, k=service.settings.answer.sources)
    terms = index_terms(service, question)
    found_in = set()
    for hit in hits:
        found_in.update(index_terms(service, hit.text))
    weights = {t: idf(service, t) for t in set(terms)}
    total = sum(weights.values())
    coverage = sum(w for t, w in weights.items() if t in found_in) / total if total else 0.0
    documents = []
    seen: set[str] = set()
    for hit in hits:
        if hit.source in seen:
            continue
        seen.add(hit.source)
        documents.append(
            TopicDocument(source=hit.source, title=hit.title, relevance=round(_relevance(hit), 3))
        )
    return Probe(
        relevance=max((_relevance(h) for h in hits), default=0.0),
        coverage=round(coverage, 3),
        sources=[h.source for h in hits],
        documents=documents,
    )


def index_terms(service: Any, text: str) -> list[str]:
    """The text as the lexical index analyses it (its stop words and stemmer)."""
    import bm25s

    lexical = service.kb.lexical
    tokens = bm25s.tokenize(
        [text], stopwords="en", stemmer=lexical.stemmer, return_ids=False, show_progress=False
    )
    return list(tokens[0]) if tokens else []


def lexical_df(service: Any, term: str) -> int:
    return int(service.kb.lexical.doc_freq(term))


def idf(service: Any, term: str) -> float:
    total = max(len(service.kb.lexical.ids), 1)
    df = lexical_df(service, term)
    return math.log((total - df + 0.5) / (df + 0.5) + 1.0)


def known_share(service: Any, texts: Sequence[str]) -> tuple[float, float]:
    """How much of the questions' wording the knowledge base knows: the share of words that are
    function words of the language its lexical index analyses (the analyser drops them), and
    the share known at all (a function word, or a term that occurs in the corpus). A question
    in another language has almost no such function words and mostly unknown words; an English
    question about something the corpus lacks still has its function words."""
    words = [w for text in texts for w in _words(text)]
    if not words:
        return 1.0, 1.0
    function = known = 0
    for word in words:
        terms = index_terms(service, word)
        function += not terms
        known += not terms or any(lexical_df(service, t) > 0 for t in terms)
    return function / len(words), known / len(words)


def corpus_languages(service: Any) -> set[str]:
    documents = service.kb.store.documents()
    return {str(r.metadata.get("language") or "en").lower() for r in documents.values()} or {"en"}


def classify(
    service: Any,
    question: str,
    examples: Sequence[str],
    askers: Sequence[CallerContext],
    languages: set[str],
) -> tuple[TopicKind, str, list[TopicDocument]]:
    """The kind of gap a topic is, why, and the documents that came closest (see module doc).
    Restricted is tested before a retrieval miss: a partner may see a document that mentions a
    benefit while the one that answers is above their tier."""
    settings = service.settings
    asked_in = Counter(c.language.split("-")[0].lower() for c in askers)
    foreign = {lang for lang in asked_in if lang not in languages}
    function_share, share = known_share(service, examples)
    typical = _typical_caller(askers)
    mine = probe(service, question, typical)
    if foreign and sum(asked_in[lang] for lang in foreign) * 2 > len(askers):
        why = f"asked in {', '.join(sorted(foreign))}; the documents are in {', '.join(sorted(languages))}"
        return "language", why, mine.documents
    if (
        share < settings.insights.min_known_terms
        and function_share < settings.insights.min_function_words
    ):
        why = (
            f"only {share:.0%} of the question words are known to the documents, and "
            f"{function_share:.0%} are function words of their language"
        )
        return "language", why, mine.documents
    gate = settings.answer

    def covers(p: Probe) -> bool:
        return p.relevance >= gate.min_relevance and p.coverage >= gate.min_coverage

    manager = probe(service, question, CallerContext(role="channel_manager"))
    visible = set(mine.sources)
    hidden = [d for d in manager.documents if d.source not in visible]
    best_hidden = bool(manager.documents) and manager.documents[0].source not in visible
    if covers(manager) and best_hidden and manager.relevance >= mine.relevance:
        why = (
            f"searched as a channel manager the documents cover {manager.coverage:.0%} of the "
            f"question's terms, but {', '.join(d.source for d in hidden[:3])} is not visible to "
            f"{typical.tier or 'these'}/{typical.region or 'these'} partners"
        )
        return "restricted_content", why, hidden + mine.documents
    # Bare numbers (a deal or case number) name an instance, not a subject the corpus lacks.
    unknown = sorted(
        {
            t
            for t in index_terms(service, question)
            if any(c.isalpha() for c in t) and not lexical_df(service, t)
        }
    )
    if unknown:
        verb = "occurs" if len(unknown) == 1 else "occur"
        why = f"{', '.join(repr(t) for t in unknown)} {verb} in no document"
        return "missing_content", why, mine.documents
    if covers(mine):
        why = (
            f"documents {typical.tier or 'any tier'}/{typical.region or 'any region'} partners "
            f"see cover {mine.coverage:.0%} of the question's terms "
            f"(relevance {mine.relevance:.2f})"
        )
        return "retrieval_miss", why, mine.documents
    why = (
        f"the closest documents cover {max(mine.coverage, manager.coverage):.0%} of the "
        f"question's terms (relevance {max(mine.relevance, manager.relevance):.2f}); the gate "
        f"needs {gate.min_coverage:.0%} and {gate.min_relevance:.2f}"
    )
    return "missing_content", why, mine.documents


def _typical_caller(askers: Sequence[CallerContext]) -> CallerContext:
    """The most common partner profile among the askers (whose access the topic is judged by)."""
    partners = [c for c in askers if c.role == "partner"] or list(askers)
    tier, region = Counter((c.tier, c.region) for c in partners).most_common(1)[0][0]
    return CallerContext(role="partner", tier=tier, region=region)


# -- sentiment ----------------------------------------------------------------------------------
def conversation_sentiment(
    log: Sequence[LoggedQuestion], phrases: Sequence[str]
) -> list[ConversationSentiment]:
    """Per conversation: +1 per thumbs up, -1 per thumbs down, -1 per hand-off requested, -1
    per question containing a negative phrase. Every signal is listed, so a manager sees why."""
    lowered = [p.lower() for p in phrases if p.strip()]
    by_conversation: dict[str, list[LoggedQuestion]] = defaultdict(list)
    for item in log:
        if item.conversation_id:
            by_conversation[item.conversation_id].append(item)
    results = []
    for cid, items in by_conversation.items():
        score = 0.0
        signals: list[str] = []
        for item in items:
            if item.rating == "up":
                score += 1
                signals.append("thumbs up")
            elif item.rating == "down":
                score -= 1
                signals.append("thumbs down")
            if item.handoff_requested:
                score -= 1
                signals.append("asked for a person")
            text = item.question.lower()
            hit = next((p for p in lowered if p in text), None)
            if hit:
                score -= 1
                signals.append(f"said {hit!r}")
        label: Literal["negative", "neutral", "positive"] = (
            "negative" if score < 0 else "positive" if score > 0 else "neutral"
        )
        results.append(
            ConversationSentiment(conversation_id=cid, score=score, label=label, signals=signals)
        )
    return results


# -- the report ---------------------------------------------------------------------------------
def daily_volume(log: Sequence[LoggedQuestion]) -> list[DayCount]:
    days: dict[str, Counter[str]] = defaultdict(Counter)
    for item in log:
        day = days[item.created[:10]]
        day["questions"] += 1
        day["abstained" if item.path == "abstained" else "answered"] += 1
        day["thumbs_down"] += item.rating == "down"
    return [
        DayCount(
            day=d,
            questions=c["questions"],
            answered=c["answered"],
            abstained=c["abstained"],
            thumbs_down=c["thumbs_down"],
            answer_rate=round(c["answered"] / c["questions"], 4) if c["questions"] else None,
        )
        for d, c in sorted(days.items())
    ]


def gap_topics(
    service: Any,
    gaps: Sequence[LoggedQuestion],
    embed: Callable[[list[str]], np.ndarray],
    timings: dict[str, float],
) -> list[Topic]:
    """Cluster the gap questions and describe the largest topics (see module doc)."""
    settings = service.settings.insights
    if not gaps:
        return []
    texts = sorted({g.question for g in gaps})
    started = time.perf_counter()
    vectors = question_vectors(service, texts, embed)
    timings["embed_s"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    groups, _ = cluster(vectors, settings.cluster_similarity)
    timings["cluster_s"] = round(time.perf_counter() - started, 3)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    by_text: dict[str, list[LoggedQuestion]] = defaultdict(list)
    for g in gaps:
        by_text[g.question].append(g)
    background: Counter[str] = Counter()
    for text in texts:
        background.update(set(_words(text)))
    languages = corpus_languages(service)
    analysed: dict[str, bool] = {}

    def meaningful(word: str) -> bool:
        if word not in analysed:
            analysed[word] = bool(index_terms(service, word))
        return analysed[word]

    started = time.perf_counter()
    topics = []
    for members in groups[: settings.top_topics]:
        central = texts[most_central(unit, members)]
        member_texts = [texts[i] for i in members]
        items = [q for t in member_texts for q in by_text[t]]
        askers = [q.caller for q in items]
        kind, why, documents = classify(
            service, central, member_texts[: settings.examples * 4], askers, languages
        )
        topics.append(
            Topic(
                name=central,
                terms=top_terms(member_texts, background, len(texts), keep=meaningful),
                size=len(items),
                abstained=sum(q.path == "abstained" for q in items),
                thumbs_down=sum(q.rating == "down" for q in items),
                handoffs_requested=sum(q.handoff_requested for q in items),
                by_tier=dict(Counter(c.tier or "-" for c in askers).most_common()),
                by_region=dict(Counter(c.region or "-" for c in askers).most_common()),
                by_language=dict(Counter(c.language for c in askers).most_common()),
                examples=[central]
                + [t for t in member_texts if t != central][: settings.examples - 1],
                documents=documents[:5],
                kind=kind,
                action=ACTIONS[kind],
                why=why,
                answer_ids=[q.answer_id for q in items],
            )
        )
    timings["classify_s"] = round(time.perf_counter() - started, 3)
    topics.sort(key=lambda t: -t.size)
    return topics


def question_vectors(
    service: Any, texts: list[str], embed: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    """Embeddings of ``texts`` (rows in order): the stored ones from the record store, the new
    ones embedded now and stored, so a repeated report only embeds questions asked since."""
    model = str(getattr(service.kb.embedder, "name", "") or service.settings.embedding.model)
    cached = service.records.cached_vectors(model, texts)
    missing = [t for t in texts if t not in cached]
    if missing:
        fresh = np.asarray(embed(missing), dtype=np.float32)
        new = dict(zip(missing, fresh, strict=True))
        service.records.store_vectors(model, new)
        cached.update(new)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([np.asarray(cached[t], dtype=np.float32) for t in texts])


def build_insights(service: Any, filters: InsightsFilters) -> Insights:
    """The whole report for the window the filters select."""
    settings = service.settings.insights
    timings: dict[str, float] = {}
    started = time.perf_counter()
    log = service.records.question_log(
        since=filters.since,
        until=filters.until,
        tier=filters.tier,
        region=filters.region,
        language=filters.language,
        limit=settings.window,
    )
    timings["read_s"] = round(time.perf_counter() - started, 3)
    gaps = [q for q in log if q.path == "abstained" or q.rating == "down"]
    topics = gap_topics(service, gaps, service.kb.embedder.embed_documents, timings)
    sentiments = conversation_sentiment(log, settings.negative_phrases)
    answered = sum(q.path != "abstained" for q in log)
    return Insights(
        since=filters.since.isoformat() if filters.since else None,
        until=filters.until.isoformat() if filters.until else None,
        questions=len(log),
        answered=answered,
        abstained=len(log) - answered,
        answer_rate=round(answered / len(log), 4) if log else None,
        thumbs_up=sum(q.rating == "up" for q in log),
        thumbs_down=sum(q.rating == "down" for q in log),
        handoffs_requested=sum(q.handoff_requested for q in log),
        window=settings.window,
        volume=daily_volume(log),
        topics=topics,
        sentiment=Sentiment(
            method=SENTIMENT_METHOD,
            counts=dict(Counter(s.label for s in sentiments)),
            most_negative=sorted(
                (s for s in sentiments if s.label == "negative"), key=lambda s: s.score
            )[:20],
        ),
        timings=timings,
    )


def export_eval_questions(topic: Topic, log: Sequence[LoggedQuestion], version: str) -> str:
    """The topic's questions as JSONL in the golden Q&A format (``evals/datasets``): answerable,
    asked as the partner who asked, with no key facts or sources yet (add them when the content
    is written). Run them with ``evals run`` after ingesting the new content."""
    wanted = set(topic.answer_ids)
    seen: set[str] = set()
    lines = []
    for item in log:
        if item.answer_id not in wanted or item.question in seen:
            continue
        seen.add(item.question)
        caller = item.caller
        lines.append(
            json.dumps(
                {
                    "version": version,
                    "id": f"gap-{item.answer_id[:10]}",
                    "question": item.question,
                    "caller": {
                        "role": caller.role,
                        "tier": caller.tier,
                        "region": caller.region,
                        "as_of": None,
                    },
                    "reference_answer": "",
                    "key_facts": [],
                    "gold_sources": [],
                    "category": f"gap:{topic.kind}",
                    "answerable": topic.kind != "restricted_content",
                    "history": [],
                    "forbidden": [],
                },
                ensure_ascii=False,
            )
        )
    return "\n".join(lines) + ("\n" if lines else "")
