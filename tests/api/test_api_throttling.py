"""Rate limits (429), the failed-authentication throttle (429), body size (413) and the bounded
answer queue (503)."""

from __future__ import annotations

import secrets

import pytest
from api_helpers import MANAGER
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


# -- failed authentication ------------------------------------------------------------------------


def _guess(client, key: str):
    return client.get("/v1/handoffs", headers={"X-API-Key": key})


def test_sixty_wrong_api_keys_at_once_start_getting_429_with_retry_after(client):
    statuses = []
    for _ in range(60):
        response = _guess(client, secrets.token_urlsafe(24))
        statuses.append(response.status_code)
        if response.status_code == 429:
            retry_after = response.headers["Retry-After"]

    assert statuses[0] == 401
    assert 429 in statuses
    first = statuses.index(429)
    assert set(statuses[first:]) == {429}
    assert int(retry_after) >= 1
    assert response.json()["error"] == "rate_limited"


def test_a_throttled_address_does_not_lock_out_other_addresses(app):
    attacker = TestClient(app, client=("203.0.113.7", 40000))
    manager = TestClient(app, client=("198.51.100.2", 40000))
    tries = [_guess(attacker, secrets.token_urlsafe(24)).status_code for _ in range(60)]
    assert tries[-1] == 429

    assert _guess(attacker, MANAGER["X-API-Key"]).status_code == 429
    assert _guess(manager, MANAGER["X-API-Key"]).status_code == 200


def test_guesses_of_one_key_prefix_from_many_addresses_are_throttled(app):
    statuses = [
        _guess(TestClient(app, client=(f"203.0.113.{i}", 40000)), f"ak_live_{i:04d}").status_code
        for i in range(60)
    ]

    assert 429 in statuses
    assert set(statuses[statuses.index(429) :]) == {429}


def test_bad_tokens_count_as_failed_authentication(client):
    statuses = [
        client.get("/v1/handoffs", headers={"Authorization": f"Bearer not.a.token{i}"}).status_code
        for i in range(60)
    ]

    assert statuses[0] == 401 and statuses[-1] == 429


def test_successful_requests_do_not_spend_the_failure_budget(client, partner_headers):
    for _ in range(60):
        assert client.get("/v1/handoffs", headers=MANAGER).status_code == 200
