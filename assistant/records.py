"""`RecordStore`: what the assistant must remember between requests and restarts.

Conversations (so a follow-up's history comes from the server, never from the client), the
answers given in them, partners' feedback on those answers and the hand-offs to a human. Stored
through SQLAlchemy 2.x in the embedded sqlite file (``settings.db.url``) or PostgreSQL (the same
setting, ``postgresql+psycopg://…``). Instants are ``DateTime(timezone=True)`` columns (aware UTC
datetimes in and out; the public models carry them as ISO 8601 strings), JSON documents are
JSON/JSONB. The schema is Alembic's (:mod:`assistant.schema`): the store migrates the database
when it opens, or refuses an out-of-date one when ``settings.db.auto_migrate`` is off.

Example::

    records = RecordStore.from_settings(settings)
    cid = records.start_conversation(caller)
    records.save_answer(cid, "How do I register a deal?", answer)
    records.get_conversation_history(cid)   # [Turn(user...), Turn(assistant...)]
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import (
    ForeignKey,
    Integer,
    LargeBinary,
    Select,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from assistant.db_types import JSON_DOCUMENT, UtcDateTime
from assistant.models import (
    Answer,
    CallerContext,
    Citation,
    Handoff,
    HandoffEvent,
    HandoffReason,
    HandoffStatus,
    Turn,
)
from assistant.schema import engine_for, prepare_schema

Rating = Literal["up", "down"]

# The hand-off workflow: which status may follow which. A manager may take over (assign) a
# hand-off the partner has not confirmed yet, re-assign it, and reply more than once; a closed
# hand-off is final.
HANDOFF_TRANSITIONS: dict[str, frozenset[str]] = {
    "offered": frozenset({"requested", "assigned", "closed"}),
    "requested": frozenset({"assigned", "closed"}),
    "assigned": frozenset({"assigned", "answered", "closed"}),
    "answered": frozenset({"answered", "closed"}),
    "closed": frozenset(),
}


class RecordNotFound(LookupError):
    """The id names no stored conversation, answer or hand-off."""


class InvalidTransition(ValueError):
    """A hand-off cannot move to the asked status from the one it is in (the API answers 409)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(instant: datetime) -> str:
    """An instant as the public models carry it: ISO 8601 in UTC (``…+00:00``)."""
    return instant.isoformat()


def _instant(text: str | datetime | None, name: str) -> datetime | None:
    """An instant a caller passed as ISO 8601 text (or a datetime); it must carry its offset."""
    if text is None or text == "":
        return None
    try:
        value = text if isinstance(text, datetime) else datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{name} must be an ISO 8601 date-time, not {text!r}") from exc
    if value.tzinfo is None:
        raise ValueError(f"{name} must carry a UTC offset (e.g. +00:00), not {text!r}")
    return value.astimezone(UTC)


def _document(model: BaseModel) -> Any:
    """A model as the JSON document stored for it (NaN and infinity become null, as in JSON)."""
    return json.loads(model.model_dump_json())


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _day_end(day: date) -> datetime:
    """The first instant after ``day``, so that ``until`` is inclusive."""
    return _day_start(day + timedelta(days=1))


class Page(BaseModel):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


class HandoffFilters(Page):
    """What a manager narrows the hand-off queue by; every field is optional."""

    status: HandoffStatus | None = None
    tier: str | None = None
    region: str | None = None
    partner_id: str | None = None
    assignee: str | None = None
    since: date | None = None
    until: date | None = None


class HandoffPage(BaseModel):
    items: list[Handoff]
    total: int
    limit: int
    offset: int


class FeedbackFilters(Page):
    rating: Rating | None = None
    tier: str | None = None
    region: str | None = None
    partner_id: str | None = None
    since: date | None = None
    until: date | None = None


def _new_id() -> str:
    return uuid.uuid4().hex


class _Base(DeclarativeBase):
    pass


class _Conversation(_Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    caller: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)  # CallerContext
    created: Mapped[datetime] = mapped_column(UtcDateTime())
    # The caller's fields again as columns, so feedback and insights filter in SQL.
    role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    partner_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    tier: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    region: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)


