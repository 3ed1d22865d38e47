"""``GET /v1/insights``: what partners ask and what the documents do not answer (managers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.deps import ManagerDep, ServiceDep
from api.errors import COMMON_RESPONSES
from assistant.insights import Insights, InsightsFilters

router = APIRouter(prefix="/v1", tags=["insights"], responses=COMMON_RESPONSES)


@router.get("/insights", response_model=Insights)
def insights(
    caller: ManagerDep, service: ServiceDep, filters: Annotated[InsightsFilters, Query()]
) -> Insights:
    """Volume and answer rate per day, gap topics with their kind and suggested action, and
    conversation sentiment, over the latest questions in the window."""
    return service.insights(filters)


@router.get(
    "/insights/topics/{topic}/eval.jsonl",
    response_model=None,
    responses={200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
)
def export_topic(
    topic: Annotated[int, Path(ge=0, le=500)],
    caller: ManagerDep,
    service: ServiceDep,
    filters: Annotated[InsightsFilters, Query()],
) -> Response:
    """Topic ``topic`` (0 = the largest) as evaluation questions in the golden-set JSONL format."""
    return Response(
        service.export_gap(topic, filters),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="gap-topic-{topic}.jsonl"'},
    )
