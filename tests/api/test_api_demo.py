"""The demo page (``GET /``): it signs tokens for any tier and region, so it must never sign with
the portal's secret, its tokens are accepted only while demo mode is on, and demo mode is off
unless it is asked for (``PA_AUTH_DEMO=true``; ``make run`` turns it on)."""

from __future__ import annotations

import jwt
import pytest
from api_helpers import SECRET
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from api.app import create_app
from assistant.settings import AuthSettings, Settings

DEMO_SECRET = "demo-secret-shared-by-every-worker-of-the-demo"


def _app(api_settings, api_service, **auth):
    settings = api_settings.model_copy(update={"auth": api_settings.auth.model_copy(update=auth)})
    return create_app(settings, service=api_service)


def _demo_token(client: TestClient) -> str:
    page = client.get("/?tier=platinum&region=emea")
    assert page.status_code == 200, page.text
    return page.text.split('data-token="')[1].split('"')[0]


def _search(client: TestClient, token: str):
    return client.post(
        "/v1/search", json={"query": "deal"}, headers={"Authorization": f"Bearer {token}"}
    )


def test_demo_mode_is_off_by_default():
    assert AuthSettings().demo is False


def test_without_demo_mode_the_page_signs_nothing(api_settings, api_service):
    app = _app(api_settings, api_service, demo=False)

    response = TestClient(app).get("/?tier=platinum&region=emea")

    assert response.status_code == 404
    assert "data-token" not in response.text


def test_the_demo_token_is_not_signed_with_the_portal_secret(api_settings, api_service):
    with TestClient(_app(api_settings, api_service, demo=True)) as client:
        token = _demo_token(client)

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_aud": False})
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] != claims.get("sub") and "demo" in claims["iss"]
    assert "demo" in claims["aud"]


def test_a_demo_token_works_while_demo_mode_is_on(api_settings, api_service):
    with TestClient(_app(api_settings, api_service, demo=True)) as client:
        assert _search(client, _demo_token(client)).status_code == 200


def test_demo_tokens_are_refused_once_demo_mode_is_off(api_settings, api_service):
    secret = SecretStr(DEMO_SECRET)
    with TestClient(_app(api_settings, api_service, demo=True, demo_secret=secret)) as demo:
        token = _demo_token(demo)
    with TestClient(_app(api_settings, api_service, demo=False, demo_secret=secret)) as off:
        response = _search(off, token)

    assert response.status_code == 401
    assert "demo" in response.json()["message"]


def test_workers_that_share_the_demo_secret_accept_each_others_tokens(api_settings, api_service):
    secret = SecretStr(DEMO_SECRET)
    with TestClient(_app(api_settings, api_service, demo=True, demo_secret=secret)) as one:
        token = _demo_token(one)
    with TestClient(_app(api_settings, api_service, demo=True, demo_secret=secret)) as two:
        assert _search(two, token).status_code == 200


def test_a_demo_token_cannot_claim_a_staff_role(api_settings, api_service):
    secret = DEMO_SECRET
    with TestClient(_app(api_settings, api_service, demo=True, demo_secret=SecretStr(secret))) as c:
        claims = jwt.decode(_demo_token(c), options={"verify_signature": False})
        forged = jwt.encode({**claims, "role": "admin"}, secret, algorithm="HS256")
        response = c.get("/v1/admin/stats", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code in (401, 403)


def test_demo_mode_refuses_to_start_in_production():
    with pytest.raises(ValidationError, match="PA_AUTH_DEMO"):
        Settings(
            auth=AuthSettings(environment="production", jwt_secret=SecretStr(SECRET), demo=True)
        )


def test_the_demo_secret_must_not_be_the_portal_secret():
    with pytest.raises(ValidationError, match="PA_AUTH_DEMO_SECRET"):
        Settings(auth=AuthSettings(jwt_secret=SecretStr(SECRET), demo_secret=SecretStr(SECRET)))