class _Message(_Base):
    """One question and the answer given to it (the answer id is the key)."""

    __tablename__ = "messages"

    answer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id"), index=True, nullable=True
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)  # Answer
    created: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    seq: Mapped[int] = mapped_column(default=0)
    path: Mapped[str | None] = mapped_column(String(16), nullable=True)  # Answer.path


class _Feedback(_Base):
    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("messages.answer_id"), index=True)
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(UtcDateTime())


class _Handoff(_Base):
    __tablename__ = "handoffs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    caller: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)  # CallerContext
    evidence: Mapped[list[Any]] = mapped_column(JSON_DOCUMENT, default=list)  # list[Citation]
    status: Mapped[str] = mapped_column(String(16), index=True)
    answer_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    reason: Mapped[str] = mapped_column(String(16), default="no_source")
    comment: Mapped[str] = mapped_column(Text, default="")
    partner_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    tier: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    region: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    reply: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    slack_channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    slack_thread_ts: Mapped[str | None] = mapped_column(String(64), nullable=True)


class _HandoffEvent(_Base):
    """Each status change of a hand-off, with who made it and when (the audit trail)."""

    __tablename__ = "handoff_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(100), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


class _QuestionVector(_Base):
    """A question's embedding, kept so insights embed each distinct question once per model."""

    __tablename__ = "question_vectors"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of model + text
    model: Mapped[str] = mapped_column(String(200))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    created: Mapped[datetime] = mapped_column(UtcDateTime())


class StoredAnswer(BaseModel):
    """An answer as it was stored, with the question and conversation it belongs to."""

    answer_id: str
    conversation_id: str | None
    question: str
    answer: Answer
    created: str


class Feedback(BaseModel):
    id: str
    answer_id: str
    rating: Rating
    comment: str = ""
    created: str


class FeedbackItem(Feedback):
    """Feedback as a manager reads it: with the question, the answer and who asked."""

    question: str
    answer: Answer
    conversation_id: str | None = None
    caller: CallerContext | None = None


class FeedbackPage(BaseModel):
    items: list[FeedbackItem]
    total: int
    limit: int
    offset: int


class ConversationMessage(BaseModel):
    """One message of a conversation: the partner's question, the assistant's answer (with the
    whole answer JSON) or a channel manager's reply to a hand-off."""

    role: Literal["user", "assistant", "manager"]
    content: str
    answer: Answer | None = None
    handoff_id: str | None = None
    by: str | None = None
    created_at: str


class Conversation(BaseModel):
    id: str
    caller: CallerContext
    created_at: str
    messages: list[ConversationMessage]


class LoggedQuestion(BaseModel):
    """A question and what became of it, as insights read the log."""

    answer_id: str
    conversation_id: str | None
    question: str
    path: str
    created: str
    caller: CallerContext
    rating: Rating | None = None
    handoff_requested: bool = False


