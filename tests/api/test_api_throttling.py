"""Rate limits (429), body size (413) and the bounded answer queue (503)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app


@pytest.fixture
def strict_client(api_settings, api_service):
    settings = api_settings.model_copy(
        update={
            "api": api_settings.api.model_copy(update={"rate_limit": "2/minute"}),
            "answer": api_settings.answer.model_copy(update={"queue_size": 1}),
        }
    )
    with TestClient(create_app(settings, service=api_service)) as client:
        yield client


def test_third_request_in_a_minute_is_429_with_retry_after(strict_client, partner_headers):
    for _ in range(2):
        strict_client.post("/v1/search", json={"query": "deal"}, headers=partner_headers)

    response = strict_client.post("/v1/search", json={"query": "deal"}, headers=partner_headers)

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"] == "rate_limited"


def test_rate_limit_is_per_caller(strict_client, partner_headers, auth):
    for _ in range(3):
        strict_client.post("/v1/search", json={"query": "deal"}, headers=partner_headers)
    other = {"Authorization": "Bearer " + auth.issue_token("other", tier="gold", region="emea")}

    assert strict_client.post("/v1/search", json={"query": "d"}, headers=other).status_code == 200


def test_body_over_the_limit_is_413(client, partner_headers, api_settings):
    too_big = "x" * (api_settings.api.max_body_bytes + 1)

    response = client.post(
        "/v1/chat",
        content=too_big.encode(),
        headers={**partner_headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_chunked_body_over_the_limit_is_413(client, partner_headers, api_settings):
    def chunks():
        for _ in range(api_settings.api.max_body_bytes // 1000 + 2):
            yield b" " * 1000

    response = client.post(
        "/v1/chat",
        content=chunks(),
        headers={**partner_headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 413


def test_full_queue_answers_503_with_retry_after(strict_client, partner_headers):
    queue = strict_client.app.state.answer_queue
    held = [queue.reserve() for _ in range(queue.capacity)]
    try:
        response = strict_client.post(
            "/v1/chat", json={"question": "How do I register a deal?"}, headers=partner_headers
        )
    finally:
        for ticket in held:
            ticket.release()

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json()["error"] == "unavailable"


def test_queue_frees_its_places_after_answers(client, partner_headers):
    client.post("/v1/chat", json={"question": "How do I register a deal?"}, headers=partner_headers)
    client.post(
        "/v1/chat",
        json={"question": "How do I register a deal?"},
        headers={**partner_headers, "Accept": "text/event-stream"},
    )

    assert client.app.state.answer_queue.pending == 0


def test_cors_allows_only_configured_origins(api_settings, api_service):
    settings = api_settings.model_copy(
        update={
            "api": api_settings.api.model_copy(update={"cors_origins": ["https://portal.example"]})
        }
    )
    client = TestClient(create_app(settings, service=api_service))
    preflight = {"Access-Control-Request-Method": "POST"}

    allowed = client.options("/v1/chat", headers={"Origin": "https://portal.example", **preflight})
    refused = client.options("/v1/chat", headers={"Origin": "https://evil.example", **preflight})

    assert allowed.headers.get("access-control-allow-origin") == "https://portal.example"
    assert "access-control-allow-origin" not in refused.headers
