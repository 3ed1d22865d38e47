"""Liveness, readiness and Prometheus metrics (no credentials: probes and scrapers call them)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready yet"}},
)
def readyz(request: Request) -> JSONResponse:
    """The store, embedder and chat model are loaded (503 until they are)."""
    service = getattr(request.app.state, "service", None)
    checks: dict[str, bool] = {"service": False}
    if service is not None:
        try:
            checks = {name: bool(ok) for name, ok in service.ready().items()}
        except Exception:
            checks = {"service": False}
    ready = bool(checks) and all(checks.values())
    body = Readiness(ready=ready, checks=checks).model_dump()
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Prometheus text format: requests/latency by route, answers by path, abstentions."""
    return request.app.state.metrics.render()
