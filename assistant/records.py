"""`RecordStore`: what the assistant must remember between requests and restarts.

Conversations (so a follow-up's history comes from the server, never from the client), the
answers given in them, partners' feedback on those answers and the hand-offs to a human. Stored
through SQLAlchemy 2.x, so the default sqlite file (``settings.db.url``) can be swapped for any
database SQLAlchemy speaks by changing one setting. Tables are created when the store opens.

Example::

    records = RecordStore.from_settings(settings)
    cid = records.start_conversation(caller)
    records.save_answer(cid, "How do I register a deal?", answer)
    records.get_conversation_history(cid)   # [Turn(user...), Turn(assistant...)]
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import ForeignKey, String, Text, create_engine, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from assistant.models import Answer, CallerContext, Citation, Handoff, Turn

Rating = Literal["up", "down"]
HandoffStatus = Literal["offered", "requested", "closed"]


class RecordNotFound(LookupError):
    """The id names no stored conversation, answer or hand-off."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _new_id() -> str:
    return uuid.uuid4().hex


class _Base(DeclarativeBase):
    pass


class _Conversation(_Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    caller: Mapped[str] = mapped_column(Text)  # CallerContext JSON
    created: Mapped[str] = mapped_column(String(40))


class _Message(_Base):
    """One question and the answer given to it (the answer id is the key)."""

    __tablename__ = "messages"

    answer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id"), index=True, nullable=True
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)  # Answer JSON
    created: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(default=0)


class _Feedback(_Base):
    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("messages.answer_id"), index=True)
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[str] = mapped_column(String(40))


class _Handoff(_Base):
    __tablename__ = "handoffs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    caller: Mapped[str] = mapped_column(Text)  # CallerContext JSON
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # list[Citation] JSON
    status: Mapped[str] = mapped_column(String(16), index=True)
    answer_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created: Mapped[str] = mapped_column(String(40))


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


def _engine_for(url: str) -> Engine:
    """sqlite needs its folder to exist and must be shared across the API's worker threads;
    an in-memory sqlite database must also keep one connection, or each one sees no tables."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if not database or database == ":memory:":
        kwargs["poolclass"] = StaticPool
    return create_engine(url, **kwargs)


class RecordStore:
    """Conversations, answers, feedback and hand-offs, one short transaction per method."""

    def __init__(self, url: str) -> None:
        self.engine = _engine_for(url)
        _Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Any) -> RecordStore:
        return cls(settings.db.url)

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
                _Conversation(id=conversation_id, caller=caller.model_dump_json(), created=_now())
            )
        return conversation_id

    def get_conversation_caller(self, conversation_id: str) -> CallerContext:
        """Who started the conversation, so a channel can refuse to continue someone else's."""
        with self._session() as session:
            row = session.get(_Conversation, conversation_id)
            if row is None:
                raise RecordNotFound(f"no conversation {conversation_id!r}")
            return CallerContext.model_validate_json(row.caller)

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
            answer = Answer.model_validate_json(row.answer)
            turns.append(Turn(role="user", content=row.question))
            turns.append(Turn(role="assistant", content=answer.answer))
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
                    answer=Answer.model_validate_json(row.answer),
                    created=row.created,
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
                        answer=stored.model_dump_json(),
                        created=_now(),
                        seq=seq,
                    )
                )
            else:
                row.question = question
                row.answer = stored.model_dump_json()
                row.conversation_id = conversation_id or row.conversation_id
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
                answer=Answer.model_validate_json(row.answer),
                created=row.created,
            )

    # feedback ------------------------------------------------------------------------------

    def add_feedback(self, answer_id: str, rating: Rating, comment: str = "") -> Feedback:
        if rating not in ("up", "down"):
            raise ValueError("rating must be 'up' or 'down'")
        feedback = Feedback(
            id=_new_id(), answer_id=answer_id, rating=rating, comment=comment, created=_now()
        )
        with self._session() as session:
            if session.get(_Message, answer_id) is None:
                raise RecordNotFound(f"no answer {answer_id!r}")
            session.add(_Feedback(**feedback.model_dump()))
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
                    created=r.created,
                )
                for r in rows
            ]

    # hand-offs -----------------------------------------------------------------------------

    @staticmethod
    def _handoff(row: _Handoff) -> Handoff:
        return Handoff(
            id=row.id,
            question=row.question,
            caller=CallerContext.model_validate_json(row.caller),
            evidence=[Citation.model_validate(c) for c in json.loads(row.evidence)],
            status=row.status,  # type: ignore[arg-type]
            created_at=row.created,
            answer_id=row.answer_id,
            conversation_id=row.conversation_id,
        )

    def create_handoff(
        self,
        question: str,
        caller: CallerContext,
        evidence: list[Citation] | None = None,
        status: HandoffStatus = "offered",
        answer_id: str | None = None,
        conversation_id: str | None = None,
    ) -> Handoff:
        row = _Handoff(
            id=_new_id(),
            question=question,
            caller=caller.model_dump_json(),
            evidence=json.dumps([c.model_dump(mode="json") for c in evidence or []]),
            status=status,
            answer_id=answer_id,
            conversation_id=conversation_id,
            created=_now(),
        )
        with self._session() as session:
            session.add(row)
        return self._handoff(row)

    def _set_status(self, handoff_id: str, status: HandoffStatus) -> Handoff:
        with self._session() as session:
            row = session.get(_Handoff, handoff_id)
            if row is None:
                raise RecordNotFound(f"no hand-off {handoff_id!r}")
            row.status = status
            return self._handoff(row)

    def request_handoff(self, handoff_id: str) -> Handoff:
        """The partner accepted an offered hand-off: a human should now pick it up."""
        return self._set_status(handoff_id, "requested")

    def close_handoff(self, handoff_id: str) -> Handoff:
        return self._set_status(handoff_id, "closed")

    def get_handoff(self, handoff_id: str) -> Handoff:
        with self._session() as session:
            row = session.get(_Handoff, handoff_id)
            if row is None:
                raise RecordNotFound(f"no hand-off {handoff_id!r}")
            return self._handoff(row)

    def find_handoff_for_answer(self, answer_id: str) -> Handoff | None:
        with self._session() as session:
            row = session.scalars(
                select(_Handoff).where(_Handoff.answer_id == answer_id).order_by(_Handoff.created)
            ).first()
            return self._handoff(row) if row is not None else None

    def list_handoffs(self, status: HandoffStatus | None = None) -> list[Handoff]:
        """Newest first, optionally only those in one status."""
        query = select(_Handoff).order_by(_Handoff.created.desc())
        if status is not None:
            query = query.where(_Handoff.status == status)
        with self._session() as session:
            return [self._handoff(r) for r in session.scalars(query).all()]
