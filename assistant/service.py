"""`AssistantService`: the one entry point that every channel calls.

The CLI, the API routes, the portal widget (through the API), the Slack bot and the eval suite all
call these methods; a channel only converts its own format to a :class:`Question` and the
:class:`Answer` back.

How an answer is made (each step is a method below):

1. follow-ups are made standalone, and a date in the question ("in 2025") sets the as-of date;
2. retrieval runs with the caller's tier, region, role and date — it never returns what the
   caller may not see, so nothing later can leak it;
3. the support gate abstains when the sources do not cover what the question asks about, or no
   source sentence holds the kind of answer it asks for (:mod:`assistant.answerability`), and
   records a hand-off a channel manager can pick up;
4. the model writes an answer from numbered source blocks; :func:`grounding.verify` checks its
   citations and every figure, date and tier name against the cited source;
5. when the check fails (or no model is wanted) an extractive answer is composed from the best
   source sentences with their citations. ``path`` says which of these produced the answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assistant import answerability, conversation, grounding
from assistant.llm import ChatModel, ChatModelError, build_chat_model
from assistant.models import (
    Answer,
    CallerContext,
    Citation,
    Draft,
    DraftRequest,
    Handoff,
    PartnerProfile,
    Question,
    Recommendation,
    SearchHit,
    StreamEvent,
)
from assistant.prompt_files import load_prompt
from assistant.records import RecordStore
from assistant.settings import Settings
from retrieval.access import validate_caller
from retrieval.knowledge_base import KnowledgeBase, open_knowledge_base

VENDOR = "the vendor"
# A verified answer is one or two sentences; a small model that keeps going only adds noise.
ANSWER_STOPS = ["\n\n", "Question:", "<source"]
ABSTAIN_TEXT = (
    "The program documents available to you do not cover this, so I can't answer it reliably. "
    "I can hand this question to your channel account manager."
)


def citation_for(n: int, hit: SearchHit) -> Citation:
    m = hit.metadata
    return Citation(
        n=n,
        source=hit.source,
        title=hit.title,
        section=hit.section,
        page=hit.page,
        url=m.get("url"),
        doc_type=m.get("doc_type"),
        effective_date=m.get("effective_date"),
        version=m.get("version"),
    )


def rule_label(citation: Citation) -> str:
    """How an answer names a program rule: title with its version and effective date."""
    parts = [citation.title or citation.source]
    details = []
    if citation.version:
        details.append(f"version {citation.version}")
    if citation.effective_date:
        details.append(f"effective {citation.effective_date}")
    return f"{parts[0]} ({', '.join(details)})" if details else parts[0]


class AssistantService:
    def __init__(
        self,
        settings: Settings,
        kb: KnowledgeBase,
        chat_model: ChatModel | None = None,
        records: RecordStore | None = None,
    ) -> None:
        self.settings = settings
        self.kb = kb
        self._chat_model = chat_model
        self._model_lock = threading.Lock()
        self.records = records or RecordStore.from_settings(settings)
        self.answer_prompt = load_prompt("answer")
        self.rewrite_prompt = load_prompt("rewrite")

    # -- wiring ---------------------------------------------------------------------------
    @property
    def chat_model(self) -> ChatModel:
        with self._model_lock:
            if self._chat_model is None:
                self._chat_model = build_chat_model(self.settings.llm)
            return self._chat_model

    def idf(self, term: str) -> float:
        total = max(len(self.kb.lexical.ids), 1)
        return grounding.idf_from_counts(self.kb.lexical.doc_freq, total)(term)

    def ready(self) -> dict[str, bool]:
        model = self._chat_model
        loaded = model is not None and getattr(model, "is_loaded", lambda: True)()
        return {"store": self.kb.store.count() >= 0, "embedder": True, "llm": bool(loaded)}

    # -- retrieval ------------------------------------------------------------------------
    def search(
        self, query: str, caller: CallerContext, k: int | None = None, mode: str | None = None
    ) -> list[SearchHit]:
        return self.kb.retriever.retrieve(query, caller, k=k, mode=mode)  # type: ignore[arg-type]

    def ingest(self, paths: list[Path], sync: bool = False) -> dict[str, Any]:
        return self.kb.ingest(paths, sync=sync).as_dict()

    def stats(self) -> dict[str, Any]:
        return self.kb.stats()

    # -- answering ------------------------------------------------------------------------
    def standalone_question(self, question: Question) -> str:
        history = question.history
        if not conversation.is_follow_up(question.text, history):
            return question.text
        if self.settings.llm.provider == "openai":
            try:
                messages = self.rewrite_prompt.messages(
                    history=history[-6:], question=question.text
                )
                rewritten = self.chat_model.generate(messages, max_tokens=80).strip()
                if rewritten and not grounding.looks_like_injection(rewritten):
                    return rewritten.splitlines()[0]
            except ChatModelError:
                pass
        return conversation.merge_follow_up(question.text, history)

    def _prepare(self, question: Question) -> tuple[Question, str, CallerContext]:
        if question.conversation_id and not question.history:
            try:
                history = self.records.get_conversation_history(
                    question.conversation_id, max_turns=6
                )
                question = question.model_copy(update={"history": history})
            except LookupError:
                pass
        caller = validate_caller(question.caller, self.settings.access)
        standalone = self.standalone_question(question)
        if caller.as_of is None:
            asked = conversation.date_in_question(standalone, date.today())
            if asked:
                caller = caller.model_copy(update={"as_of": asked})
        return question, standalone, caller

    def answer(self, question: Question, use_model: bool = True) -> Answer:
        """Answer a question; see the module docstring for the steps."""
        events = list(self._answer_events(question, use_model=use_model, stream=False))
        return Answer.model_validate(events[-1].data)

    def stream_answer(self, question: Question, use_model: bool = True) -> Iterator[StreamEvent]:
        """Token events, then the citations, then the final answer (see :class:`StreamEvent`).

        Only verified text is streamed: a generated answer is checked before its tokens go out,
        so a partner never sees a figure that is withdrawn a moment later.
        """
        return self._answer_events(question, use_model=use_model, stream=True)

    def _answer_events(
        self, question: Question, use_model: bool, stream: bool
    ) -> Iterator[StreamEvent]:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        question, standalone, caller = self._prepare(question)
        hits = self.kb.retriever.retrieve(standalone, caller, k=self.settings.retrieval.top_k)
        timings["retrieve_ms"] = round((time.perf_counter() - started) * 1000, 1)
        sources = hits[: self.settings.answer.sources]
        # The situation a partner describes may name people and places and use words no rule
        # contains; the question itself is what must be covered and known to the corpus.
        asked = grounding.asked_part(standalone)
        found = grounding.support(standalone, sources, self.idf, answerability.FRAME)
        if asked != standalone:
            focused = grounding.support(asked, sources, self.idf, answerability.FRAME)
            found = max(found, focused, key=lambda f: f.coverage)
        unknown = grounding.unknown_names(asked, sources, self.kb.lexical.doc_freq)
        timings["unknown_names"] = float(len(unknown))
        found = grounding.Support(found.coverage, found.relevance, found.missing, unknown)
        timings["support_coverage"] = found.coverage
        evidence = grounding.best_sentences(
            standalone, sources, self.idf, self._similarity(standalone)
        )
        timings["evidence_score"] = evidence[0].score if evidence else 0.0
        holds_answer = answerability.check(asked, sources, self.idf)
        timings["answer_found"] = float(holds_answer.answerable)
        gate = self.settings.answer
        if (
            not found.sufficient(gate.min_coverage, gate.min_relevance)
            or not evidence
            or evidence[0].score < gate.min_evidence
            or not holds_answer.answerable
        ):
            answer = self._abstain(question, caller, standalone, sources)
        else:
            answer = self._generate(standalone, sources, timings) if use_model else None
            if answer is None:
                answer = self._extract(sources, evidence)
        answer.standalone_question = standalone if standalone != question.text else None
        timings["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
        answer.timings = timings
        answer = self._record(question, caller, answer)
        if stream:
            for piece in _words(answer.answer):
                yield StreamEvent(event="token", data={"text": piece})
            yield StreamEvent(
                event="citations", data={"citations": [c.model_dump() for c in answer.citations]}
            )
        yield StreamEvent(event="final", data=answer.model_dump(mode="json"))

    def _generate(
        self, question: str, sources: list[SearchHit], timings: dict[str, float]
    ) -> Answer | None:
        blocks = [
            {
                "title": h.title,
                "text": _clean_source(h.text),
                "effective_date": h.metadata.get("effective_date"),
            }
            for h in sources
        ]
        messages = self.answer_prompt.messages(vendor=VENDOR, sources=blocks, question=question)
        started = time.perf_counter()
        try:
            text = self.chat_model.generate(
                messages, max_tokens=self.settings.llm.max_tokens, stop=ANSWER_STOPS
            ).strip()
        except ChatModelError:
            return None
        timings["generate_ms"] = round((time.perf_counter() - started) * 1000, 1)
        text = grounding.attribute(text, sources)
        verdict = grounding.verify(text, sources, self.settings.access.tiers)
        if not verdict.ok or "do not cover" in text.lower():
            timings["verification_failed"] = 1.0
            return None
        citations = [citation_for(n, sources[n - 1]) for n in sorted(verdict.cited)]
        text = _renumber(text, sorted(verdict.cited))
        citations = [c.model_copy(update={"n": i}) for i, c in enumerate(citations, start=1)]
        text = _with_rule_dates(text, citations)
        return Answer(
            answer=text,
            citations=citations,
            grounded=True,
            path="generated",
            prompt=self.answer_prompt.ref,
        )

    def _extract(self, sources: list[SearchHit], evidence: list[grounding.Evidence]) -> Answer:
        used = sorted({e.source for e in evidence})
        numbering = {n: i for i, n in enumerate(used, start=1)}
        citations = [citation_for(numbering[n], sources[n - 1]) for n in used]
        lines = []
        for item in evidence:
            citation = citations[numbering[item.source] - 1]
            sentence = item.text if item.text.endswith((".", "!", "?", "%")) else item.text + "."
            lines.append(f"{sentence} [{citation.n}]")
        lead = citations[numbering[evidence[0].source] - 1]
        intro = f"According to {rule_label(lead)}: " if lead.doc_type == "program_rule" else ""
        return Answer(
            answer=intro + " ".join(lines),
            citations=citations,
            grounded=True,
            path="extractive",
            prompt=self.answer_prompt.ref,
        )

    def _similarity(self, question: str):  # noqa: ANN202
        embedder = self.kb.embedder

        def similarity(sentences: list[str]) -> list[float]:
            query = embedder.embed_query(question)
            vectors = embedder.embed_documents(sentences)
            return [float(v) for v in np.asarray(vectors) @ query]

        return similarity

    def _abstain(
        self, question: Question, caller: CallerContext, standalone: str, sources: list[SearchHit]
    ) -> Answer:
        evidence = [citation_for(n, h) for n, h in enumerate(sources, start=1)]
        handoff = self.records.create_handoff(
            standalone, caller, evidence=evidence, conversation_id=question.conversation_id
        )
        return Answer(
            answer=ABSTAIN_TEXT,
            citations=[],
            grounded=False,
            handoff_offered=True,
            path="abstained",
            prompt=self.answer_prompt.ref,
            handoff_id=handoff.id,
        )

    def _record(self, question: Question, caller: CallerContext, answer: Answer) -> Answer:
        conversation_id = question.conversation_id or self.records.start_conversation(caller)
        try:
            saved = self.records.save_answer(conversation_id, question.text, answer)
        except LookupError:
            conversation_id = self.records.start_conversation(caller)
            saved = self.records.save_answer(conversation_id, question.text, answer)
        return saved.model_copy(update={"conversation_id": conversation_id})

    # -- hand-offs and feedback -----------------------------------------------------------
    def request_handoff(
        self,
        answer_id: str | None = None,
        question: str | None = None,
        caller: CallerContext | None = None,
        conversation_id: str | None = None,
    ) -> Handoff:
        """The partner asked for a person: confirm the offered hand-off or create one."""
        if answer_id:
            existing = self.records.find_handoff_for_answer(answer_id)
            if existing:
                return self.records.request_handoff(existing.id)
            stored = self.records.get_answer(answer_id)
            offered = getattr(stored, "answer", None)
            offered_id = getattr(offered, "handoff_id", None)
            if offered_id:  # the abstained answer already offered one: confirm it, don't add one
                return self.records.request_handoff(offered_id)
            question = question or stored.question
        if not question:
            raise ValueError("a hand-off needs an answer_id or a question")
        return self.records.create_handoff(
            question,
            caller or CallerContext(),
            status="requested",
            answer_id=answer_id,
            conversation_id=conversation_id,
        )

    def list_handoffs(self) -> list[Handoff]:
        return self.records.list_handoffs()

    def add_feedback(self, answer_id: str, rating: str, comment: str = "") -> Any:
        return self.records.add_feedback(answer_id, rating, comment)  # type: ignore[arg-type]

    # -- training and drafts --------------------------------------------------------------
    def recommend_training(self, profile: PartnerProfile, limit: int = 5) -> list[Recommendation]:
        from assistant.training import recommend

        return recommend(self, profile, limit=limit)

    def draft(self, request: DraftRequest, caller: CallerContext | None = None) -> Draft:
        from assistant.drafting import draft

        return draft(self, request, caller or CallerContext(region=request.region))


def _words(text: str) -> list[str]:
    pieces = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(pieces)]


def _clean_source(text: str) -> str:
    """Source text for the prompt. A chunk that tries to give orders is withheld whole: its
    other sentences (the "facts" the instruction wants repeated) are not trustworthy either."""
    if grounding.looks_like_injection(text):
        return "[withheld: this passage contained instructions and is not used]"
    return text


def _renumber(text: str, cited: list[int]) -> str:
    mapping = {old: new for new, old in enumerate(cited, start=1)}
    return grounding.MARKER.sub(lambda m: f"[{mapping.get(int(m[1]), int(m[1]))}]", text)


def _with_rule_dates(text: str, citations: list[Citation]) -> str:
    rules = [
        c for c in citations if c.doc_type == "program_rule" and (c.effective_date or c.version)
    ]
    if not rules or any(c.effective_date and c.effective_date in text for c in rules):
        return text
    return f"{text} (Source: {rule_label(rules[0])}.)"


def build_service(
    settings: Settings,
    chat_model: ChatModel | None = None,
    kb: KnowledgeBase | None = None,
    records: RecordStore | None = None,
) -> AssistantService:
    """Open the knowledge base and records; the chat model loads on first use."""
    return AssistantService(settings, kb or open_knowledge_base(settings), chat_model, records)
