"""``GET /v1/conversations/{id}``: a conversation read back by the caller who started it, so the
widget can show it again after a page reload (it keeps only the id, in ``sessionStorage``)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel

from api.deps import CallerDep, RecordsDep
from api.errors import COMMON_RESPONSES
from api.routes.chat import same_owner
from assistant.models import Answer
from assistant.records import RecordNotFound

router = APIRouter(prefix="/v1", tags=["chat"], responses=COMMON_RESPONSES)


class ConversationMessage(BaseModel):
    role: Literal["user", "assistant", "manager"]
    content: str
    answer: Answer | None = None
    created_at: str


class Conversation(BaseModel):
    id: str
    messages: list[ConversationMessage]


@router.get("/conversations/{conversation_id}", response_model=Conversation)
def get_conversation(
    caller: CallerDep,
    records: RecordsDep,
    conversation_id: str = Path(pattern=r"^[A-Za-z0-9_-]{1,64}$"),
) -> Conversation:
    """The caller's own conversation, oldest message first; anyone else's is a 404."""
    if not same_owner(records.get_conversation_caller(conversation_id), caller):
        raise RecordNotFound(f"no conversation {conversation_id}")
    messages: list[ConversationMessage] = []
    for stored in records.list_conversation_answers(conversation_id):
        messages.append(
            ConversationMessage(role="user", content=stored.question, created_at=stored.created)
        )
        messages.append(
            ConversationMessage(
                role="assistant",
                content=stored.answer.answer,
                answer=stored.answer,
                created_at=stored.created,
            )
        )
    return Conversation(id=conversation_id, messages=messages)
