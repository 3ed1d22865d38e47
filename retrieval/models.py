"""Who asks and what retrieval returns: the types every layer above passes around.

The JSON form of :class:`SearchHit` is a contract: the CLI, the API and the evals read it.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["partner", "channel_manager", "admin"]


class CallerContext(BaseModel):
    """Who is asking. It decides what retrieval may return; it never comes from the client on
    trust (the API builds it from a verified token, Slack from a configured user mapping).

    ``principal`` identifies the authenticated identity (issuer + subject of a token, or an API
    key's id): conversations and answers belong to it, not to a role.
    """

    role: Role = "partner"
    tier: str | None = None
    region: str | None = None
    language: str = "en"
    as_of: date | None = None
    partner_id: str | None = None
    principal: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> CallerContext:
        """The caller fields of a batch or dataset line (``role``, ``tier``, ``region``,
        ``as_of``, ``partner_id``); missing ones keep their defaults."""
        fields = ("role", "tier", "region", "language", "as_of", "partner_id")
        return cls.model_validate({k: item[k] for k in fields if item.get(k) is not None})

    def access_key(self) -> tuple[Any, ...]:
        """What decides what this caller may see; a conversation keeps it for its lifetime."""
        return (self.role, self.tier, self.region)


class SearchHit(BaseModel):
    """One retrieved chunk, with the metadata needed to cite it.

    ``score`` is the fusion score (only comparable within one result list); ``relevance`` is
    the cosine similarity of query and chunk in [-1, 1] when the dense model scored it.
    """

    chunk_id: str
    doc_id: str
    source: str
    title: str = ""
    section: str = ""
    page: int | None = None
    score: float = 0.0
    relevance: float | None = None
    text: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
