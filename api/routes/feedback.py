"""``POST /v1/feedback``: thumbs up/down on an answer, stored for the eval team."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CallerDep, RecordsDep
from api.errors import COMMON_RESPONSES
from api.routes.chat import same_owner
from api.schemas import FeedbackRequest, FeedbackResponse
from assistant.records import RecordNotFound

router = APIRouter(prefix="/v1", tags=["feedback"], responses=COMMON_RESPONSES)


@router.post("/feedback", response_model=FeedbackResponse, status_code=201)
def give_feedback(
    body: FeedbackRequest, caller: CallerDep, records: RecordsDep
) -> FeedbackResponse:
    """Rate an answer the caller received."""
    stored = records.get_answer(body.answer_id)
    if stored.conversation_id is not None and not same_owner(
        records.get_conversation_caller(stored.conversation_id), caller
    ):
        raise RecordNotFound(f"no answer {body.answer_id}")
    feedback = records.add_feedback(body.answer_id, body.rating, body.comment)
    return FeedbackResponse(id=feedback.id, answer_id=feedback.answer_id, rating=feedback.rating)
