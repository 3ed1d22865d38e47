"""``POST /v1/drafts``: co-marketing drafts grounded in the caller's permitted material."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import CallerDep, QueueDep, ServiceDep
from api.errors import COMMON_RESPONSES
from api.schemas import DraftBody
from assistant.models import Draft

router = APIRouter(prefix="/v1", tags=["drafts"], responses=COMMON_RESPONSES)


@router.post("/drafts", response_model=Draft)
def draft(body: DraftBody, caller: CallerDep, service: ServiceDep, queue: QueueDep) -> Draft:
    """Draft an email, social post or solution brief from approved material only: an unknown
    product or vertical, or a partner name that is not a name, is a 400 that says what to
    change."""
    with queue.reserve():
        try:
            return service.draft(body.to_request(), caller)
        except LookupError as exc:  # no approved material about that product for this caller
            raise HTTPException(404, str(exc)) from exc
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
