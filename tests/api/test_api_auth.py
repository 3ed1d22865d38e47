"""Identity: verified tokens and API keys decide who the caller is, never the body."""

from __future__ import annotations

import jwt
import pytest
from api_helpers import MANAGER, SECRET


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_missing_credentials_are_401(client):
    response = client.post("/v1/search", json={"query": "deal registration"})

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_expired_token_is_401(client, auth):
    token = auth.issue_token("acme", tier="gold", region="emea", ttl_seconds=-60)

    response = client.post("/v1/search", json={"query": "deal"}, headers=_bearer(token))

    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_tampered_token_is_401(client, auth):
    header, payload, signature = auth.issue_token("acme", tier="gold", region="emea").split(".")
    forged = jwt.encode(
        {"sub": "acme", "tier": "platinum", "region": "emea", "exp": 2**31}, "x" * 40
    )
    tampered = ".".join([header, forged.split(".")[1], signature])

    response = client.post("/v1/search", json={"query": "deal"}, headers=_bearer(tampered))

    assert response.status_code == 401


def test_token_signed_with_another_secret_is_401(client):
    token = jwt.encode(
        {"sub": "acme", "tier": "gold", "region": "emea", "exp": 2**31}, SECRET + "-other"
    )

    assert client.post("/v1/search", json={"query": "d"}, headers=_bearer(token)).status_code == 401


def test_token_without_exp_is_401(client):
    token = jwt.encode({"sub": "acme", "tier": "gold", "region": "emea"}, SECRET)

    assert client.post("/v1/search", json={"query": "d"}, headers=_bearer(token)).status_code == 401


@pytest.mark.parametrize("claims", [{"tier": "diamond"}, {"region": "mars"}, {"role": "root"}])
def test_token_with_unknown_vocabulary_is_401(client, claims):
    token = jwt.encode(
        {"sub": "acme", "tier": "gold", "region": "emea", "exp": 2**31, **claims}, SECRET
    )

    assert client.post("/v1/search", json={"query": "d"}, headers=_bearer(token)).status_code == 401


def test_partner_on_manager_route_is_403(client, partner_headers):
    response = client.get("/v1/feedback", headers=partner_headers)

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_manager_api_key_opens_manager_route(client):
    assert client.get("/v1/handoffs", headers=MANAGER).status_code == 200


def test_manager_role_token_opens_manager_route(client, auth):
    token = auth.issue_token("cm-1", role="channel_manager")

    assert client.get("/v1/handoffs", headers=_bearer(token)).status_code == 200


def test_wrong_api_key_is_401(client):
    assert client.get("/v1/handoffs", headers={"X-API-Key": "guess"}).status_code == 401


def test_manager_key_is_not_admin(client):
    assert client.get("/v1/admin/stats", headers=MANAGER).status_code == 403


def test_tier_in_body_is_refused(client, partner_headers):
    response = client.post(
        "/v1/chat", json={"question": "MDF rules?", "tier": "platinum"}, headers=partner_headers
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "tier"]


def test_rs256_token_is_verified_with_the_public_key(api_settings):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from api.auth import Authenticator

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    auth_settings = api_settings.auth.model_copy(
        update={"jwt_algorithm": "RS256", "jwt_public_key": public_pem}
    )
    auth = Authenticator(api_settings.model_copy(update={"auth": auth_settings}))
    claims = {"sub": "acme", "tier": "silver", "region": "na", "exp": 2**31}

    caller = auth.caller_from_token(jwt.encode(claims, key, algorithm="RS256")).caller

    assert (caller.partner_id, caller.tier, caller.region) == ("acme", "silver", "na")
    with pytest.raises(Exception, match="not valid"):
        auth.caller_from_token(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_malformed_api_key_setting_refuses_to_start(api_settings):
    from pydantic import SecretStr

    from api.auth import Authenticator

    broken = api_settings.auth.model_copy(update={"api_keys": [SecretStr("no-role-here")]})

    with pytest.raises(ValueError, match="key:role"):
        Authenticator(api_settings.model_copy(update={"auth": broken}))


def _sources(client, headers, query):
    hits = client.post("/v1/search", json={"query": query}, headers=headers).json()["hits"]
    return {hit["source"].rsplit("/", 1)[-1] for hit in hits}


def test_tier_from_the_token_decides_what_is_found(client, auth, partner_headers):
    registered = {
        "Authorization": "Bearer " + auth.issue_token("small", tier="registered", region="emea")
    }
    query = "back-end growth rebate for gold and platinum partners"

    assert "rebates-gold-platinum.md" in _sources(client, partner_headers, query)
    assert "rebates-gold-platinum.md" not in _sources(client, registered, query)