class RecordStore:
    """Conversations, answers, feedback and hand-offs, one short transaction per method."""

    def __init__(self, url: str, auto_migrate: bool = True) -> None:
        """Open the database at ``url`` and bring its schema to this code's revision
        (``auto_migrate``), or raise :class:`assistant.schema.SchemaOutOfDate`."""
        self.engine = engine_for(url)
        prepare_schema(self.engine, auto_migrate)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Any) -> RecordStore:
        return cls(settings.db.url, auto_migrate=settings.db.auto_migrate)

    def dispose(self) -> None:
        """Close every pooled connection (on shutdown; the data stays in the database)."""
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # conversations -------------------------------------------------------------------------

    def start_conversation(self, caller: CallerContext) -> str:
        conversation_id = _new_id()
        with self._session() as session:
            session.add(
                _Conversation(
                    id=conversation_id,
                    caller=_document(caller),
                    created=_now(),
                    role=caller.role,
                    partner_id=caller.partner_id,
                    tier=caller.tier,
                    region=caller.region,
                    language=caller.language,
                )
            )
        return conversation_id

    def get_conversation(self, conversation_id: str) -> Conversation:
        """The whole conversation, oldest first: each question, the answer given to it, and the
        replies channel managers wrote to hand-offs raised in it."""
        with self._session() as session:
            head = session.get(_Conversation, conversation_id)
            if head is None:
                raise RecordNotFound(f"no conversation {conversation_id!r}")
            rows = session.scalars(
                select(_Message)
                .where(_Message.conversation_id == conversation_id)
                .order_by(_Message.seq, _Message.created)
            ).all()
            replies = session.execute(
                select(_HandoffEvent, _Handoff.id)
                .join(_Handoff, _Handoff.id == _HandoffEvent.handoff_id)
                .where(_Handoff.conversation_id == conversation_id)
                .where(_HandoffEvent.status == "answered")
            ).all()
            messages: list[ConversationMessage] = []
            for row in rows:
                answer = Answer.model_validate(row.answer)
                created = _iso(row.created)
                messages.append(
                    ConversationMessage(role="user", content=row.question, created_at=created)
                )
                messages.append(
                    ConversationMessage(
                        role="assistant",
                        content=answer.answer,
                        answer=answer,
                        handoff_id=answer.handoff_id,
                        created_at=created,
                    )
                )
            for event, handoff_id in replies:
                messages.append(
                    ConversationMessage(
                        role="manager",
                        content=event.note,
                        handoff_id=handoff_id,
                        by=event.actor,
                        created_at=_iso(event.at),
                    )
                )
            # Stable sort: a question and its answer share a timestamp and keep their order.
            messages.sort(key=lambda m: datetime.fromisoformat(m.created_at))
            return Conversation(
                id=head.id,
                caller=CallerContext.model_validate(head.caller),
                created_at=_iso(head.created),
                messages=messages,
            )

    def get_conversation_caller(self, conversation_id: str) -> CallerContext:
        """Who started the conversation, so a channel can refuse to continue someone else's."""
        with self._session() as session:
            row = session.get(_Conversation, conversation_id)
            if row is None:
                raise RecordNotFound(f"no conversation {conversation_id!r}")
            return CallerContext.model_validate(row.caller)

    def get_conversation_history(
        self, conversation_id: str, max_turns: int | None = None
    ) -> list[Turn]:
        """The conversation so far as alternating user/assistant turns, oldest first;
        ``max_turns`` keeps only the latest turns (a prompt has room for a few)."""
        with self._session() as session:
            if session.get(_Conversation, conversation_id) is None:
                raise RecordNotFound(f"no conversation {conversation_id!r}")
            rows = session.scalars(
                select(_Message)
                .where(_Message.conversation_id == conversation_id)
                .order_by(_Message.seq, _Message.created)
            ).all()
        turns: list[Turn] = []
        for row in rows:
            turns.append(Turn(role="user", content=row.question))
            turns.append(Turn(role="assistant", content=row.answer["answer"]))
        if max_turns is not None:
            turns = turns[-max_turns:] if max_turns > 0 else []
        return turns

    def list_conversation_answers(self, conversation_id: str) -> list[StoredAnswer]:
        """Every exchange of a conversation with its whole answer, oldest first (a channel
        shows them again after a reload, citations included)."""
        with self._session() as session:
            if session.get(_Conversation, conversation_id) is None:
                raise RecordNotFound(f"no conversation {conversation_id!r}")
            rows = session.scalars(
                select(_Message)
                .where(_Message.conversation_id == conversation_id)
                .order_by(_Message.seq, _Message.created)
            ).all()
            return [
                StoredAnswer(
                    answer_id=row.answer_id,
                    conversation_id=row.conversation_id,
                    question=row.question,
                    answer=Answer.model_validate(row.answer),
                    created=_iso(row.created),
                )
                for row in rows
            ]

    # answers -------------------------------------------------------------------------------

    def save_answer(self, conversation_id: str | None, question: str, answer: Answer) -> Answer:
        """Store an answer and return it with its ``answer_id`` set. Saving the same answer id
        again replaces it, so the service and a channel may both save without duplicates."""
        answer_id = answer.answer_id or _new_id()
        stored = answer.model_copy(update={"answer_id": answer_id})
        with self._session() as session:
            if conversation_id is not None and session.get(_Conversation, conversation_id) is None:
                raise RecordNotFound(f"no conversation {conversation_id!r}")
            row = session.get(_Message, answer_id)
            if row is None:
                seq = 0
                if conversation_id is not None:
                    seq = len(
                        session.scalars(
                            select(_Message.answer_id).where(
                                _Message.conversation_id == conversation_id
                            )
                        ).all()
                    )
                session.add(
                    _Message(
                        answer_id=answer_id,
                        conversation_id=conversation_id,
                        question=question,
                        answer=_document(stored),
                        created=_now(),
                        seq=seq,
                        path=stored.path,
                    )
                )
            else:
                row.question = question
                row.answer = _document(stored)
                row.path = stored.path
                row.conversation_id = conversation_id or row.conversation_id
            if stored.handoff_id:  # the hand-off an abstention offered belongs to this answer
                handoff = session.get(_Handoff, stored.handoff_id)
                if handoff is not None:
                    handoff.answer_id = handoff.answer_id or answer_id
                    handoff.conversation_id = handoff.conversation_id or conversation_id
        return stored

    def get_answer(self, answer_id: str) -> StoredAnswer:
        with self._session() as session:
            row = session.get(_Message, answer_id)
            if row is None:
                raise RecordNotFound(f"no answer {answer_id!r}")
            return StoredAnswer(
                answer_id=row.answer_id,
                conversation_id=row.conversation_id,
                question=row.question,
                answer=Answer.model_validate(row.answer),
                created=_iso(row.created),
            )

    # feedback ------------------------------------------------------------------------------

    def add_feedback(self, answer_id: str, rating: Rating, comment: str = "") -> Feedback:
        if rating not in ("up", "down"):
            raise ValueError("rating must be 'up' or 'down'")
        now = _now()
        feedback = Feedback(
            id=_new_id(), answer_id=answer_id, rating=rating, comment=comment, created=_iso(now)
        )
        with self._session() as session:
            if session.get(_Message, answer_id) is None:
                raise RecordNotFound(f"no answer {answer_id!r}")
            session.add(_Feedback(**{**feedback.model_dump(), "created": now}))
        return feedback

    def comment_feedback(self, feedback_id: str, comment: str) -> None:
        """Attach a comment to a rating already given (Slack asks for it after 👎), so one
        rating stays one row."""
        with self._session() as session:
            row = session.get(_Feedback, feedback_id)
            if row is None:
                raise RecordNotFound(f"no feedback {feedback_id!r}")
            row.comment = comment

    def list_feedback(self, answer_id: str | None = None) -> list[Feedback]:
        query = select(_Feedback).order_by(_Feedback.created)
        if answer_id is not None:
            query = query.where(_Feedback.answer_id == answer_id)
        with self._session() as session:
            rows = session.scalars(query).all()
            return [
                Feedback(
                    id=r.id,
                    answer_id=r.answer_id,
                    rating=r.rating,  # type: ignore[arg-type]
                    comment=r.comment,
                    created=_iso(r.created),
                )
                for r in rows
            ]

    def search_feedback(self, filters: FeedbackFilters | None = None) -> FeedbackPage:
        """Feedback for managers, newest first, with the question, answer and asker."""
        filters = filters or FeedbackFilters()
        query = (
            select(_Feedback, _Message, _Conversation)
            .join(_Message, _Message.answer_id == _Feedback.answer_id)
            .outerjoin(_Conversation, _Conversation.id == _Message.conversation_id)
        )
        if filters.rating is not None:
            query = query.where(_Feedback.rating == filters.rating)
        if filters.tier is not None:
            query = query.where(_Conversation.tier == filters.tier.lower())
        if filters.region is not None:
            query = query.where(_Conversation.region == filters.region.lower())
        if filters.partner_id is not None:
            query = query.where(_Conversation.partner_id == filters.partner_id)
        if filters.since is not None:
            query = query.where(_Feedback.created >= _day_start(filters.since))
        if filters.until is not None:
            query = query.where(_Feedback.created < _day_end(filters.until))
        with self._session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.execute(
                query.order_by(_Feedback.created.desc(), _Feedback.id)
                .limit(filters.limit)
                .offset(filters.offset)
            ).all()
            items = [
                FeedbackItem(
                    id=fb.id,
                    answer_id=fb.answer_id,
                    rating=fb.rating,  # type: ignore[arg-type]
                    comment=fb.comment,
                    created=_iso(fb.created),
                    question=msg.question,
                    answer=Answer.model_validate(msg.answer),
                    conversation_id=msg.conversation_id,
                    caller=CallerContext.model_validate(conv.caller) if conv else None,
                )
                for fb, msg, conv in rows
            ]
        return FeedbackPage(items=items, total=total, limit=filters.limit, offset=filters.offset)

    # the question log (insights) -----------------------------------------------------------

    def question_log(
        self,
        since: date | None = None,
        until: date | None = None,
        tier: str | None = None,
        region: str | None = None,
        language: str | None = None,
        limit: int = 10_000,
    ) -> list[LoggedQuestion]:
        """The latest ``limit`` questions in the window, newest first, with their answer path,
        the caller, the latest rating and whether a person was asked for: what insights read.
        Rows come from the database, so they are built without re-validation (10,000 of them
        are read on every report)."""
        # Columns, not whole rows: the answer documents stay in the database (only the path of
        # an answer saved before the path column existed is read out of its document).
        path = func.coalesce(_Message.path, _Message.answer["path"].as_string(), "abstained")
        query = select(
            _Message.answer_id,
            _Message.conversation_id,
            _Message.question,
            _Message.created,
            path,
            _Conversation.id,
            _Conversation.caller,
        ).outerjoin(_Conversation, _Conversation.id == _Message.conversation_id)
        if since is not None:
            query = query.where(_Message.created >= _day_start(since))
        if until is not None:
            query = query.where(_Message.created < _day_end(until))
        if tier is not None:
            query = query.where(_Conversation.tier == tier.lower())
        if region is not None:
            query = query.where(_Conversation.region == region.lower())
        if language is not None:
            query = query.where(_Conversation.language == language)
        with self._session() as session:
            rows = session.execute(query.order_by(_Message.created.desc()).limit(limit)).all()
            ids = [row[0] for row in rows]
            ratings: dict[str, Rating] = {}
            requested: set[str] = set()
            for chunk in _chunks(ids, 500):
                for answer_id, rating in session.execute(
                    select(_Feedback.answer_id, _Feedback.rating)
                    .where(_Feedback.answer_id.in_(chunk))
                    .order_by(_Feedback.created)
                ).all():
                    ratings[answer_id] = cast(Rating, rating)
                requested.update(
                    answer_id
                    for answer_id in session.scalars(
                        select(_Handoff.answer_id)
                        .where(_Handoff.answer_id.in_(chunk))
                        .where(_Handoff.status != "offered")
                    ).all()
                    if answer_id is not None
                )
        log: list[LoggedQuestion] = []
        callers: dict[str | None, CallerContext] = {None: CallerContext()}
        for answer_id, conversation_id, question, created, answer_path, caller_id, caller in rows:
            if caller_id is not None and caller_id not in callers:
                callers[caller_id] = CallerContext.model_validate(caller)
            log.append(
                LoggedQuestion.model_construct(
                    answer_id=answer_id,
                    conversation_id=conversation_id,
                    question=question,
                    path=answer_path,
                    created=_iso(created),
                    caller=callers[caller_id],
                    rating=ratings.get(answer_id),
                    handoff_requested=answer_id in requested,
                )
            )
        return log

    # question embeddings (insights) --------------------------------------------------------

    @staticmethod
    def _vector_key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()

    def cached_vectors(self, model: str, texts: list[str]) -> dict[str, np.ndarray]:
        """The stored embeddings of those ``texts`` that have one for ``model``."""
        keys = {self._vector_key(model, t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        with self._session() as session:
            for chunk in _chunks(list(keys), 500):
                for row in session.scalars(
                    select(_QuestionVector).where(_QuestionVector.key.in_(chunk))
                ).all():
                    found[keys[row.key]] = np.frombuffer(row.vector, dtype="<f4")
        return found

    def store_vectors(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        now = _now()
        with self._session() as session:
            for text, vector in vectors.items():
                session.merge(
                    _QuestionVector(
                        key=self._vector_key(model, text),
                        model=model,
                        vector=np.asarray(vector, dtype="<f4").tobytes(),
                        created=now,
                    )
                )

    # hand-offs -----------------------------------------------------------------------------

    @staticmethod
    def _handoff(row: _Handoff, events: list[_HandoffEvent] | None = None) -> Handoff:
        return Handoff(
            id=row.id,
            question=row.question,
            caller=CallerContext.model_validate(row.caller),
            evidence=[Citation.model_validate(c) for c in row.evidence],
            status=row.status,  # type: ignore[arg-type]
            created_at=_iso(row.created),
            answer_id=row.answer_id,
            conversation_id=row.conversation_id,
            reason=row.reason or "no_source",  # type: ignore[arg-type]
            comment=row.comment or "",
            assignee=row.assignee,
            reply=row.reply,
            due_at=_iso(row.due_at) if row.due_at else None,
            slack_channel=row.slack_channel,
            slack_thread_ts=row.slack_thread_ts,
            history=[
                HandoffEvent(status=e.status, by=e.actor, at=_iso(e.at), note=e.note)  # type: ignore[arg-type]
                for e in events or []
            ],
        )

    @staticmethod
    def _events(session: Session, ids: list[str]) -> dict[str, list[_HandoffEvent]]:
        found: dict[str, list[_HandoffEvent]] = {i: [] for i in ids}
        for chunk in _chunks(ids, 500):
            for event in session.scalars(
                select(_HandoffEvent)
                .where(_HandoffEvent.handoff_id.in_(chunk))
                .order_by(_HandoffEvent.id)
            ).all():
                found[event.handoff_id].append(event)
        return found

    def create_handoff(
        self,
        question: str,
        caller: CallerContext,
        evidence: list[Citation] | None = None,
        status: HandoffStatus = "offered",
        answer_id: str | None = None,
        conversation_id: str | None = None,
        reason: HandoffReason = "no_source",
        comment: str = "",
        by: str | None = None,
        due_at: str | None = None,
        slack_channel: str | None = None,
        slack_thread_ts: str | None = None,
    ) -> Handoff:
        if status not in ("offered", "requested"):
            raise InvalidTransition(f"a new hand-off is offered or requested, not {status!r}")
        now = _now()
        row = _Handoff(
            id=_new_id(),
            question=question,
            caller=_document(caller),
            evidence=[_document(c) for c in evidence or []],
            status=status,
            answer_id=answer_id,
            conversation_id=conversation_id,
            created=now,
            reason=reason,
            comment=comment,
            partner_id=caller.partner_id,
            tier=caller.tier,
            region=caller.region,
            language=caller.language,
            due_at=_instant(due_at, "due_at"),
            slack_channel=slack_channel,
            slack_thread_ts=slack_thread_ts,
        )
        events = [_HandoffEvent(handoff_id=row.id, status="offered", actor=None, at=now)]
        if status == "requested":
            events.append(_HandoffEvent(handoff_id=row.id, status="requested", actor=by, at=now))
        with self._session() as session:
            session.add(row)
            session.flush()
            session.add_all(events)
        return self._handoff(row, events)

    def _transition(
        self,
        handoff_id: str,
        steps: list[tuple[HandoffStatus, str]],
        by: str | None,
        **updates: Any,
    ) -> Handoff:
        """Move a hand-off through ``steps`` ((status, note) pairs) in one transaction, or not at
        all when a step is not allowed; ``updates`` are column values to set with it."""
        with self._session() as session:
            row = session.get(_Handoff, handoff_id)
            if row is None:
                raise RecordNotFound(f"no hand-off {handoff_id!r}")
            now = _now()
            for status, note in steps:
                allowed = HANDOFF_TRANSITIONS[row.status]
                if status not in allowed:
                    options = ", ".join(sorted(allowed)) or "nothing (it is final)"
                    raise InvalidTransition(
                        f"hand-off {handoff_id} is {row.status}; it cannot become {status} "
                        f"(from {row.status} it can become: {options})"
                    )
                row.status = status
                session.add(
                    _HandoffEvent(handoff_id=row.id, status=status, actor=by, at=now, note=note)
                )
            for name, value in updates.items():
                if value is not None:
                    setattr(row, name, value)
            session.flush()
            return self._handoff(row, self._events(session, [row.id])[row.id])

    def request_handoff(
        self,
        handoff_id: str,
        by: str | None = None,
        comment: str | None = None,
        due_at: str | None = None,
        slack_channel: str | None = None,
        slack_thread_ts: str | None = None,
    ) -> Handoff:
        """The partner accepted an offered hand-off: a human should now pick it up. Asking
        again for one already requested (or further along) changes nothing but the comment."""
        current = self.get_handoff(handoff_id)
        extra = {
            "comment": comment or None,
            "slack_channel": slack_channel,
            "slack_thread_ts": slack_thread_ts,
        }
        if current.status != "offered":
            return self._transition(handoff_id, [], by, **extra)
        return self._transition(
            handoff_id, [("requested", "")], by, due_at=_instant(due_at, "due_at"), **extra
        )

    def assign_handoff(self, handoff_id: str, by: str, assignee: str | None = None) -> Handoff:
        """``by`` takes the hand-off, or gives it to ``assignee``."""
        who = (assignee or by).strip()
        if not who:
            raise ValueError("an assignee must be named")
        return self._transition(handoff_id, [("assigned", who)], by, assignee=who)

    def reply_handoff(self, handoff_id: str, by: str, text: str) -> Handoff:
        """Store the manager's reply; a hand-off nobody has taken yet is assigned to the one
        replying first, so the trail shows who took it."""
        text = text.strip()
        if not text:
            raise ValueError("a reply must not be blank")
        current = self.get_handoff(handoff_id)
        steps: list[tuple[HandoffStatus, str]] = [("answered", text)]
        assignee = current.assignee
        if current.status in ("offered", "requested"):
            steps.insert(0, ("assigned", by))
            assignee = by
        return self._transition(handoff_id, steps, by, reply=text, assignee=assignee)

    def close_handoff(self, handoff_id: str, by: str | None = None, note: str = "") -> Handoff:
        return self._transition(handoff_id, [("closed", note)], by)

    def get_handoff(self, handoff_id: str) -> Handoff:
        with self._session() as session:
            row = session.get(_Handoff, handoff_id)
            if row is None:
                raise RecordNotFound(f"no hand-off {handoff_id!r}")
            return self._handoff(row, self._events(session, [row.id])[row.id])

    def find_handoff_for_answer(self, answer_id: str) -> Handoff | None:
        with self._session() as session:
            row = session.scalars(
                select(_Handoff).where(_Handoff.answer_id == answer_id).order_by(_Handoff.created)
            ).first()
            if row is None:
                return None
            return self._handoff(row, self._events(session, [row.id])[row.id])

    @staticmethod
    def _handoff_query(filters: HandoffFilters) -> Select[Any]:
        query = select(_Handoff)
        if filters.status is not None:
            query = query.where(_Handoff.status == filters.status)
        if filters.tier is not None:
            query = query.where(_Handoff.tier == filters.tier.lower())
        if filters.region is not None:
            query = query.where(_Handoff.region == filters.region.lower())
        if filters.partner_id is not None:
            query = query.where(_Handoff.partner_id == filters.partner_id)
        if filters.assignee is not None:
            query = query.where(_Handoff.assignee == filters.assignee)
        if filters.since is not None:
            query = query.where(_Handoff.created >= _day_start(filters.since))
        if filters.until is not None:
            query = query.where(_Handoff.created < _day_end(filters.until))
        return query

    def search_handoffs(self, filters: HandoffFilters | None = None) -> HandoffPage:
        """One page of hand-offs, newest first, and how many match in all."""
        filters = filters or HandoffFilters()
        query = self._handoff_query(filters)
        with self._session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(_Handoff.created.desc(), _Handoff.id)
                .limit(filters.limit)
                .offset(filters.offset)
            ).all()
            events = self._events(session, [r.id for r in rows])
            items = [self._handoff(r, events[r.id]) for r in rows]
        return HandoffPage(items=items, total=total, limit=filters.limit, offset=filters.offset)

    def list_handoffs(self, status: HandoffStatus | None = None) -> list[Handoff]:
        """Every hand-off, newest first, optionally only those in one status."""
        query = self._handoff_query(HandoffFilters(status=status))
        with self._session() as session:
            rows = session.scalars(query.order_by(_Handoff.created.desc(), _Handoff.id)).all()
            events = self._events(session, [r.id for r in rows])
            return [self._handoff(r, events[r.id]) for r in rows]


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
