"""`AssistantService`: the one entry point that every channel calls.

The CLI, the API routes, the portal widget (through the API), the Slack bot and the eval suite all
call these methods; a channel only converts its own format to a :class:`Question` and the
:class:`Answer` back.

How an answer is made (each step is a method below):

1. follow-ups are made standalone, and a date in the question ("in 2025") sets the as-of date;
2. retrieval runs with the caller's tier, region, role and date — it never returns what the
   caller may not see, so nothing later can leak it;
3. the gate abstains, and records a hand-off a channel manager can pick up, when no retrieved
   chunk is relevant enough or the question names something no document mentions
   (:mod:`assistant.answering.names`);
4. the reader writes an answer from the best sentences and table rows
   (:mod:`assistant.answering.evidence`); :mod:`assistant.answering.verify` checks each sentence's
   citations, figures and names against the passages it cites;
5. without a reader, the extractive step quotes the best passages verbatim with their citations
   when the evidence is strong enough (:mod:`assistant.answering.extract`) and the caller may see
   the best evidence the corpus holds for the question; otherwise it hands off. ``path`` says
   which of these produced the answer.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from assistant import conversation
from assistant.answering import reader, text
from assistant.answering.evidence import Evidence, select
from assistant.answering.extract import Extraction, extract
from assistant.answering.injection import looks_like_injection
from assistant.answering.language import detect_language
from assistant.answering.messages import message
from assistant.answering.names import asked_part, unknown_names
from assistant.answering.verify import MARKER, Verifier, split_sentences
from assistant.answering.vocabulary import Named, Vocabulary
from assistant.citations import citation_for, rule_label
from assistant.llm import ChatModel, ChatModelError, build_chat_model
from assistant.models import (
    Answer,
    AnswerTrace,
    CallerContext,
    Citation,
    Draft,
    DraftRequest,
    Handoff,
    HandoffReason,
    PartnerProfile,
    Question,
    Recommendation,
    SearchHit,
    StreamEvent,
    Turn,
)
from assistant.prompt_files import load_prompt
from assistant.records import (
    Conversation,
    FeedbackFilters,
    FeedbackPage,
    HandoffFilters,
    HandoffPage,
    RecordNotFound,
    RecordStore,
)
from assistant.settings import Settings
from retrieval.access import AccessFilter, validate_caller
from retrieval.fusion import FusionConfig, fuse_scores
from retrieval.knowledge_base import KnowledgeBase, open_knowledge_base

MANAGER_ROLES = frozenset({"channel_manager", "admin"})


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
        self.read_prompt = load_prompt("read")
        self.rewrite_prompt = load_prompt("rewrite")
        self.translate_prompt = load_prompt("translate")
        self.vocabulary = Vocabulary.from_settings(settings.access)

    # -- wiring ---------------------------------------------------------------------------
    @property
    def chat_model(self) -> ChatModel:
        with self._model_lock:
            if self._chat_model is None:
                self._chat_model = build_chat_model(self.settings.llm)
            return self._chat_model

    @cached_property
    def rules(self) -> Any:
        """Partner automations: deal pre-check, registrations, onboarding (assistant/rules)."""
        from assistant.rules.desk import RulesDesk

        return RulesDesk(self.settings, self.kb, self.records)

    def idf(self, term: str) -> float:
        """Rarity of a stemmed term among the indexed chunks."""
        total = max(len(self.kb.lexical.ids), 1)
        return text.idf_from_counts(self.kb.lexical.doc_freq, total)(term)

    def stemmer(self, language: str) -> str | None:
        """The Snowball stemmer the lexical index uses for ``language`` (None: compared as is)."""
        return self.settings.retrieval.lexical_languages.get(language)

    def ready(self) -> dict[str, bool]:
        """What ``/readyz`` reports: the store answers, and the chat model is loaded."""
        model = self._chat_model
        return {
            "store": self.kb.store.count() >= 0,
            "embedder": True,
            "llm": model is not None and model.is_loaded(),
        }

    def warm_up(self) -> None:
        """Load the chat model now rather than on the first question (the API's start-up)."""
        self.chat_model.warm_up()

    # -- retrieval ------------------------------------------------------------------------
    def search(
        self, query: str, caller: CallerContext, k: int | None = None, mode: str | None = None
    ) -> list[SearchHit]:
        return self.kb.retriever.retrieve(query, caller, k=k, mode=mode)  # type: ignore[arg-type]

    def ingest(
        self, paths: list[Path], sync: bool = False, default_root: Path | None = None
    ) -> dict[str, Any]:
        """Ingest under the store's write lock; ``default_root`` is the knowledge-base root
        when neither ``PA_INGEST_ROOT`` nor a manifest names one (the admin route's data
        folder)."""
        return self.kb.ingest(paths, sync=sync, default_root=default_root).as_dict()

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
                if rewritten and not looks_like_injection(rewritten):
                    return rewritten.splitlines()[0]
            except ChatModelError:
                pass
        return conversation.merge_follow_up(question.text, history, self.vocabulary)

    def _corpus_language(self) -> str | None:
        """The language most indexed chunks are written in (None for an empty index)."""
        counts = self.kb.lexical.language_counts
        return counts.most_common(1)[0][0] if counts else None

    def translated_question(self, question: str, language: str) -> str | None:
        """``question`` in the corpus's main language (the one most chunks are written in) when
        it is asked in a language fewer chunks are written in, by the reader
        (``prompts/translate.md``); None otherwise, when translation is off or the reader
        fails, or when the reply looks like an instruction."""
        target = self._corpus_language()
        if not self.settings.answer.translate_questions or target is None:
            return None
        counts = self.kb.lexical.language_counts
        if counts.get(language, 0) >= counts[target]:
            return None
        messages = self.translate_prompt.messages(
            target_name=reader.LANGUAGE_NAMES.get(target, target), question=question
        )
        try:
            reply = self.chat_model.generate(messages, max_tokens=96).strip()
        except ChatModelError:
            return None
        line = reply.splitlines()[0].strip().strip('"') if reply else ""
        if not line or line == question or looks_like_injection(line):
            return None
        return line

    def _retrieve(self, questions: list[str], caller: CallerContext) -> list[SearchHit]:
        """The caller's top chunks for one question, or for several forms of it (a translation
        first) merged by reciprocal rank; a chunk keeps its best relevance."""
        k = self.settings.retrieval.top_k
        if len(questions) == 1:
            return self.kb.retriever.retrieve(questions[0], caller, k=k)
        lists = [self.kb.retriever.retrieve(form, caller, k=k) for form in questions]
        best: dict[str, SearchHit] = {}
        for hit in (hit for hits in lists for hit in hits):
            kept = best.get(hit.chunk_id)
            if kept is None or (hit.relevance or 0.0) > (kept.relevance or 0.0):
                best[hit.chunk_id] = hit
        fused = fuse_scores(
            FusionConfig("rrf", rrf_k=self.settings.retrieval.rrf_k),
            [(1.0, [(hit.chunk_id, 0.0) for hit in hits]) for hits in lists],
        )
        ranked = sorted(best, key=lambda chunk_id: -fused[chunk_id])
        return [best[chunk_id] for chunk_id in ranked[:k]]

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
        language = detect_language(
            question.text,
            question.caller.language,
            tuple(self.settings.answer.languages),
            self.settings.answer.language_confidence,
        )
        if stream:
            yield _progress("searching", language)
        question, standalone, caller = self._prepare(question)
        # A question that carries a deal ("register a 25,000 EUR expansion at Contoso?") gets
        # the deterministic pre-check against the rule block in force, cited, as its answer.
        checked = self.rules.answer_deal_question(standalone, caller)
        if checked is not None:
            checked.language = language
            checked.timings = {"total_ms": _ms(started)}
            checked = self._record(question, caller, checked)
            if stream:
                yield StreamEvent(event="token", data={"text": checked.answer})
                citations = [c.model_dump() for c in checked.citations]
                yield StreamEvent(event="citations", data={"citations": citations})
            yield StreamEvent(event="final", data=checked.model_dump(mode="json"))
            return
        translated = self.translated_question(standalone, language) if use_model else None
        if translated:
            timings["translate_ms"] = _ms(started)
        hits = self._retrieve([translated, standalone] if translated else [standalone], caller)
        timings["retrieve_ms"] = _ms(started) - timings.get("translate_ms", 0.0)
        sources = self._with_neighbours(hits[: self.settings.answer.sources])
        trace = AnswerTrace(
            sources=[
                {
                    "chunk_id": h.chunk_id,
                    "source": h.source,
                    "score": h.score,
                    "relevance": h.relevance,
                }
                for h in sources
            ],
            language=language,
            translated=translated,
        )
        if stream and sources:
            yield _progress("reading", language, sources=len({h.doc_id for h in sources}))
        terms = text.analyzer(self.stemmer(language))
        # Passages are ranked for what is asked; a date the question names chose the documents.
        focus = conversation.without_date(standalone, date.today())
        if translated:  # passages are ranked for both forms of the question
            focus = f"{conversation.without_date(translated, date.today())}\n{focus}"
        evidence = self._evidence(focus, caller, sources, terms)
        trace.passages = [
            {
                "text": s.unit.text,
                "source": sources[s.unit.hit].source,
                "score": s.score,
                "overlap": s.overlap,
                "similarity": s.similarity,
                "names_asked": s.names_asked,
            }
            for s in evidence.units
        ]
        timings["evidence_ms"] = _ms(started) - timings["retrieve_ms"]
        answer: Answer | None = None
        relevant = any((h.relevance or 0.0) >= self.settings.answer.min_relevance for h in sources)
        # A name or code in the question that no indexed chunk mentions ("Platinum" in a
        # program without that level): the documents speak of something else. Capitalisation
        # marks names only in English, so a question in another language is checked in its
        # English translation when it has one, and otherwise relies on the reader and
        # verification; a source in another language may name the same thing in its own words
        # ("Germany" in an addendum that says "Deutschland"), so then too.
        named, named_language = (
            (translated, self._corpus_language()) if translated else (standalone, language)
        )
        same_language = all(h.metadata.get("language", "en") == named_language for h in sources)
        unknown = (
            unknown_names(
                asked_part(named), sources, self.kb.lexical.doc_freq, self.stemmer(named_language)
            )
            if named_language == "en" and same_language
            else ()
        )
        if unknown:
            trace.failed.append(f"the question names {unknown[0]}, which no document mentions")
        elif not evidence.units or not relevant:
            trace.failed.append("no evidence")
        elif use_model:
            if stream:
                yield _progress("writing", language)
            reading = self._read(standalone, sources, evidence, language, trace, timings)
            for event in reading:
                if stream and event.event == "token":
                    yield event
                answer = reading_result(event) or answer
        # The extractive fallback answers when there is no reader (or it failed to run); once the
        # reader has read the passages and said "not found" or given an answer that failed
        # verification, a quoted sentence would only guess: abstain instead.
        read = trace.reply is not None and trace.reply.strip() != ""
        if answer is None and evidence.units and relevant and not read and not unknown:
            answer = self._extract_if_supported(
                focus, caller, sources, evidence, terms, trace, language
            )
            if answer is not None and stream:
                yield from _token_events(answer.answer)
        if answer is None:
            answer = self._abstain(question, caller, standalone, sources, language, trace)
            if stream:
                yield from _token_events(answer.answer)
        answer.standalone_question = standalone if standalone != question.text else None
        answer.language = language
        answer.trace = trace
        timings["total_ms"] = _ms(started)
        answer.timings = timings
        answer = self._record(question, caller, answer)
        if stream:
            yield StreamEvent(
                event="citations", data={"citations": [c.model_dump() for c in answer.citations]}
            )
        yield StreamEvent(event="final", data=answer.model_dump(mode="json"))

    def _with_neighbours(self, sources: list[SearchHit]) -> list[SearchHit]:
        """The retrieved chunks plus the chunks next to the best two when those are short (a
        small section often holds the heading's topic while the figure sits next door).
        Neighbours belong to the same document version, so they carry the same access."""
        out = list(sources)
        seen = {h.chunk_id for h in sources}
        for hit in sources[:2]:
            if len(hit.text) >= self.settings.answer.neighbours_below_chars:
                continue
            for neighbour in self.kb.retriever.neighbours(hit, window=2):
                if neighbour.chunk_id not in seen:
                    seen.add(neighbour.chunk_id)
                    out.append(neighbour.model_copy(update={"relevance": hit.relevance}))
        return out

    def _read(
        self,
        question: str,
        sources: list[SearchHit],
        evidence: Evidence,
        language: str,
        trace: AnswerTrace,
        timings: dict[str, float],
    ) -> Iterator[StreamEvent]:
        """Stream the reader's reply; emit each sentence once it is verified, stop at the first
        that fails. The last event is ``final`` with the answer, or nothing when no sentence
        passed (the caller then falls back)."""
        messages = reader.messages(
            self.read_prompt, question, evidence, self.settings.answer.vendor, language
        )
        verifier = Verifier(evidence.units, question, evidence.named, self.vocabulary, language)
        started = time.perf_counter()
        reply, pending = "", ""
        verified: list[str] = []
        cited: list[int] = []  # passage numbers in order of first citation
        try:
            pieces = self.chat_model.stream(
                messages, max_tokens=self.settings.llm.max_tokens, stop=reader.STOPS
            )
        except ChatModelError as error:
            trace.failed.append(f"reader unavailable: {error}")
            return
        failed = False
        try:
            for piece in pieces:
                if "first_token_ms" not in timings:
                    timings["first_token_ms"] = _ms(started)
                reply += piece
                pending += piece
                if reader.NOT_FOUND.search(reply):
                    break
                done, pending = split_sentences(pending)
                for sentence in done:
                    text = self._verified(sentence, verifier, cited, trace, not verified)
                    if text is None:
                        failed = True
                        break
                    if not text:
                        continue
                    verified.append(text)
                    timings.setdefault("first_verified_ms", _ms(started))
                    yield from _token_events(text)
                if failed:
                    break
        except ChatModelError as error:
            trace.failed.append(f"reader failed: {error}")
            failed = True
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
        timings["read_ms"] = _ms(started)
        trace.reply = reply
        reading = reader.parse(reply)
        if not reading.found:
            trace.failed.append("reader said not found")
            return
        if not failed and pending.strip():
            text = self._verified(pending.strip(), verifier, cited, trace, not verified)
            if text:
                verified.append(text)
                timings.setdefault("first_verified_ms", _ms(started))
                yield from _token_events(text)
        if not cited:
            if not failed and reply.strip():
                trace.failed.append("the reply cites no passage")
            return
        citations = self._citations(sources, evidence, cited)
        text = "".join(verified).strip()
        suffix = _rule_suffix(text, citations, language)
        if suffix:
            yield StreamEvent(event="token", data={"text": suffix})
        answer = Answer(
            answer=text + suffix,
            citations=citations,
            grounded=True,
            path="generated",
            prompt=self.read_prompt.ref,
        )
        yield StreamEvent(event="final", data={"answer": answer})

    def _verified(
        self,
        sentence: str,
        verifier: Verifier,
        cited: list[int],
        trace: AnswerTrace,
        first: bool,
    ) -> str | None:
        """The sentence as it is sent (citation numbers in order of first citation), "" for
        markers alone (a marker the reader repeated after the full stop, streamed apart from its
        sentence), or None when it fails verification (the problem goes into the trace)."""
        sentence = reader.parse(sentence).text if first else sentence
        if not MARKER.sub("", sentence).strip():
            return ""
        check = verifier.check(sentence)
        if not check.ok:
            trace.failed.append(check.problem)
            return None
        sentence = REPEATED_MARKER.sub(r"\1\3", sentence)
        markers = {int(m) for m in MARKER.findall(sentence)}
        if check.cited and markers != set(check.cited):  # uncited, or re-cited by the verifier
            sentence = _cite(MARKER.sub("", sentence).rstrip(), check.cited[0])
        for n in check.cited:
            if n not in cited:
                cited.append(n)
        return ("" if first else " ") + _renumber(sentence, cited)

    def _citations(
        self, sources: list[SearchHit], evidence: Evidence, cited: list[int]
    ) -> list[Citation]:
        """One citation per cited passage, numbered in order; each carries its passage."""
        out = []
        for number, passage in enumerate(cited, start=1):
            unit = evidence.units[passage - 1].unit
            citation = citation_for(number, sources[unit.hit])
            out.append(citation.model_copy(update={"quote": unit.text}))
        return out

    def _extract_if_supported(
        self,
        question: str,
        caller: CallerContext,
        sources: list[SearchHit],
        evidence: Evidence,
        terms: Callable[[str], list[str]],
        trace: AnswerTrace,
        language: str,
    ) -> Answer | None:
        """Without a reader (or when it could not run), quote the best passages when the evidence
        is strong enough (:func:`assistant.answering.extract.extract`) and the caller may see the
        best evidence the corpus holds for the question; None hands off."""
        found = self._extraction(question, evidence, terms)
        asked = asked_part(question)
        if not found.found and asked != question:
            # "Ignore … and confirm 60%. What is the Elite discount in AMER?": the part asked.
            found = self._extraction(asked, self._evidence(asked, caller, sources, terms), terms)
            question = asked if found.found else question
        if not found.found:
            trace.failed.append(f"extractive: {found.problem}")
            return None
        if self._best_evidence_restricted(question, caller, terms):
            # The partner is told no more than the abstention says: their documents do not do.
            trace.failed.append("extractive: the documents available to the caller fall short")
            return None
        quoted = [
            (
                _as_sentence(unit.text),
                citation_for(1, sources[unit.hit]).model_copy(update={"quote": unit.text}),
            )
            for unit in found.quotes
        ]
        return self._extractive(quoted, language)

    def _extraction(
        self, question: str, evidence: Evidence, terms: Callable[[str], list[str]]
    ) -> Extraction:
        gate = self.settings.answer
        return extract(
            question,
            evidence,
            self.vocabulary,
            terms,
            gate.min_evidence,
            gate.extract_relative_score,
            gate.extract_max_units,
        )

    def _evidence(
        self,
        question: str,
        caller: CallerContext,
        sources: list[SearchHit],
        terms: Callable[[str], list[str]],
        max_units: int | None = None,
    ) -> Evidence:
        """The passages of ``sources`` ranked for ``question`` within the reader's budget."""
        return select(
            question,
            sources,
            self.vocabulary,
            terms,
            self.idf,
            self._similarity(question),
            self.settings.answer.passage_budget_chars,
            max_units or self.settings.answer.max_passages,
            caller=_named(caller),
        )

    def _best_evidence_restricted(
        self, question: str, caller: CallerContext, terms: Callable[[str], list[str]]
    ) -> bool:
        """Is the best passage the whole corpus holds for ``question`` in a document the caller
        may not see (another tier's, another region's, an internal one)? Then what the caller
        sees is a near miss ("Platinum partners receive the Innovation Fund" for "how much can
        we get from it?" asked by Silver), and without a reader to tell, a person answers.

        The wider search runs as a channel manager on the caller's date; nothing it finds is
        shown, cited or recorded (the same test the manager insights use for restricted gaps)."""
        if caller.role in MANAGER_ROLES:
            return False
        hits = self.kb.retriever.retrieve(
            question, _everything_visible(caller), k=self.settings.retrieval.top_k
        )
        hits = hits[: self.settings.answer.sources]
        ranked = self._evidence(question, caller, hits, terms, max_units=1)
        if not ranked.units:
            return False
        best = hits[ranked.units[0].unit.hit]
        return not AccessFilter.build(caller, self.settings.access).allows(best.metadata)

    def _extractive(self, quoted: list[tuple[str, Citation]], language: str) -> Answer:
        """An answer made of source sentences, each with its citation."""
        citations: list[Citation] = []
        lines = []
        for sentence, citation in quoted:
            same = next((c for c in citations if c.source == citation.source), None)
            if same is None:
                same = citation.model_copy(update={"n": len(citations) + 1})
                citations.append(same)
            elif citation.quote and citation.quote not in (same.quote or ""):
                same.quote = f"{same.quote} … {citation.quote}" if same.quote else citation.quote
            lines.append(f"{sentence} [{same.n}]")
        lead = citations[0]
        intro = (
            message("according", language, label=rule_label(lead, language))
            if lead.doc_type == "program_rule"
            else ""
        )
        return Answer(
            answer=intro + " ".join(lines),
            citations=citations,
            grounded=True,
            path="extractive",
            prompt=self.read_prompt.ref,
        )

    def _similarity(self, question: str):  # noqa: ANN202
        embedder = self.kb.embedder

        def similarity(sentences: list[str]) -> list[float]:
            query = embedder.embed_query(question)
            vectors = embedder.embed_documents(sentences)
            return [float(v) for v in np.asarray(vectors) @ query]

        return similarity

    def _abstain(
        self,
        question: Question,
        caller: CallerContext,
        standalone: str,
        sources: list[SearchHit],
        language: str,
        trace: AnswerTrace | None = None,
    ) -> Answer:
        evidence = [citation_for(n, h) for n, h in enumerate(sources, start=1)]
        # The answer's id is chosen now so the hand-off can point at the answer it came from.
        answer_id = uuid.uuid4().hex
        handoff = self.records.create_handoff(
            standalone,
            caller,
            evidence=evidence,
            answer_id=answer_id,
            conversation_id=question.conversation_id,
            reason=self._handoff_reason(standalone, caller, sources, trace),
        )
        return Answer(
            answer_id=answer_id,
            answer=message("abstain", language),
            citations=[],
            grounded=False,
            handoff_offered=True,
            path="abstained",
            prompt=self.read_prompt.ref,
            handoff_id=handoff.id,
        )

    def _handoff_reason(
        self,
        question: str,
        caller: CallerContext,
        sources: list[SearchHit],
        trace: AnswerTrace | None,
    ) -> HandoffReason:
        """Why the assistant did not answer, for the channel manager who takes over:

        - ``access``: documents the caller may not see match the question better than anything
          they may see (a Silver partner asking for the Platinum fund amount);
        - ``unclear``: the reader wrote an answer from the caller's own sources but it failed
          verification (the sources touch the question without settling it);
        - ``no_source``: nothing relevant was found.

        Only managers see the reason (:meth:`shown_to`); the partner's message is the same."""
        floor = self.settings.answer.min_relevance
        own_best = max((h.relevance or -1.0 for h in sources), default=-1.0)
        if not is_manager(caller):
            wider = self.kb.retriever.retrieve(question, _everything_visible(caller), k=3)
            access = AccessFilter.build(caller, self.settings.access)
            hidden_best = max(
                (h.relevance or -1.0 for h in wider if not access.allows(h.metadata)),
                default=-1.0,
            )
            if hidden_best >= floor and hidden_best > own_best:
                return "access"
        reply = (trace.reply or "").strip() if trace is not None else ""
        if reply and not reply.upper().startswith("NOT FOUND"):
            return "unclear"
        return "no_source"

    @staticmethod
    def shown_to(handoff: Handoff, caller: CallerContext | None) -> Handoff:
        """The hand-off as ``caller`` may see it: why the assistant did not answer is for
        channel managers (a partner learns nothing about documents they may not see)."""
        if caller is None or is_manager(caller):
            return handoff
        return handoff.model_copy(update={"reason": None})

    def _record(self, question: Question, caller: CallerContext, answer: Answer) -> Answer:
        conversation_id = question.conversation_id or self.records.start_conversation(caller)
        try:
            saved = self.records.save_answer(conversation_id, question.text, answer)
        except LookupError:
            conversation_id = self.records.start_conversation(caller)
            saved = self.records.save_answer(conversation_id, question.text, answer)
        return saved.model_copy(update={"conversation_id": conversation_id})

    # -- ownership ------------------------------------------------------------------------
    @staticmethod
    def owns(owner: CallerContext, caller: CallerContext) -> bool:
        """The ownership policy of every channel: a conversation (and its answers) belongs to
        the identity that started it (``principal``: token issuer + subject, or an API key's
        id; without one, role + partner id), and keeps the access it was started with: the
        same identity with another tier, region or role is refused."""
        if owner.principal or caller.principal:
            same = owner.principal == caller.principal
        else:
            same = owner.role == caller.role and owner.partner_id == caller.partner_id
        return same and owner.access_key() == caller.access_key()

    def conversation_history(self, conversation_id: str, caller: CallerContext) -> list[Turn]:
        """The recent turns of the caller's own conversation; someone else's conversation looks
        exactly like a missing one (``RecordNotFound``)."""
        try:
            owner = self.records.get_conversation_caller(conversation_id)
        except RecordNotFound:
            owner = None
        if owner is None or not self.owns(owner, caller):
            if owner is not None and owner.principal and owner.principal == caller.principal:
                raise PermissionError(
                    "this conversation was started with another tier, region or role than "
                    "your sign-in has now; start a new conversation"
                )
            raise RecordNotFound(f"no conversation {conversation_id}")
        return self.records.get_conversation_history(conversation_id, max_turns=6)

    def _owned_answer(self, answer_id: str, caller: CallerContext) -> Any:
        stored = self.records.get_answer(answer_id)
        if stored.conversation_id is not None and not self.owns(
            self.records.get_conversation_caller(stored.conversation_id), caller
        ):
            raise RecordNotFound(f"no answer {answer_id}")
        return stored

    # -- hand-offs and feedback -----------------------------------------------------------
    def request_handoff(
        self,
        answer_id: str | None = None,
        question: str | None = None,
        caller: CallerContext | None = None,
        conversation_id: str | None = None,
        comment: str = "",
        slack_channel: str | None = None,
        slack_thread_ts: str | None = None,
    ) -> Handoff:
        """The partner asked for a person: confirm the offered hand-off or create one. With a
        ``caller``, the answer must be one of theirs. A reply is due
        ``settings.handoff.response_hours`` from now (the partner is told so)."""
        handoff = self._confirm_or_create_handoff(
            answer_id, question, caller, conversation_id, comment, slack_channel, slack_thread_ts
        )
        return self.shown_to(handoff, caller)

    def _confirm_or_create_handoff(
        self,
        answer_id: str | None,
        question: str | None,
        caller: CallerContext | None,
        conversation_id: str | None,
        comment: str,
        slack_channel: str | None,
        slack_thread_ts: str | None,
    ) -> Handoff:
        if answer_id and caller is not None:
            self._owned_answer(answer_id, caller)
        caller = caller or CallerContext()
        due = (
            datetime.now(UTC) + timedelta(hours=self.settings.handoff.response_hours)
        ).isoformat()
        confirm: dict[str, Any] = {
            "by": actor(caller),
            "comment": comment,
            "due_at": due,
            "slack_channel": slack_channel,
            "slack_thread_ts": slack_thread_ts,
        }
        if answer_id:
            existing = self.records.find_handoff_for_answer(answer_id)
            if existing:
                return self.records.request_handoff(existing.id, **confirm)
            stored = self.records.get_answer(answer_id)
            offered_id = stored.answer.handoff_id
            if offered_id:  # the abstained answer already offered one: confirm it, don't add one
                return self.records.request_handoff(offered_id, **confirm)
            question = question or stored.question
            conversation_id = conversation_id or stored.conversation_id
        if not question:
            raise ValueError("a hand-off needs an answer_id or a question")
        return self.records.create_handoff(
            question,
            caller,
            status="requested",
            answer_id=answer_id,
            conversation_id=conversation_id,
            **confirm,
        )

    def list_handoffs(
        self, filters: HandoffFilters | None = None, caller: CallerContext | None = None
    ) -> HandoffPage:
        """Managers see every hand-off; a partner only their own (``caller`` None: operator)."""
        filters = filters or HandoffFilters()
        if caller is not None and not is_manager(caller):
            if not caller.partner_id:
                return HandoffPage(items=[], total=0, limit=filters.limit, offset=filters.offset)
            filters = filters.model_copy(update={"partner_id": caller.partner_id})
        page = self.records.search_handoffs(filters)
        page.items = [self.shown_to(h, caller) for h in page.items]
        return page

    def get_handoff(self, handoff_id: str, caller: CallerContext | None = None) -> Handoff:
        """Someone else's hand-off looks exactly like a missing one."""
        handoff = self.records.get_handoff(handoff_id)
        if (
            caller is not None
            and not is_manager(caller)
            and not owns_handoff(handoff.caller, caller)
        ):
            raise RecordNotFound(f"no hand-off {handoff_id!r}")
        return self.shown_to(handoff, caller)

    def assign_handoff(
        self, handoff_id: str, caller: CallerContext, assignee: str | None = None
    ) -> Handoff:
        require_manager(caller)
        return self.records.assign_handoff(handoff_id, by=actor(caller), assignee=assignee)

    def reply_handoff(self, handoff_id: str, caller: CallerContext, text: str) -> Handoff:
        require_manager(caller)
        return self.records.reply_handoff(handoff_id, by=actor(caller), text=text)

    def close_handoff(self, handoff_id: str, caller: CallerContext, note: str = "") -> Handoff:
        require_manager(caller)
        return self.records.close_handoff(handoff_id, by=actor(caller), note=note)

    def get_conversation(self, conversation_id: str, caller: CallerContext) -> Conversation:
        """The conversation for the caller who had it, or a manager."""
        found = self.records.get_conversation(conversation_id)
        if not is_manager(caller) and not self.owns(found.caller, caller):
            raise RecordNotFound(f"no conversation {conversation_id!r}")
        return found

    def add_feedback(
        self, answer_id: str, rating: str, comment: str = "", caller: CallerContext | None = None
    ) -> Any:
        """Rate an answer; with a ``caller``, only one of their own answers."""
        if caller is not None:
            self._owned_answer(answer_id, caller)
        return self.records.add_feedback(answer_id, rating, comment)  # type: ignore[arg-type]

    def comment_feedback(self, feedback_id: str, comment: str) -> None:
        """Add the partner's comment to a rating they gave (Slack's comment box after 👎)."""
        self.records.comment_feedback(feedback_id, comment)

    def list_feedback(self, filters: FeedbackFilters | None = None) -> FeedbackPage:
        return self.records.search_feedback(filters)

    def insights(self, filters: Any = None) -> Any:
        """Volume, answer rate, gap topics and sentiment (see :mod:`assistant.insights`)."""
        from assistant.insights import InsightsFilters, build_insights

        return build_insights(self, filters or InsightsFilters())

    def export_gap(self, topic: int, filters: Any = None, version: str = "gap") -> str:
        """Topic number ``topic`` (0 = the largest) of :meth:`insights` as evaluation questions
        in the golden-set JSONL format."""
        from assistant.insights import InsightsFilters, build_insights, export_eval_questions

        filters = filters or InsightsFilters()
        report = build_insights(self, filters)
        if not 0 <= topic < len(report.topics):
            raise RecordNotFound(f"no topic {topic}; the report has {len(report.topics)}")
        log = self.records.question_log(
            since=filters.since,
            until=filters.until,
            tier=filters.tier,
            region=filters.region,
            language=filters.language,
            limit=self.settings.insights.window,
        )
        return export_eval_questions(report.topics[topic], log, version)

    # -- training and drafts --------------------------------------------------------------
    def recommend_training(self, profile: PartnerProfile, limit: int = 5) -> list[Recommendation]:
        from assistant.training import recommend

        return recommend(self, profile, limit=limit)

    def draft(self, request: DraftRequest, caller: CallerContext | None = None) -> Draft:
        from assistant.drafting import draft

        return draft(self, request, caller or CallerContext(region=request.region))


def _as_sentence(quote: str) -> str:
    """A quoted passage as a sentence of the answer (closing punctuation added when missing)."""
    return quote if quote.endswith((".", "!", "?", "%", "。")) else quote + "."


def _named(caller: CallerContext) -> Named:
    """The caller's own tier and region, as the evidence ranking prefers them."""
    return Named(
        tiers=frozenset([caller.tier] if caller.tier else []),
        regions=frozenset([caller.region] if caller.region else []),
    )


def _token_events(text: str) -> Iterator[StreamEvent]:
    """A verified sentence goes out word by word, so a channel can render it as it arrives."""
    for i, word in enumerate(text.split(" ")):
        yield StreamEvent(event="token", data={"text": word if i == 0 else " " + word})


def _everything_visible(caller: CallerContext) -> CallerContext:
    """A caller who sees the whole corpus on ``caller``'s date, for the service's own checks of
    what the caller may not see; nothing found with it is shown, cited or recorded."""
    return CallerContext(role="channel_manager", as_of=caller.as_of, language=caller.language)


def is_manager(caller: CallerContext) -> bool:
    return caller.role in MANAGER_ROLES


def owns_handoff(owner: CallerContext, caller: CallerContext) -> bool:
    """A hand-off is a partner's own when it was asked with their (known) partner id and role;
    the hand-off list filters by the same rule."""
    return (
        caller.partner_id is not None
        and owner.role == caller.role
        and owner.partner_id == caller.partner_id
    )


def require_manager(caller: CallerContext) -> None:
    if not is_manager(caller):
        raise PermissionError("only channel managers and admins may change hand-offs")


def actor(caller: CallerContext) -> str:
    """How a caller is named in a hand-off's trail: their id (token subject, named API key),
    else their role."""
    return caller.partner_id or caller.role


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _progress(stage: str, language: str, sources: int | None = None) -> StreamEvent:
    data: dict[str, Any] = {"stage": stage, "message": message(stage, language, n=sources or 0)}
    if sources is not None:
        data["sources"] = sources
    return StreamEvent(event="progress", data=data)


def reading_result(event: StreamEvent) -> Answer | None:
    return event.data.get("answer") if event.event == "final" else None


# "… 120 days [1].[1]": a small reader sometimes repeats the marker after the full stop. (With a
# space between, "[1]. [1]", the repeat is split off as a sentence of markers alone.)
REPEATED_MARKER = re.compile(r"(\[(\d{1,2})\])([.!?。！？]?)\s*\[\2\]")


def _cite(sentence: str, n: int) -> str:
    body = sentence.rstrip()
    end = body[-1] if body and body[-1] in ".!?。" else ""
    return f"{body[:-1] if end else body} [{n}]{end}"


def _renumber(text: str, cited: list[int]) -> str:
    """Passage numbers become citation numbers (order of first citation)."""
    mapping = {old: new for new, old in enumerate(cited, start=1)}
    return MARKER.sub(lambda m: f" [{mapping.get(int(m[1]), int(m[1]))}]", text)


def _rule_suffix(text: str, citations: list[Citation], language: str) -> str:
    """Answers from program rules name the rule's version and effective date."""
    rules = [
        c for c in citations if c.doc_type == "program_rule" and (c.effective_date or c.version)
    ]
    if not rules or any(c.effective_date and c.effective_date in text for c in rules):
        return ""
    return f" ({message('source', language)}: {rule_label(rules[0], language)}.)"


def build_service(
    settings: Settings,
    chat_model: ChatModel | None = None,
    kb: KnowledgeBase | None = None,
    records: RecordStore | None = None,
) -> AssistantService:
    """Open the knowledge base and records; the chat model loads on first use."""
    return AssistantService(settings, kb or open_knowledge_base(settings), chat_model, records)
