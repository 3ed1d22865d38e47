"""``/v1/handoffs``: a partner asks for a person; channel managers work the queue.

Partners request a hand-off and see only their own; managers (``ManagerDep``) list every
hand-off with filters and paging, assign, reply and close. A reply to a hand-off that came from
Slack is also posted into that Slack thread. Moving a hand-off where its status does not allow
(closing a closed one, replying to a closed one) is 409.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.deps import CallerDep, ManagerDep, ServiceDep
from api.errors import COMMON_RESPONSES, error_doc
from api.schemas import (
    HandoffAssign,
    HandoffClose,
    HandoffReceipt,
    HandoffReply,
    HandoffRequest,
)
from assistant.models import Handoff
from assistant.records import HandoffFilters, HandoffPage

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["handoffs"], responses=COMMON_RESPONSES)
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: error_doc("The hand-off's status does not allow this step")
}


@router.post("/handoffs", response_model=HandoffReceipt, status_code=201)
def request_handoff(
    body: HandoffRequest,
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
) -> HandoffReceipt:
    """Hand an answer (with its question and evidence) or a bare question to a person; the
    receipt carries the reference number and the expected response time. The service checks
    that the answer is one of the caller's."""
    question = body.question.strip() if body.question else None
    handoff = service.request_handoff(
        answer_id=body.answer_id, question=question, caller=caller, comment=body.comment
    )
    hours = request.app.state.settings.handoff.response_hours
    return HandoffReceipt(**handoff.model_dump(), expected_response_hours=hours)


@router.get("/handoffs", response_model=HandoffPage)
def list_handoffs(
    caller: CallerDep, service: ServiceDep, filters: Annotated[HandoffFilters, Query()]
) -> HandoffPage:
    """Hand-offs, newest first: every one for channel managers, a partner's own for partners."""
    return service.list_handoffs(filters, caller=caller)


@router.get("/handoffs/{handoff_id}", response_model=Handoff)
def show_handoff(handoff_id: str, caller: CallerDep, service: ServiceDep) -> Handoff:
    return service.get_handoff(handoff_id, caller=caller)


@router.post("/handoffs/{handoff_id}/assign", response_model=Handoff, responses=CONFLICT)
def assign_handoff(
    handoff_id: str, body: HandoffAssign, caller: ManagerDep, service: ServiceDep
) -> Handoff:
    """Take the hand-off (no ``assignee``) or give it to a named person."""
    return service.assign_handoff(handoff_id, caller, assignee=body.assignee)


@router.post("/handoffs/{handoff_id}/reply", response_model=Handoff, responses=CONFLICT)
def reply_handoff(
    handoff_id: str, body: HandoffReply, request: Request, caller: ManagerDep, service: ServiceDep
) -> Handoff:
    """Answer the partner: shown in their conversation, and in the Slack thread it came from."""
    handoff = service.reply_handoff(handoff_id, caller, body.text)
    notify_reply(request, handoff)
    return handoff


@router.post("/handoffs/{handoff_id}/close", response_model=Handoff, responses=CONFLICT)
def close_handoff(
    handoff_id: str, body: HandoffClose, caller: ManagerDep, service: ServiceDep
) -> Handoff:
    return service.close_handoff(handoff_id, caller, note=body.note)


def notify_reply(request: Request, handoff: Handoff) -> None:
    """Post the reply into the Slack thread the hand-off came from. The reply is stored either
    way, so a Slack failure is logged, not raised."""
    if not handoff.slack_channel:
        return
    try:
        from api.slack import post_manager_reply

        post_manager_reply(request.app.state.settings, handoff)
    except Exception:
        log.exception("posting the reply to hand-off %s into Slack failed", handoff.id)
