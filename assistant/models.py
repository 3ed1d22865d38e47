"""Domain models shared by every package and channel.

The JSON forms of :class:`SearchHit` and :class:`Answer` are a contract: the CLI, the API, the
widget, the Slack bot and the evals all read them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from retrieval.models import CallerContext, Role, SearchHit

__all__ = ["CallerContext", "Role", "SearchHit"]  # retrieval's types, re-exported

# "rule_check": a deal in the question was pre-checked against a rule block (assistant/rules).
AnswerPath = Literal["generated", "extractive", "abstained", "rule_check"]
DraftKind = Literal["email", "social_post", "solution_brief"]


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class Question(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    caller: CallerContext = CallerContext()
    history: list[Turn] = []
    conversation_id: str | None = None


class Citation(BaseModel):
    n: int
    source: str
    title: str = ""
    section: str = ""
    page: int | None = None
    url: str | None = None
    doc_type: str | None = None
    effective_date: str | None = None
    version: str | None = None
    # The passages of this source the answer relied on (sentences or table rows), plain text.
    quote: str | None = None


class PromptRef(BaseModel):
    name: str
    version: str


class AnswerTrace(BaseModel):
    """How an answer was made, for evals and operators; separate from ``timings``.

    ``sources`` are the retrieved chunks given to the step that answered (id, fusion score,
    relevance); ``passages`` the sentences and rows the reader saw with their scores;
    ``failed`` the check that made a path give up (``reader said not found``, a verification
    problem, ``no evidence``); ``reply`` the reader's raw reply when one was made;
    ``translated`` the question as it was also searched, in the corpus's main language, when
    it was asked in another.
    """

    sources: list[dict[str, Any]] = []
    passages: list[dict[str, Any]] = []
    failed: list[str] = []
    reply: str | None = None
    language: str = "en"
    translated: str | None = None


class Answer(BaseModel):
    answer: str
    citations: list[Citation] = []
    grounded: bool = False
    handoff_offered: bool = False
    path: AnswerPath = "abstained"
    prompt: PromptRef | None = None
    timings: dict[str, float] = {}
    standalone_question: str | None = None
    answer_id: str | None = None
    handoff_id: str | None = None
    conversation_id: str | None = None
    language: str = "en"
    trace: AnswerTrace | None = None


class StreamEvent(BaseModel):
    """One Server-Sent Event of a streamed answer: ``progress`` events ``{"stage", "message",
    "sources"?}`` while it searches and reads, ``token`` events ``{"text"}`` with verified text
    only (never withdrawn), one ``citations`` event ``{"citations": [...]}``, then one ``final``
    event with the whole :class:`Answer` JSON. ``error`` carries ``{"message"}``."""

    event: Literal["progress", "token", "citations", "final", "error"]
    data: dict[str, Any]


class PartnerProfile(BaseModel):
    partner_id: str | None = None
    tier: str
    region: str
    language: str = "en"
    roles: list[str] = []
    products: list[str] = []
    certifications: list[str] = []
    completed_courses: list[str] = []
    pipeline: dict[str, float] = {}  # product -> open pipeline value
    currency: str | None = None  # of the pipeline values (ISO code), shown with every amount
    certified_products: list[str] = []  # products with at least one certified person


class Recommendation(BaseModel):
    course_id: str
    title: str
    score: float
    reason: str
    url: str | None = None
    citations: list[Citation] = []


class DraftRequest(BaseModel):
    kind: DraftKind
    product: str
    vertical: str | None = None
    region: str | None = None
    partner: str | None = None
    tone: str = "professional"
    language: str = "en"


class Draft(BaseModel):
    kind: str
    text: str
    citations: list[Citation] = []
    grounded: bool = True
    removed_claims: list[str] = []
    prompt: PromptRef | None = None


HandoffStatus = Literal["offered", "requested", "assigned", "answered", "closed"]
# Why the assistant handed the question on: nothing in the documents (``no_source``), the answer
# is in documents above the caller's tier/region (``access``), or the question was unclear.
HandoffReason = Literal["no_source", "access", "unclear"]


class HandoffEvent(BaseModel):
    """One step of a hand-off's life: the status it moved to, who moved it and when. ``note``
    holds the assignee of an ``assigned`` step, the reply of an ``answered`` one, or a reason."""

    status: HandoffStatus
    by: str | None = None
    at: str
    note: str = ""


class Handoff(BaseModel):
    """A question passed to a person, with what the assistant found and the manager's reply.

    ``reference`` is what the partner quotes ("HO-1A2B3C4D"); ``due_at`` is when a reply is
    expected (set when the partner requests the hand-off). ``slack_channel``/``slack_thread_ts``
    say where a Slack hand-off came from, so the reply can be posted back into that thread.
    """

    id: str
    question: str
    caller: CallerContext
    evidence: list[Citation] = []
    status: HandoffStatus = "offered"
    created_at: str
    answer_id: str | None = None
    conversation_id: str | None = None
    # Why the assistant did not answer; None when shown to a partner (managers only).
    reason: HandoffReason | None = "no_source"
    comment: str = ""
    assignee: str | None = None
    reply: str | None = None
    due_at: str | None = None
    slack_channel: str | None = None
    slack_thread_ts: str | None = None
    history: list[HandoffEvent] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reference(self) -> str:
        return "HO-" + self.id[:8].upper()
