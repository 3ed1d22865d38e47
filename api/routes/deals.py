"""``/v1/deals``: the deal-registration pre-check, registrations and their manager review.

The partner's tier, region and id come from the verified token, never from the body: a partner
is checked against the rule in force for them, and sees only their own registrations. A channel
manager checking a deal on a partner's behalf names the tier and region as query parameters.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CallerDep, ManagerDep, ServiceDep
from api.errors import COMMON_RESPONSES, ErrorBody
from assistant.models import CallerContext
from assistant.registrations import DecisionError, Registration
from assistant.rules.deal_registration import Deal, Precheck
from assistant.rules.desk import NotEligible, RuleInputError
from retrieval.access import AccessError

router = APIRouter(prefix="/v1", tags=["deals"], responses=COMMON_RESPONSES)


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=2000)


def _caller_for_check(
    caller: CallerContext, as_of: date | None, tier: str | None, region: str | None
) -> CallerContext:
    update: dict[str, object] = {"as_of": as_of}
    if caller.role != "partner":
        if not tier or not region:
            raise HTTPException(400, "give ?tier= and ?region= when checking for a partner")
        update.update(tier=tier.lower(), region=region.lower())
    return caller.model_copy(update=update)


@router.post("/deals/precheck", response_model=Precheck)
def precheck_deal(
    deal: Deal,
    caller: CallerDep,
    service: ServiceDep,
    as_of: date | None = None,
    tier: str | None = Query(None, max_length=40, description="managers only"),
    region: str | None = Query(None, max_length=40, description="managers only"),
) -> Precheck:
    """Check a deal against the deal-registration rule in force; every check cites the rule."""
    try:
        return service.rules.precheck(deal, _caller_for_check(caller, as_of, tier, region))
    except (RuleInputError, AccessError) as exc:
        raise HTTPException(400, str(exc)) from None


@router.post(
    "/deals",
    response_model=Registration,
    status_code=201,
    responses={422: {"description": "The pre-check failed; the body carries it"}},
)
def submit_deal(deal: Deal, caller: CallerDep, service: ServiceDep) -> Registration | JSONResponse:
    """Register a deal (partners). It is pre-checked first; a failed check refuses it with the
    pre-check, and another partner's registration for the customer flags it as a conflict."""
    if caller.role != "partner":
        raise HTTPException(403, "deals are registered by partners")
    try:
        return service.rules.submit(deal, caller)
    except NotEligible as exc:
        body = {
            "error": "not_eligible",
            "message": str(exc),
            "precheck": exc.precheck.model_dump(mode="json"),
        }
        return JSONResponse(body, status_code=422)
    except (RuleInputError, AccessError) as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/deals", response_model=list[Registration])
def list_deals(
    caller: CallerDep,
    service: ServiceDep,
    status: Literal["pending", "approved", "rejected"] | None = None,
) -> list[Registration]:
    """A partner's own registrations, or every registration for channel managers."""
    return service.rules.list_registrations(caller, status)


def _decide(service: object, registration_id: str, approve: bool, who: str, note: str):  # noqa: ANN202
    try:
        return service.rules.decide(registration_id, approve, who, note)  # type: ignore[attr-defined]
    except DecisionError as exc:
        raise HTTPException(409, str(exc)) from None


_DECIDED: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The registration was already decided"}
}


@router.post("/deals/{registration_id}/approve", response_model=Registration, responses=_DECIDED)
def approve_deal(
    registration_id: str,
    caller: ManagerDep,
    service: ServiceDep,
    body: DecisionRequest | None = None,
) -> Registration:
    """Approve a pending registration (managers); its protection period starts today."""
    return _decide(
        service, registration_id, True, caller.partner_id or caller.role, body.note if body else ""
    )


@router.post("/deals/{registration_id}/reject", response_model=Registration, responses=_DECIDED)
def reject_deal(
    registration_id: str,
    caller: ManagerDep,
    service: ServiceDep,
    body: DecisionRequest | None = None,
) -> Registration:
    """Reject a pending registration (managers), with a note for the partner."""
    return _decide(
        service, registration_id, False, caller.partner_id or caller.role, body.note if body else ""
    )
