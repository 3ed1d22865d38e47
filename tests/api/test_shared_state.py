"""State several API workers must agree on: rate limits, the failed-authentication throttle and
"seen once" marks (Slack's event ids). In this process by default; in Redis when
``PA_API_SHARED_STATE_URL`` is set, tested here against the real Redis on 127.0.0.1:6379, each
test under its own key prefix. Two instances built from the same settings stand for two
workers."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from api.shared_state import SharedState
from api.throttling import AuthThrottle, RateLimited, RateLimiter
from assistant.settings import ApiSettings, Settings

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix():
    """A key prefix of this test's own; its keys are deleted afterwards."""
    name = f"pa-test-{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"*{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _workers(prefix: str) -> tuple[SharedState, SharedState]:
    settings = ApiSettings(shared_state_url=REDIS_URL, shared_state_prefix=prefix)
    return SharedState.from_settings(settings), SharedState.from_settings(settings)


def test_two_limiters_on_redis_share_one_budget(prefix):
    one, two = (RateLimiter("3/minute", state.storage) for state in _workers(prefix))
    one.hit("caller")
    two.hit("caller")
    one.hit("caller")

    with pytest.raises(RateLimited) as refused:
        two.hit("caller")
    assert refused.value.retry_after >= 1


def test_in_memory_state_is_each_processs_own():
    one = RateLimiter("1/minute", SharedState.from_settings(ApiSettings()).storage)
    two = RateLimiter("1/minute", SharedState.from_settings(ApiSettings()).storage)
    one.hit("caller")

    with pytest.raises(RateLimited):
        one.hit("caller")
    two.hit("caller")  # another process's memory: its own budget


def test_two_failed_auth_throttles_on_redis_share_one_budget(prefix):
    one, two = (AuthThrottle("4/minute", state.storage) for state in _workers(prefix))
    for throttle in (one, two, one, two):
        throttle.check(["ip:203.0.113.7"])
        throttle.failed(["ip:203.0.113.7"])

    with pytest.raises(RateLimited):
        one.check(["ip:203.0.113.7"])
    two.check(["ip:198.51.100.2"])  # another address is not affected


def test_an_event_is_seen_first_by_one_worker_only(prefix):
    one, two = _workers(prefix)

    assert one.first_time("slack-event:Ev1", ttl_seconds=60) is True
    assert two.first_time("slack-event:Ev1", ttl_seconds=60) is False
    assert two.first_time("slack-event:Ev2", ttl_seconds=60) is True


def test_in_memory_first_time_forgets_after_its_ttl():
    state = SharedState.from_settings(ApiSettings())

    assert state.first_time("e", ttl_seconds=0.05) is True
    assert state.first_time("e", ttl_seconds=0.05) is False
    time.sleep(0.1)
    assert state.first_time("e", ttl_seconds=0.05) is True


def _app(api_settings, api_service, prefix, **api):
    settings = api_settings.model_copy(
        update={
            "api": api_settings.api.model_copy(
                update={"shared_state_url": REDIS_URL, "shared_state_prefix": prefix, **api}
            )
        }
    )
    return create_app(settings, service=api_service)


def test_two_app_instances_share_the_rate_limit(api_settings, api_service, prefix, auth):
    headers = {"Authorization": "Bearer " + auth.issue_token("acme", tier="gold", region="emea")}
    one, two = (
        TestClient(_app(api_settings, api_service, prefix, rate_limit="4/minute")) for _ in range(2)
    )
    statuses = [
        client.post("/v1/search", json={"query": "deal"}, headers=headers).status_code
        for client in (one, two, one, two, one, two)
    ]

    assert statuses == [200, 200, 200, 200, 429, 429]


def test_two_app_instances_share_the_failed_auth_throttle(api_settings, api_service, prefix):
    apps = [_app(api_settings, api_service, prefix, auth_failure_limit="6/minute") for _ in "ab"]
    clients = [TestClient(app, client=("203.0.113.9", 40000)) for app in apps]
    statuses = [
        clients[i % 2].get("/v1/handoffs", headers={"X-API-Key": f"guess-{i}-{uuid.uuid4()}"})
        for i in range(8)
    ]

    assert [r.status_code for r in statuses] == [401] * 6 + [429] * 2


def test_the_shared_state_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("PA_API_SHARED_STATE_URL", REDIS_URL)

    assert Settings().api.shared_state_url == REDIS_URL


@pytest.mark.parametrize("url", ["memcached://127.0.0.1:11211", "127.0.0.1:6379", "redis//x"])
def test_a_shared_state_url_that_is_not_redis_refuses_to_start(url):
    with pytest.raises(ValidationError, match="redis://"):
        ApiSettings(shared_state_url=url)


def test_an_unreachable_redis_is_a_503_not_a_500(api_settings, api_service, auth):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = api_settings.api.model_copy(update={"shared_state_url": f"redis://127.0.0.1:{port}/0"})
    app = create_app(api_settings.model_copy(update={"api": api}), service=api_service)
    headers = {"Authorization": "Bearer " + auth.issue_token("acme", tier="gold", region="emea")}

    response = TestClient(app).post("/v1/search", json={"query": "deal"}, headers=headers)

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "rate limits" in response.json()["message"]
