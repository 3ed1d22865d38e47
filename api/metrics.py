"""Prometheus metrics for the API: requests and latency by route, answers by path, abstentions.

Each app gets its own `CollectorRegistry`, so several apps in one process (tests, workers started
by a factory) never clash over metric names. Routes are labelled by their template
(``/v1/handoffs``), never by the raw path, so ids in URLs cannot blow up the label space.

Several worker processes (``partner-assistant serve --workers N``): a scrape reaches one worker
at random, so each would report only its own share. With ``PROMETHEUS_MULTIPROC_DIR`` set to an
empty directory before the workers start, prometheus-client's multiprocess mode writes every
worker's values to files there and `render` sums them, so any worker reports the whole service
(see the README, "Metrics with several workers"). The variable is prometheus-client's own, read
by the library when it is imported; it is not a ``PA_`` setting.
"""

from __future__ import annotations

import os
import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.models import Answer


def multiprocess_dir() -> str | None:
    """prometheus-client's multiprocess directory, when the workers share one."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


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
        """This process's metrics, or every worker's in multiprocess mode."""
        registry = self.registry
        if multiprocess_dir() is not None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def install(self, app: FastAPI) -> None:
        app.add_middleware(_MeasureRequests, metrics=self)


class _MeasureRequests:
    """Pure ASGI middleware: unlike ``@app.middleware("http")`` it leaves the request body
    stream and streamed responses untouched."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                self.metrics.latency.labels(route=route).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(
                route=route, method=scope["method"], status=str(status)
            ).inc()
