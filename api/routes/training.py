"""``POST /v1/training/recommendations``: courses for a partner profile.

For a partner token the tier, region and partner id are the token's, whatever the body says; a
channel manager asking on a partner's behalf names them in the body.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from api.deps import CallerDep, ServiceDep
from api.errors import COMMON_RESPONSES
from api.schemas import TrainingRequest, TrainingResponse
from assistant.models import PartnerProfile

router = APIRouter(prefix="/v1", tags=["training"], responses=COMMON_RESPONSES)


@router.post("/training/recommendations", response_model=TrainingResponse)
def recommend_training(
    body: TrainingRequest, request: Request, caller: CallerDep, service: ServiceDep
) -> TrainingResponse:
    """Recommend courses for the profile's gaps (products sold, certifications missing)."""
    fields = body.model_dump(exclude={"tier", "region", "partner_id", "language"})
    if caller.role == "partner":
        tier, region, partner_id = caller.tier, caller.region, caller.partner_id
        if tier is None or region is None:
            raise HTTPException(400, "your token carries no tier or region to recommend for")
    else:
        tier, region, partner_id = body.tier, body.region, body.partner_id
        access = request.app.state.settings.access
        if tier is None or region is None:
            raise HTTPException(400, "tier and region are required when asking for a partner")
        tier, region = tier.lower(), region.lower()
        if tier not in access.tiers or region not in access.regions:
            raise HTTPException(
                400, f"tier must be one of {access.tiers}, region of {access.regions}"
            )
    profile = PartnerProfile(
        **fields,
        tier=tier,
        region=region,
        partner_id=partner_id,
        language=body.language or caller.language,
    )
    return TrainingResponse(recommendations=service.recommend_training(profile))
