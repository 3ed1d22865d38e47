"""Request and response bodies of the HTTP API (the domain models live in assistant.models).

Request bodies refuse unknown fields: a client that sends ``tier`` or ``region`` learns at once
that they are not taken from the body (they come from the verified token).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.models import (
    Answer,
    Citation,
    DraftKind,
    DraftRequest,
    Handoff,
    Recommendation,
    SearchHit,
)

Id = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        """No text may carry a NUL character: PostgreSQL cannot store one (a 422, not a 500)."""

        def walk(value: Any) -> None:
            if isinstance(value, str) and "\x00" in value:
                raise ValueError("text must not contain NUL (\\u0000) characters")
            if isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(data)
        return data


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class ChatRequest(_Request):
    question: str = Field(min_length=1, max_length=4000, examples=["How do I register a deal?"])
    conversation_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Continue a stored conversation"
    )

    _strip = field_validator("question")(_not_blank)


# Text that comes from documents or the model may hold anything a document holds, markup too.
PLAIN_TEXT = (
    "Plain text taken from the documents (never HTML): it may contain '<', '&' or markup "
    "written in a document, so escape it before putting it into a page or a chat message."
)


class CitationOut(Citation):
    """A source the answer cites; its text fields are plain text from the document."""

    title: str = Field("", description=f"The document's title. {PLAIN_TEXT}")
    section: str = Field("", description=f"The heading path of the passage. {PLAIN_TEXT}")
    quote: str | None = Field(
        None, description=f"The passages of this source the answer relied on. {PLAIN_TEXT}"
    )
    url: str | None = Field(
        None,
        description="The document's address as its metadata gives it; link it only when it is "
        "http or https (a document may carry any scheme).",
    )


class ChatResponse(Answer):
    """The answer, plus the conversation to pass back for a follow-up question."""

    answer: str = Field(
        description="The answer: plain text with light Markdown (lists, **bold**, [n] "
        f"markers), written from the documents. {PLAIN_TEXT}"
    )
    # The same citations, with their fields described for the API's clients.
    citations: list[CitationOut] = []  # type: ignore[assignment]
    conversation_id: str


class SearchRequest(_Request):
    query: str = Field(min_length=1, max_length=1000)
    k: int | None = Field(None, ge=1, le=50)
    mode: Literal["dense", "lexical", "hybrid"] | None = None

    _strip = field_validator("query")(_not_blank)


class SearchResponse(BaseModel):
    hits: list[SearchHit] = Field(
        description=f"Retrieved passages; their title, section and text are {PLAIN_TEXT[0].lower()}"
        f"{PLAIN_TEXT[1:]}"
    )


class TrainingRequest(_Request):
    """A partner profile. For a partner token, tier, region and partner id come from the token;
    a channel manager asking on a partner's behalf must give tier and region here."""

    tier: str | None = Field(None, max_length=40)
    region: str | None = Field(None, max_length=40)
    partner_id: str | None = Field(None, max_length=100)
    language: str | None = Field(None, pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")
    roles: list[str] = Field([], max_length=50)
    products: list[str] = Field([], max_length=100)
    certifications: list[str] = Field([], max_length=200)
    completed_courses: list[str] = Field([], max_length=500)
    pipeline: dict[str, float] = {}
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    certified_products: list[str] = Field([], max_length=100)


class TrainingResponse(BaseModel):
    recommendations: list[Recommendation]


class FeedbackRequest(_Request):
    answer_id: str = Id
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=2000)


class FeedbackResponse(BaseModel):
    id: str
    answer_id: str
    rating: Literal["up", "down"]


class HandoffRequest(_Request):
    """Ask for a human: from an answer (its question and evidence are attached) or a question."""

    answer_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    question: str | None = Field(None, min_length=1, max_length=4000)
    comment: str = Field("", max_length=2000, description="What the partner adds for the person")

    @model_validator(mode="after")
    def _one_source(self) -> HandoffRequest:
        if self.answer_id is None and (self.question is None or not self.question.strip()):
            raise ValueError("give answer_id or a non-blank question")
        return self


class HandoffReceipt(Handoff):
    """The hand-off as stored, and how soon the partner can expect a reply."""

    expected_response_hours: float


class HandoffAssign(_Request):
    assignee: str | None = Field(
        None, min_length=1, max_length=100, description="Who takes it; the caller when omitted"
    )


class HandoffReply(_Request):
    text: str = Field(min_length=1, max_length=8000)

    _strip = field_validator("text")(_not_blank)


class HandoffClose(_Request):
    note: str = Field("", max_length=2000)


class IngestRequest(_Request):
    paths: list[str] = Field(min_length=1, max_length=100)
    sync: bool = Field(False, description="Also delete documents whose files are gone")


class DraftBody(_Request):
    """What to draft. Only the product, the vertical and the partner's name reach the text, and
    each is checked: the product must be one the documents name (400 lists them), the vertical
    one the documents write messaging for, the partner a company name; nothing in the request
    can add a claim. Tier and region come from the token."""

    kind: DraftKind
    product: str = Field(min_length=1, max_length=80, examples=["Altaris Guard"])
    vertical: str | None = Field(None, min_length=1, max_length=40, examples=["healthcare"])
    partner: str | None = Field(
        None, min_length=1, max_length=60, description="The partner company's name"
    )
    language: str = Field("en", pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")

    _strip = field_validator("product")(_not_blank)

    def to_request(self) -> DraftRequest:
        return DraftRequest(**self.model_dump())


class Suggestions(BaseModel):
    language: str
    suggestions: list[str]
    # suggestion text -> route the widget calls instead of asking it as a chat question
    actions: dict[str, str] = {}


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool]


JsonObject = dict[str, Any]
