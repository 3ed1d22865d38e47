"""``/v1/feedback``: partners rate answers (thumbs, with an optional comment); channel managers
read the ratings with the question, the answer, its citations and path, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import CallerDep, ManagerDep, ServiceDep
from api.errors import COMMON_RESPONSES
from api.schemas import FeedbackRequest, FeedbackResponse
from assistant.records import FeedbackFilters, FeedbackItem, FeedbackPage

router = APIRouter(prefix="/v1", tags=["feedback"], responses=COMMON_RESPONSES)

CSV_COLUMNS = [
    "created",
    "rating",
    "comment",
    "partner_id",
    "tier",
    "region",
    "language",
    "question",
    "answer",
    "path",
    "citations",
    "answer_id",
    "conversation_id",
]
_CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.post("/feedback", response_model=FeedbackResponse, status_code=201)
def give_feedback(
    body: FeedbackRequest, caller: CallerDep, service: ServiceDep
) -> FeedbackResponse:
    """Rate an answer the caller received (the service checks it is one of theirs)."""
    feedback = service.add_feedback(body.answer_id, body.rating, body.comment, caller=caller)
    return FeedbackResponse(id=feedback.id, answer_id=feedback.answer_id, rating=feedback.rating)


@router.get("/feedback", response_model=FeedbackPage, responses=_CSV_DOC)
def list_feedback(
    caller: ManagerDep,
    service: ServiceDep,
    filters: Annotated[FeedbackFilters, Query()],
    format: Annotated[Literal["json", "csv"], Query(description="csv: a spreadsheet")] = "json",
) -> FeedbackPage | Response:
    """Feedback, newest first, with the question and the answer it rates (managers only)."""
    page = service.list_feedback(filters)
    if format == "csv":
        return Response(
            feedback_csv(page.items),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="feedback.csv"'},
        )
    return page


def feedback_csv(items: list[FeedbackItem]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        caller = item.caller
        writer.writerow(
            [
                item.created,
                item.rating,
                item.comment,
                caller.partner_id if caller else "",
                caller.tier if caller else "",
                caller.region if caller else "",
                caller.language if caller else "",
                item.question,
                item.answer.answer,
                item.answer.path,
                "; ".join(
                    f"[{c.n}] {c.title or c.source} ({c.source})" for c in item.answer.citations
                ),
                item.answer_id,
                item.conversation_id or "",
            ]
        )
    return out.getvalue()
