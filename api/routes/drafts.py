"""``POST /v1/drafts``: co-marketing drafts grounded in the caller's permitted material."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import CallerDep, QueueDep, ServiceDep
from api.errors import COMMON_RESPONSES
from assistant.models import Draft, DraftRequest

router = APIRouter(prefix="/v1", tags=["drafts"], responses=COMMON_RESPONSES)


@router.post("/drafts", response_model=Draft)
def draft(body: DraftRequest, caller: CallerDep, service: ServiceDep, queue: QueueDep) -> Draft:
    """Draft an email, social post or solution brief; unsupported claims are removed."""
    with queue.reserve():
        try:
            return service.draft(body, caller)
        except LookupError as exc:  # no approved material about that product for this caller
            raise HTTPException(404, str(exc)) from exc
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
