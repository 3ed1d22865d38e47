"""``/v1/handoffs``: a partner asks for a human; channel managers list the requests."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from api.deps import CallerDep, ManagerDep, RecordsDep, ServiceDep
from api.errors import COMMON_RESPONSES
from api.routes.chat import same_owner
from api.schemas import HandoffRequest
from assistant.models import Handoff
from assistant.records import RecordNotFound

router = APIRouter(prefix="/v1", tags=["handoffs"], responses=COMMON_RESPONSES)


@router.post("/handoffs", response_model=Handoff, status_code=201)
def request_handoff(
    body: HandoffRequest, caller: CallerDep, service: ServiceDep, records: RecordsDep
) -> Handoff:
    """Hand an answer (with its question and evidence) or a bare question to a human."""
    if body.answer_id is not None:
        stored = records.get_answer(body.answer_id)
        if stored.conversation_id is not None and not same_owner(
            records.get_conversation_caller(stored.conversation_id), caller
        ):
            raise RecordNotFound(f"no answer {body.answer_id}")
    question = body.question.strip() if body.question else None
    return service.request_handoff(answer_id=body.answer_id, question=question, caller=caller)


@router.get("/handoffs", response_model=list[Handoff])
def list_handoffs(
    caller: ManagerDep,
    service: ServiceDep,
    status: Literal["offered", "requested", "closed"] | None = None,
) -> list[Handoff]:
    """Hand-offs, newest first (channel managers and admins only)."""
    handoffs = service.list_handoffs()
    return [h for h in handoffs if status is None or h.status == status]
