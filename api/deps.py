"""FastAPI dependencies as short `Annotated` aliases, so route handlers stay a few lines long.

``CallerDep`` verifies the bearer token or API key (refused with 429 once the client address or
the key's prefix has failed too often, see `AuthThrottle`), counts the request against the
caller's rate limit and yields the `CallerContext` that drives retrieval filters; ``ManagerDep`` additionally
requires a channel manager or admin; ``AdminDep`` an admin.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.auth import MANAGER_ROLES, Authenticator, AuthError, throttle_keys
from api.metrics import ApiMetrics
from api.throttling import AnswerQueue, AuthThrottle, RateLimiter
from assistant.models import CallerContext
from assistant.records import RecordStore

_bearer = HTTPBearer(auto_error=False, description="Portal JWT (HS256/RS256)")
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Channel manager / admin API key"
)


def get_service(request: Request) -> Any:
    service = getattr(request.app.state, "service", None)
    if service is None:
        raise HTTPException(503, "the assistant is still starting")
    return service


def get_records(request: Request) -> RecordStore:
    records = getattr(request.app.state, "records", None)
    if records is None:
        raise HTTPException(503, "the assistant is still starting")
    return records


def get_caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> CallerContext:
    auth: Authenticator = request.app.state.auth
    token = bearer.credentials if bearer is not None and bearer.credentials else None
    if not api_key and token is None:
        raise AuthError("send 'Authorization: Bearer <token>' or 'X-API-Key'")
    throttle: AuthThrottle = request.app.state.auth_throttle
    keys = throttle_keys(request.client.host if request.client else None, api_key)
    throttle.check(keys)
    try:
        if api_key:
            identity = auth.caller_from_api_key(api_key)
        else:
            identity = auth.caller_from_token(token or "")
    except AuthError:
        throttle.failed(keys)
        raise
    limiter: RateLimiter = request.app.state.limiter
    limiter.hit(identity.key)
    return identity.caller


CallerDep = Annotated[CallerContext, Depends(get_caller)]


def get_joined(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> date | None:
    """The ``joined`` claim of the bearer token (None for API keys and tokens without it)."""
    if bearer is None or not bearer.credentials:
        return None
    return request.app.state.auth.joined_from_token(bearer.credentials)


JoinedDep = Annotated[date | None, Depends(get_joined)]


def require_manager(caller: CallerDep) -> CallerContext:
    if caller.role not in MANAGER_ROLES:
        raise HTTPException(403, "this route is for channel managers and admins")
    return caller


def require_admin(caller: CallerDep) -> CallerContext:
    if caller.role != "admin":
        raise HTTPException(403, "this route is for admins")
    return caller


def get_queue(request: Request) -> AnswerQueue:
    return request.app.state.answer_queue


def get_metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


ServiceDep = Annotated[Any, Depends(get_service)]
RecordsDep = Annotated[RecordStore, Depends(get_records)]
ManagerDep = Annotated[CallerContext, Depends(require_manager)]
AdminDep = Annotated[CallerContext, Depends(require_admin)]
QueueDep = Annotated[AnswerQueue, Depends(get_queue)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
