"""``GET /v1/conversations/{id}``: a conversation as its partner had it, with the replies channel
managers wrote to its hand-offs (role ``manager``). The owner or a manager may read it; for
anyone else it does not exist."""

from __future__ import annotations

from fastapi import APIRouter, Path

from api.deps import CallerDep, ServiceDep
from api.errors import COMMON_RESPONSES
from assistant.records import Conversation

router = APIRouter(prefix="/v1", tags=["conversations"], responses=COMMON_RESPONSES)


@router.get("/conversations/{conversation_id}", response_model=Conversation)
def show_conversation(
    caller: CallerDep,
    service: ServiceDep,
    conversation_id: str = Path(pattern=r"^[A-Za-z0-9_-]{1,64}$"),
) -> Conversation:
    """The conversation, oldest message first (a manager's reply is a ``manager`` message)."""
    return service.get_conversation(conversation_id, caller)
