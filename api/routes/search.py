"""``POST /v1/search``: the passages the caller may see, without generating an answer."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CallerDep, ServiceDep
from api.errors import COMMON_RESPONSES
from api.schemas import SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["search"], responses=COMMON_RESPONSES)


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, caller: CallerDep, service: ServiceDep) -> SearchResponse:
    """Hybrid search filtered by the caller's tier, region and role (from the token)."""
    hits = service.search(body.query, caller, k=body.k, mode=body.mode)
    return SearchResponse(hits=hits)
