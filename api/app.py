"""The FastAPI app factory: one `AssistantService` behind versioned JSON/SSE routes.

Example::

    app = create_app(settings)                  # builds the service at startup
    app = create_app(settings, service=service)  # tests and the CLI pass one in

``app_from_env`` is the import-string factory uvicorn uses when it starts several workers
(``uvicorn api.app:app_from_env --factory``): each worker reads the settings from the
environment and builds its own service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.auth import Authenticator
from api.errors import install_error_handlers
from api.metrics import ApiMetrics
from api.routes import (
    admin,
    chat,
    conversations,
    deals,
    drafts,
    feedback,
    handoffs,
    health,
    insights,
    manage,
    onboarding,
    search,
    training,
    widget,
)
from api.routes.widget import STATIC_DIR
from api.shared_state import SharedState
from api.slack_config import http_endpoint_wanted
from api.throttling import AnswerQueue, AuthThrottle, BodySizeLimit, RateLimiter
from assistant.records import RecordStore
from assistant.settings import Settings, get_settings

# The local CPU model answers one question at a time; a remote API can take a few in parallel.
MODEL_CONCURRENCY = {"local": 1, "openai": 4}


def _records_for(service: Any, settings: Settings) -> RecordStore:
    """Share the service's store when it has one, so hand-offs and answers live together."""
    records = getattr(service, "records", None)
    return records if isinstance(records, RecordStore) else RecordStore.from_settings(settings)


def _log_warm_up_failure(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logging.getLogger(__name__).error("chat model warm-up failed: %s", future.exception())


def create_app(settings: Settings, service: Any = None) -> FastAPI:
    owns_service = service is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.service is None:
            from assistant.service import build_service

            app.state.service = await run_in_threadpool(build_service, settings)
            app.state.records = _records_for(app.state.service, settings)
        if settings.llm.warm_up_on_start and hasattr(app.state.service, "warm_up"):
            # In the background: /healthz answers at once, /readyz says 503 until it is done.
            warming = asyncio.get_running_loop().run_in_executor(None, app.state.service.warm_up)
            warming.add_done_callback(_log_warm_up_failure)
        yield
        if owns_service and hasattr(app.state.service, "close"):
            app.state.service.close()
        app.state.shared.close()

    app = FastAPI(
        title="Partner Assistant API",
        version="1.0.0",
        description="Grounded answers with citations, training recommendations and co-marketing "
        "drafts for partners, filtered by the caller's tier, region and role.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.records = _records_for(service, settings) if service is not None else None
    app.state.auth = Authenticator(settings)
    app.state.shared = SharedState.from_settings(settings.api)
    app.state.limiter = RateLimiter(settings.api.rate_limit, app.state.shared.storage)
    app.state.auth_throttle = AuthThrottle(
        settings.api.auth_failure_limit, app.state.shared.storage
    )
    app.state.answer_queue = AnswerQueue(
        MODEL_CONCURRENCY.get(settings.llm.provider, 1), settings.answer.queue_size
    )
    app.state.metrics = ApiMetrics()

    install_error_handlers(app)
    routers = (
        chat,
        search,
        training,
        drafts,
        feedback,
        handoffs,
        conversations,
        insights,
        manage,
        deals,
        onboarding,
        admin,
    )
    for module in (*routers, health, widget):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if http_endpoint_wanted(settings.slack):
        from api.slack import mount_slack

        mount_slack(app, settings, service)

    app.state.metrics.install(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.api.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key", "Accept"],
        max_age=600,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)
    return app


def app_from_env() -> FastAPI:
    return create_app(get_settings())
