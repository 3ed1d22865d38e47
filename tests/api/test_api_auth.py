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


# -- staff: a partner token's role claim is never trusted --------------------------------------

STAFF_SECRET = "staff-identity-provider-secret-for-tests!"
STAFF = {"iss": "https://sso.vendor.example", "aud": "partner-assistant-staff"}
STAFF_ROUTES = [("GET", "/v1/handoffs"), ("GET", "/v1/feedback"), ("GET", "/v1/admin/stats")]


@pytest.fixture
def staff_client(api_settings, api_service):
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from api.app import create_app

    auth = api_settings.auth.model_copy(
        update={
            "staff_issuer": STAFF["iss"],
            "staff_audience": STAFF["aud"],
            "staff_jwt_secret": SecretStr(STAFF_SECRET),
        }
    )
    app = create_app(api_settings.model_copy(update={"auth": auth}), service=api_service)
    with TestClient(app) as client:
        yield client


def _staff_token(role: str, secret: str = STAFF_SECRET, **claims) -> str:
    return jwt.encode({"sub": "carol", "role": role, "exp": 2**31, **STAFF, **claims}, secret)


@pytest.mark.parametrize("role", ["admin", "channel_manager"])
@pytest.mark.parametrize(("method", "route"), STAFF_ROUTES)
def test_a_partner_token_claiming_a_staff_role_is_refused(staff_client, role, method, route):
    token = jwt.encode(
        {"sub": "acme", "tier": "gold", "region": "emea", "role": role, "exp": 2**31}, SECRET
    )

    response = staff_client.request(method, route, headers=_bearer(token))

    assert response.status_code in (401, 403)


def test_a_partner_token_naming_the_staff_issuer_is_refused(staff_client):
    token = _staff_token("admin", secret=SECRET)

    assert staff_client.get("/v1/admin/stats", headers=_bearer(token)).status_code == 401


def test_a_staff_token_opens_staff_routes(staff_client):
    manager = staff_client.get("/v1/handoffs", headers=_bearer(_staff_token("channel_manager")))
    admin = staff_client.get("/v1/admin/stats", headers=_bearer(_staff_token("admin")))

    assert (manager.status_code, admin.status_code) == (200, 200)


@pytest.mark.parametrize(
    "claims",
    [{"aud": "another-app"}, {"aud": None}, {"iss": "https://evil.example"}],
    ids=["wrong-audience", "no-audience", "wrong-issuer"],
)
def test_a_staff_token_must_carry_the_configured_issuer_and_audience(staff_client, claims):
    payload = {"sub": "carol", "role": "admin", "exp": 2**31, **STAFF, **claims}
    token = jwt.encode({k: v for k, v in payload.items() if v is not None}, STAFF_SECRET)

    assert staff_client.get("/v1/admin/stats", headers=_bearer(token)).status_code == 401


def test_without_a_staff_issuer_staff_use_api_keys(client, auth):
    token = auth.issue_token("cm-1", role="channel_manager")

    assert client.get("/v1/handoffs", headers=_bearer(token)).status_code in (401, 403)
    assert client.get("/v1/handoffs", headers=MANAGER).status_code == 200


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
