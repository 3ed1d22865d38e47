"""Prometheus metrics for the API: requests and latency by route, answers by path, abstentions.

Each app gets its own `CollectorRegistry`, so several apps in one process (tests, workers started
by a factory) never clash over metric names. Routes are labelled by their template
(``/v1/handoffs``), never by the raw path, so ids in URLs cannot blow up the label space.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest

from assistant.models import Answer


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pa_http_requests_total",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pa_http_request_seconds",
            "HTTP request latency by route (streamed answers: until the response starts)",
            ["route"],
            registry=self.registry,
        )
        self.answers = Counter(
            "pa_answers_total", "Answers by path", ["path", "channel"], registry=self.registry
        )
        self.abstentions = Counter(
            "pa_abstentions_total", "Answers that abstained", ["channel"], registry=self.registry
        )

    def record_answer(self, answer: Answer, channel: str = "api") -> None:
        self.answers.labels(path=answer.path, channel=channel).inc()
        if answer.path == "abstained":
            self.abstentions.labels(channel=channel).inc()

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    def install(self, app: FastAPI) -> None:
        @app.middleware("http")
        async def _measure(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            started = time.perf_counter()
            status = 500
            try:
                response = await call_next(request)
                status = response.status_code
                return response
            finally:
                route = request.scope.get("route")
                label = getattr(route, "path", None) or "unmatched"
                self.latency.labels(route=label).observe(time.perf_counter() - started)
                self.requests.labels(
                    route=label, method=request.method, status=str(status)
                ).inc()
