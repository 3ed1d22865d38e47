"""``/v1/onboarding``: a partner's onboarding progress, and time to first deal for managers.

A partner's id and tier come from the token, and so does the join date when the portal puts a
``joined`` claim in it; the body only reports progress (completed steps and courses).
Registrations are read from the store. ``POST`` saves the profile so that ``GET`` can show the
progress again and managers can see time to first deal across partners.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CallerDep, JoinedDep, ServiceDep
from api.errors import COMMON_RESPONSES
from assistant.models import CallerContext
from assistant.rules.onboarding import OnboardingProfile, OnboardingProgress, TimeToFirstDeal
from retrieval.access import AccessError

router = APIRouter(prefix="/v1", tags=["onboarding"], responses=COMMON_RESPONSES)


class OnboardingRequest(BaseModel):
    """Progress a partner reports. Managers also name the partner, tier and join date."""

    model_config = ConfigDict(extra="forbid")

    joined: date | None = None
    completed_steps: list[str] = Field([], max_length=200)
    completed_courses: list[str] = Field([], max_length=500)
    partner_id: str | None = Field(None, max_length=100, description="managers only")
    tier: str | None = Field(None, max_length=40, description="managers only")
    region: str | None = Field(None, max_length=40, description="managers only")


def _progress(
    service: object, profile: OnboardingProfile, caller: CallerContext, save: bool
) -> OnboardingProgress:
    try:
        return service.rules.onboarding(profile, caller, save=save)  # type: ignore[attr-defined]
    except AccessError as exc:
        raise HTTPException(400, str(exc)) from None


@router.post("/onboarding", response_model=OnboardingProgress)
def report_onboarding(
    body: OnboardingRequest, caller: CallerDep, joined: JoinedDep, service: ServiceDep
) -> OnboardingProgress:
    """Done, due and overdue steps with dates, the next step and the training that completes
    it, each citing the onboarding rule in force."""
    if caller.role == "partner":
        if body.partner_id or body.tier or body.region:
            raise HTTPException(400, "partner, tier and region come from your token")
        when = joined or body.joined
        partner_id, tier, region = caller.partner_id, caller.tier, caller.region
    else:
        when, partner_id = body.joined, body.partner_id
        tier = body.tier.lower() if body.tier else None
        region = body.region.lower() if body.region else None
        if not partner_id:
            raise HTTPException(400, "partner_id is required when reporting for a partner")
    if when is None:
        raise HTTPException(400, "joined is required (the token carries no joined claim)")
    try:
        profile = OnboardingProfile(
            partner_id=partner_id,
            tier=tier,
            region=region,
            joined=when,
            completed_steps=body.completed_steps,
            completed_courses=body.completed_courses,
        )
    except ValueError as exc:
        raise HTTPException(400, str(exc).splitlines()[-1].strip()) from None
    checked_as = CallerContext(role="partner", tier=tier, region=region, partner_id=partner_id)
    return _progress(service, profile, checked_as, save=True)


@router.get("/onboarding", response_model=OnboardingProgress | TimeToFirstDeal)
def get_onboarding(
    caller: CallerDep, joined: JoinedDep, service: ServiceDep
) -> OnboardingProgress | TimeToFirstDeal:
    """A partner's saved progress (or from the token's join date); for channel managers, time
    to first deal across every partner with a saved profile."""
    if caller.role != "partner":
        return service.rules.time_to_first_deal()
    stored = service.rules.stored_profile(caller.partner_id)
    when = joined or (stored.joined if stored else None)
    if when is None:
        raise HTTPException(404, "no onboarding profile yet: POST /v1/onboarding with joined")
    profile = OnboardingProfile(
        partner_id=caller.partner_id,
        tier=caller.tier,
        region=caller.region,
        joined=when,
        completed_steps=stored.completed_steps if stored else [],
        completed_courses=stored.completed_courses if stored else [],
    )
    return _progress(service, profile, caller, save=False)
